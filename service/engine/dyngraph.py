"""A dynamic undirected weighted graph with per-vertex slack arrays and an open-addressing edge hash.

Layout (all numpy, read in place by the walk kernels, no copy per batch):

* ``start[v]`` (int64) offset of vertex ``v``'s block in the pool, ``cap[v]`` its capacity, ``deg[v]`` (int32)
  the number of live entries; ``nbr`` (int32) and ``wt`` (float64) hold the neighbour ids and weights.
* An insertion appends to both endpoint blocks; a full block is moved to the end of the pool with its capacity
  doubled (amortised O(1)); the pool is compacted when more than half of it is dead space.
* A deletion swaps the entry with the last one of its block (O(1)); neighbour order is therefore a
  deterministic function of the sequence of operations, which the walks (and hence results) depend on.
* The edge hash maps ``key = u << 32 | v`` (``u < v``) to the two local positions ``pos_u << 32 | pos_v``.
  Linear probing, tombstones, load factor at most 1/2.

Vertex ids are ``0 .. n-1`` (int32, so at most 2**31 - 1 vertices); offsets are int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit

from sparsewire.kernels.rng import mix64

MAX_VERTICES = 2**31 - 1
_EMPTY = np.int64(-1)
_TOMB = np.int64(-2)
_LO = np.int64(0xFFFFFFFF)

# meta slots
_N, _TOP, _M, _USED, _WASTE, _NEED = 0, 1, 2, 3, 4, 5
_NEED_POOL = 1


@njit(cache=True, inline="always")
def _key(u: int, v: int) -> np.int64:
    return (np.int64(u) << 32) | np.int64(v)


@njit(cache=True, inline="always")
def _slot0(key: np.int64, mask: np.int64) -> np.int64:
    return np.int64(mix64(np.uint64(key)) & np.uint64(mask))


@njit(cache=True, nogil=True)
def _h_find(hkeys: np.ndarray, key: np.int64) -> np.int64:
    mask = np.int64(hkeys.shape[0] - 1)
    s = _slot0(key, mask)
    while True:
        k = hkeys[s]
        if k == key:
            return s
        if k == _EMPTY:
            return np.int64(-1)
        s = (s + 1) & mask


@njit(cache=True, nogil=True)
def _h_insert(hkeys: np.ndarray, hvals: np.ndarray, meta: np.ndarray, key: np.int64, val: np.int64) -> None:
    mask = np.int64(hkeys.shape[0] - 1)
    s = _slot0(key, mask)
    while hkeys[s] >= 0:
        s = (s + 1) & mask
    if hkeys[s] == _EMPTY:
        meta[_USED] += 1
    hkeys[s] = key
    hvals[s] = val


@njit(cache=True, inline="always")
def _set_pos(hkeys: np.ndarray, hvals: np.ndarray, a: int, x: int, pos: int) -> None:
    """Record that the entry for edge {a, x} in ``a``'s block now sits at local position ``pos``."""
    if a < x:
        s = _h_find(hkeys, _key(a, x))
        hvals[s] = (np.int64(pos) << 32) | (hvals[s] & _LO)
    else:
        s = _h_find(hkeys, _key(x, a))
        hvals[s] = (hvals[s] & ~_LO) | np.int64(pos)


@njit(cache=True, nogil=True)
def _positions(hkeys: np.ndarray, hvals: np.ndarray, u: int, v: int) -> tuple[np.int64, np.int64, np.int64]:
    """Hash slot and local positions (in ``u``'s and ``v``'s blocks) of edge {u, v}; slot -1 if absent."""
    if u < v:
        s = _h_find(hkeys, _key(u, v))
        if s < 0:
            return s, np.int64(-1), np.int64(-1)
        return s, hvals[s] >> 32, hvals[s] & _LO
    s = _h_find(hkeys, _key(v, u))
    if s < 0:
        return s, np.int64(-1), np.int64(-1)
    return s, hvals[s] & _LO, hvals[s] >> 32


@njit(cache=True, nogil=True)
def _ensure_room(start, cap, deg, nbr, wt, meta, u) -> bool:  # noqa: ANN001
    """Make room for one more entry in ``u``'s block; False if the pool itself must grow first."""
    if deg[u] < cap[u]:
        return True
    newcap = max(np.int64(4), 2 * cap[u])
    top = meta[_TOP]
    if top + newcap > nbr.shape[0]:
        meta[_NEED] = _NEED_POOL
        return False
    s = start[u]
    for k in range(deg[u]):
        nbr[top + k] = nbr[s + k]
        wt[top + k] = wt[s + k]
    meta[_WASTE] += cap[u]
    start[u] = top
    cap[u] = newcap
    meta[_TOP] = top + newcap
    return True


@njit(cache=True, nogil=True)
def _append(start, deg, nbr, wt, u, v, w) -> np.int64:  # noqa: ANN001
    pos = np.int64(deg[u])
    nbr[start[u] + pos] = v
    wt[start[u] + pos] = w
    deg[u] += 1
    return pos


@njit(cache=True, nogil=True)
def _remove_entry(start, deg, nbr, wt, hkeys, hvals, a, pos) -> None:  # noqa: ANN001
    """Remove local position ``pos`` of ``a``'s block by swapping in the last entry."""
    last = np.int64(deg[a] - 1)
    s = start[a]
    if pos != last:
        x = nbr[s + last]
        nbr[s + pos] = x
        wt[s + pos] = wt[s + last]
        _set_pos(hkeys, hvals, a, x, pos)
    deg[a] -= 1


@njit(cache=True, nogil=True)
def _k_add(start, cap, deg, nbr, wt, hkeys, hvals, meta, us, vs, ws, merge, out, i0):  # noqa: ANN001
    """Add edges ``(us[i], vs[i], ws[i])`` from ``i0`` on.

    Existing edges: with ``merge`` the weight is increased by ``ws[i]``, otherwise it is set to ``ws[i]``.
    ``out[i]`` gets 1 for a new edge, 0 for an existing one.  Returns the index reached (< len when the
    pool must grow; ``meta[_NEED]`` says so).
    """
    nb = us.shape[0]
    for i in range(i0, nb):
        u = us[i]
        v = vs[i]
        w = ws[i]
        s, pu, pv = _positions(hkeys, hvals, u, v)
        if s >= 0:
            nw = wt[start[u] + pu] + w if merge else w
            wt[start[u] + pu] = nw
            wt[start[v] + pv] = nw
            out[i] = 0
            continue
        if not _ensure_room(start, cap, deg, nbr, wt, meta, u):
            return i
        if not _ensure_room(start, cap, deg, nbr, wt, meta, v):
            return i
        pu = _append(start, deg, nbr, wt, u, v, w)
        pv = _append(start, deg, nbr, wt, v, u, w)
        if u < v:
            _h_insert(hkeys, hvals, meta, _key(u, v), (pu << 32) | pv)
        else:
            _h_insert(hkeys, hvals, meta, _key(v, u), (pv << 32) | pu)
        meta[_M] += 1
        out[i] = 1
    return nb


@njit(cache=True, nogil=True)
def _k_remove(start, deg, nbr, wt, hkeys, hvals, meta, us, vs, out_w) -> None:  # noqa: ANN001
    """Remove edges; ``out_w[i]`` gets the removed weight, or 0.0 where the edge was absent."""
    for i in range(us.shape[0]):
        u = us[i]
        v = vs[i]
        s, pu, pv = _positions(hkeys, hvals, u, v)
        if s < 0:
            out_w[i] = 0.0
            continue
        out_w[i] = wt[start[u] + pu]
        hkeys[s] = _TOMB
        _remove_entry(start, deg, nbr, wt, hkeys, hvals, u, pu)
        _remove_entry(start, deg, nbr, wt, hkeys, hvals, v, pv)
        meta[_M] -= 1


@njit(cache=True, nogil=True)
def _k_lookup(start, wt, hkeys, hvals, us, vs, out_w) -> None:  # noqa: ANN001
    """``out_w[i]`` = weight of edge {us[i], vs[i]}, or 0.0 if absent."""
    for i in range(us.shape[0]):
        s, pu, _pv = _positions(hkeys, hvals, us[i], vs[i])
        out_w[i] = wt[start[us[i]] + pu] if s >= 0 else 0.0


@njit(cache=True, nogil=True)
def _k_rehash(start, deg, nbr, n, hkeys, hvals, meta) -> None:  # noqa: ANN001
    """Fill an empty hash from the adjacency in two O(m) passes (smaller endpoint, then larger)."""
    meta[_USED] = 0
    for u in range(n):
        s = start[u]
        for pu in range(deg[u]):
            v = nbr[s + pu]
            if u < v:
                _h_insert(hkeys, hvals, meta, _key(u, v), np.int64(pu) << 32)
    for v in range(n):
        t = start[v]
        for pv in range(deg[v]):
            u = nbr[t + pv]
            if u < v:
                s = _h_find(hkeys, _key(u, v))
                hvals[s] |= np.int64(pv)


@njit(cache=True, nogil=True)
def _k_build(n, us, vs, ws, slack):  # noqa: ANN001
    """Blocks for an edge list (no duplicates, no loops), entries in list order."""
    deg = np.zeros(n, np.int32)
    for i in range(us.shape[0]):
        deg[us[i]] += 1
        deg[vs[i]] += 1
    cap = np.empty(n, np.int64)
    start = np.empty(n, np.int64)
    top = np.int64(0)
    for v in range(n):
        cap[v] = max(np.int64(2), np.int64(deg[v]) + slack)
        start[v] = top
        top += cap[v]
    nbr = np.empty(max(top, 1), np.int32)
    wt = np.empty(max(top, 1), np.float64)
    fill = np.zeros(n, np.int32)
    for i in range(us.shape[0]):
        u, v = us[i], vs[i]
        nbr[start[u] + fill[u]] = v
        wt[start[u] + fill[u]] = ws[i]
        fill[u] += 1
        nbr[start[v] + fill[v]] = u
        wt[start[v] + fill[v]] = ws[i]
        fill[v] += 1
    return start, cap, deg, nbr, wt, top


@njit(cache=True, nogil=True)
def _k_compact(start, cap, deg, nbr, wt, n, newsize):  # noqa: ANN001
    nstart = np.empty_like(start)
    nnbr = np.empty(newsize, np.int32)
    nwt = np.empty(newsize, np.float64)
    top = np.int64(0)
    for v in range(n):
        nstart[v] = top
        s = start[v]
        for k in range(deg[v]):
            nnbr[top + k] = nbr[s + k]
            nwt[top + k] = wt[s + k]
        top += cap[v]
    return nstart, nnbr, nwt, top


@njit(cache=True, nogil=True)
def _k_edges(start, deg, nbr, wt, n, m):  # noqa: ANN001
    """Edges with u < v, ordered by u then by position in u's block."""
    us = np.empty(m, np.int32)
    vs = np.empty(m, np.int32)
    ws = np.empty(m, np.float64)
    k = 0
    for u in range(n):
        s = start[u]
        for p in range(deg[u]):
            v = nbr[s + p]
            if u < v:
                us[k] = u
                vs[k] = v
                ws[k] = wt[s + p]
                k += 1
    return us, vs, ws


@njit(cache=True, nogil=True)
def _k_lists(start, deg, nbr, wt, n):  # noqa: ANN001
    tot = 0
    for v in range(n):
        tot += deg[v]
    onbr = np.empty(tot, np.int32)
    owt = np.empty(tot, np.float64)
    k = 0
    for v in range(n):
        s = start[v]
        for p in range(deg[v]):
            onbr[k] = nbr[s + p]
            owt[k] = wt[s + p]
            k += 1
    return onbr, owt


@njit(cache=True, nogil=True)
def _k_components(start, deg, nbr, n):  # noqa: ANN001
    """Number of connected components (isolated vertices count), by depth-first search over the blocks."""
    seen = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    count = 0
    for root in range(n):
        if seen[root]:
            continue
        count += 1
        seen[root] = True
        stack[0] = root
        top = 1
        while top:
            top -= 1
            x = stack[top]
            s = start[x]
            for p in range(deg[x]):
                y = nbr[s + p]
                if not seen[y]:
                    seen[y] = True
                    stack[top] = y
                    top += 1
    return count


@dataclass(frozen=True)
class AdjacencyView:
    """The arrays a walk kernel reads: block offsets, degrees, neighbour ids, weights."""

    start: np.ndarray
    deg: np.ndarray
    nbr: np.ndarray
    wt: np.ndarray
    n: int


def _as_index(a: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int32)


def _as_weight(a: np.ndarray | list[float]) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


class DynamicGraph:
    """Undirected graph with positive weights, O(1) amortised edge insert, delete and lookup.

    Parameters
    ----------
    n : int
        Initial number of vertices; vertices ``0 .. n-1`` exist (possibly isolated).  Adding an edge at a
        vertex ``>= n`` grows the vertex set.

    Notes
    -----
    No validation happens here: callers pass ``u != v``, ids in ``[0, 2**31 - 1)`` and finite positive
    weights (:class:`sparsewire.engine.sparsifier.Sparsifier` validates whole batches first).
    """

    #: Record touched vertices for :meth:`take_changes` (set by a device backend that mirrors the graph).
    track_changes = False

    def __init__(self, n: int = 0) -> None:
        self.meta = np.zeros(6, np.int64)
        self._touched: list[np.ndarray] = []
        self._relaid = True
        self._alloc_vertices(max(n, 1))
        self.meta[_N] = n
        self.nbr = np.empty(64, np.int32)
        self.wt = np.empty(64, np.float64)
        self._new_hash(64)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_edges(
        cls, n: int, us: np.ndarray, vs: np.ndarray, ws: np.ndarray, *, slack: int = 2
    ) -> DynamicGraph:
        """Bulk-build from an edge list without duplicates or self-loops; list order fixes block order."""
        us, vs, ws = _as_index(us), _as_index(vs), _as_weight(ws)
        g = cls.__new__(cls)
        g.meta = np.zeros(6, np.int64)
        g._touched, g._relaid = [], True
        g.start, g.cap, g.deg, g.nbr, g.wt, top = _k_build(n, us, vs, ws, np.int64(slack))
        g.meta[_N] = n
        g.meta[_TOP] = top
        g.meta[_M] = us.shape[0]
        g._new_hash(2 * us.shape[0] + 16)
        _k_rehash(g.start, g.deg, g.nbr, n, g.hkeys, g.hvals, g.meta)
        return g

    @classmethod
    def from_lists(cls, n: int, deg: np.ndarray, nbr: np.ndarray, wt: np.ndarray) -> DynamicGraph:
        """Rebuild a graph whose blocks hold exactly ``nbr``/``wt`` in the given order (see :meth:`lists`)."""
        deg = np.ascontiguousarray(deg, dtype=np.int32)
        g = cls.__new__(cls)
        g.meta = np.zeros(6, np.int64)
        g._touched, g._relaid = [], True
        g.deg = deg.copy()
        g.cap = np.maximum(deg.astype(np.int64), 2)
        g.start = np.zeros(n, np.int64)
        if n > 1:
            np.cumsum(g.cap[:-1], out=g.start[1:])
        top = int(g.cap.sum()) if n else 0
        g.nbr = np.empty(max(top, 1), np.int32)
        g.wt = np.empty(max(top, 1), np.float64)
        offs = np.zeros(n + 1, np.int64)
        np.cumsum(deg, out=offs[1:])
        idx = np.repeat(g.start - offs[:-1], deg) + np.arange(offs[-1])
        g.nbr[idx] = nbr
        g.wt[idx] = wt
        g.meta[_N] = n
        g.meta[_TOP] = top
        g.meta[_M] = int(offs[-1]) // 2
        g._new_hash(int(offs[-1]) + 16)
        _k_rehash(g.start, g.deg, g.nbr, n, g.hkeys, g.hvals, g.meta)
        return g

    def copy(self) -> DynamicGraph:
        g = DynamicGraph.__new__(DynamicGraph)
        for name in ("meta", "start", "cap", "deg", "nbr", "wt", "hkeys", "hvals"):
            setattr(g, name, getattr(self, name).copy())
        g._touched, g._relaid = [], True
        return g

    # ---------------------------------------------------------------- sizes and views
    @property
    def n(self) -> int:
        """Number of vertices."""
        return int(self.meta[_N])

    @property
    def m(self) -> int:
        """Number of edges."""
        return int(self.meta[_M])

    def view(self) -> AdjacencyView:
        return AdjacencyView(self.start, self.deg, self.nbr, self.wt, self.n)

    def degrees(self) -> np.ndarray:
        return self.deg[: self.n].copy()

    def neighbors(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour ids and weights of ``u`` in block order."""
        s, d = int(self.start[u]), int(self.deg[u])
        return self.nbr[s : s + d].copy(), self.wt[s : s + d].copy()

    # ---------------------------------------------------------------- edge operations
    def add_edges(self, us: np.ndarray, vs: np.ndarray, ws: np.ndarray, *, merge: bool) -> np.ndarray:
        """Insert edges in order; returns 1 where the edge was new, 0 where it existed.

        An existing edge gets ``w_old + w`` when ``merge`` is true, otherwise ``w``.
        """
        us, vs, ws = _as_index(us), _as_index(vs), _as_weight(ws)
        out = np.zeros(us.shape[0], np.int8)
        if us.shape[0] == 0:
            return out
        self.ensure_vertices(int(max(us.max(), vs.max())) + 1)
        self._reserve_hash(us.shape[0])
        if self.track_changes:
            self._touched += [us, vs]
        i = 0
        while True:
            i = _k_add(self.start, self.cap, self.deg, self.nbr, self.wt, self.hkeys, self.hvals, self.meta,
                       us, vs, ws, merge, out, i)
            if i >= us.shape[0]:
                return out
            self._grow_pool()

    def remove_edges(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """Delete edges in order; returns the removed weights (0.0 where the edge was absent)."""
        us, vs = _as_index(us), _as_index(vs)
        out = np.zeros(us.shape[0], np.float64)
        ok = (us < self.n) & (vs < self.n)
        if self.track_changes:
            self._touched += [us[ok], vs[ok]]
        if ok.all():
            _k_remove(self.start, self.deg, self.nbr, self.wt, self.hkeys, self.hvals, self.meta, us, vs, out)
        elif ok.any():
            sub = np.zeros(int(ok.sum()), np.float64)
            _k_remove(self.start, self.deg, self.nbr, self.wt, self.hkeys, self.hvals, self.meta,
                      us[ok], vs[ok], sub)
            out[ok] = sub
        return out

    def weights(self, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """Weights of the given pairs, 0.0 where there is no edge."""
        us, vs = _as_index(us), _as_index(vs)
        out = np.zeros(us.shape[0], np.float64)
        ok = (us < self.n) & (vs < self.n) & (us >= 0) & (vs >= 0)
        if ok.all():
            _k_lookup(self.start, self.wt, self.hkeys, self.hvals, us, vs, out)
        elif ok.any():
            sub = np.zeros(int(ok.sum()), np.float64)
            _k_lookup(self.start, self.wt, self.hkeys, self.hvals, us[ok], vs[ok], sub)
            out[ok] = sub
        return out

    def has_edge(self, u: int, v: int) -> bool:
        return bool(self.weights(np.array([u]), np.array([v]))[0] > 0)

    def weight(self, u: int, v: int) -> float:
        return float(self.weights(np.array([u]), np.array([v]))[0])

    # ---------------------------------------------------------------- exports
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All edges as ``(u, v, w)`` with ``u < v``, sorted by ``(u, v)``."""
        us, vs, ws = _k_edges(self.start, self.deg, self.nbr, self.wt, self.n, self.m)
        order = np.lexsort((vs, us))
        return us[order].astype(np.int64), vs[order].astype(np.int64), ws[order]

    def lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(deg, nbr, wt)`` with every block in its current order: the exact state walks depend on."""
        nbr, wt = _k_lists(self.start, self.deg, self.nbr, self.wt, self.n)
        return self.deg[: self.n].copy(), nbr, wt

    def components(self) -> int:
        """Number of connected components (isolated vertices count): O(n + m), no copy of the graph."""
        return int(_k_components(self.start, self.deg, self.nbr, self.n))

    def to_csr(self) -> sp.csr_array:
        """Symmetric weighted adjacency matrix (n x n)."""
        us, vs, ws = self.edges()
        n = self.n
        a = sp.coo_array((np.concatenate([ws, ws]), (np.concatenate([us, vs]), np.concatenate([vs, us]))),
                         shape=(n, n))
        return a.tocsr()

    def take_changes(self) -> tuple[np.ndarray, bool]:
        """Vertices whose blocks changed since the last call, and whether the layout was rebuilt.

        A device mirror patches only those blocks (plus ``start``/``cap``/``deg`` entries); when the second
        value is true (pool reallocated or compacted, vertex arrays grown) it must upload everything.
        """
        touched = np.unique(np.concatenate(self._touched)) if self._touched else np.empty(0, np.int32)
        relaid, self._touched, self._relaid = self._relaid, [], False
        return touched.astype(np.int64), relaid

    def nbytes(self) -> int:
        return sum(getattr(self, k).nbytes for k in ("start", "cap", "deg", "nbr", "wt", "hkeys", "hvals"))

    # ---------------------------------------------------------------- growth
    def ensure_vertices(self, n: int) -> None:
        """Grow the vertex set to at least ``n`` vertices (new ones isolated)."""
        if n <= self.n:
            return
        if n > MAX_VERTICES:
            raise ValueError(f"vertex id {n - 1} exceeds the maximum {MAX_VERTICES - 1}")
        if n > self.start.shape[0]:
            self._relaid = True
            old = self.start.shape[0]
            size = max(n, 2 * old)
            for name, dt in (("start", np.int64), ("cap", np.int64), ("deg", np.int32)):
                arr = np.zeros(size, dt)
                arr[:old] = getattr(self, name)
                setattr(self, name, arr)
        nv = self.n
        self.start[nv:n] = self.meta[_TOP]
        self.cap[nv:n] = 0
        self.deg[nv:n] = 0
        self.meta[_N] = n

    def _alloc_vertices(self, size: int) -> None:
        self.start = np.zeros(size, np.int64)
        self.cap = np.zeros(size, np.int64)
        self.deg = np.zeros(size, np.int32)

    def _new_hash(self, entries: int) -> None:
        size = 64
        while size < 2 * entries:
            size *= 2
        self.hkeys = np.full(size, _EMPTY, np.int64)
        self.hvals = np.zeros(size, np.int64)
        self.meta[_USED] = 0

    def _reserve_hash(self, extra: int) -> None:
        if 2 * (int(self.meta[_USED]) + extra) <= self.hkeys.shape[0]:
            return
        self._new_hash(self.m + extra)
        _k_rehash(self.start, self.deg, self.nbr, self.n, self.hkeys, self.hvals, self.meta)

    def _grow_pool(self) -> None:
        self.meta[_NEED] = 0
        self._relaid = True
        live = int(self.cap[: self.n].sum())
        if int(self.meta[_WASTE]) > live // 2:
            size = max(2 * live, 64)
            self.start, self.nbr, self.wt, top = _k_compact(self.start, self.cap, self.deg, self.nbr, self.wt,
                                                            self.n, size)
            self.meta[_TOP] = top
            self.meta[_WASTE] = 0
            return
        size = 2 * self.nbr.shape[0]
        nbr = np.empty(size, np.int32)
        wt = np.empty(size, np.float64)
        top = int(self.meta[_TOP])
        nbr[:top] = self.nbr[:top]
        wt[:top] = self.wt[:top]
        self.nbr, self.wt = nbr, wt
