"""Input model for the analysis package: a validated, simple, signed (di)graph.

Edge ``source -> target`` with weight ``a`` means *target listens to source*: it is entry ``A[target, source]``
of the adjacency matrix (in-degree convention of Altafini 2013 and Mesbahi–Egerstedt 2010).  Self-loops are
dropped and parallel edges are merged by summing their weights; both are reported in ``warnings``.  Reciprocal
arcs with opposite signs ("digons") are kept and reported: they are negative 2-cycles (spec §1.1).

Log-odds mapping (spec §1.1): for ``z = log p(agree) - log p(disagree)``, ``sign(a) = sign(z)`` and
``|a| = min(|z|, w_max) / scale``; ``|z| < tau`` (or ``z == 0``) gives no edge; ``row_normalize`` divides row ``i``
of ``A`` by ``sum_j |a_ij|`` (the opposing DeGroot form, directed graphs only).

Construction is ``O(m log m)`` (one sort to merge parallel edges); the arrays are numpy so that 10^6-edge graphs
are cheap to build.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInputError

NodeId = int | str

#: Default cap for the dense (LAPACK) spectral functions.
DEFAULT_MAX_DENSE_NODES = 2000


def _check_id(node: Any, where: str) -> NodeId:
    if isinstance(node, bool) or not isinstance(node, (int, str, np.integer)):
        raise InvalidInputError(f"{where}: node ids must be ints or strings, got {node!r}")
    return int(node) if isinstance(node, np.integer) else node


def warning(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """A JSON-ready warning record ``{"code", "message", ...}``."""
    return {"code": code, "message": message, **extra}


@dataclass(frozen=True)
class LogOddsOptions:
    """Options of the log-odds → weight map (spec §1.1).

    Parameters
    ----------
    w_max : float
        Magnitude cap ``|a| <= w_max`` (default ``inf``).
    tau : float
        Dead band: ``|z| < tau`` gives no edge (default 0).
    scale : float
        Every magnitude is divided by ``scale`` (default 1); applies to explicit weights too.
    row_normalize : bool
        Divide row ``i`` of ``A`` by ``sum_j |a_ij|`` (directed graphs only).
    """

    w_max: float = math.inf
    tau: float = 0.0
    scale: float = 1.0
    row_normalize: bool = False

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> LogOddsOptions:
        options = dict(options or {})
        known = {k: options[k] for k in ("w_max", "tau", "scale", "row_normalize") if k in options}
        out = cls(**known)
        if not (out.w_max > 0) or not (out.tau >= 0) or not (out.scale > 0 and math.isfinite(out.scale)):
            raise InvalidInputError("options: need w_max > 0, tau >= 0 and a finite scale > 0")
        if not MIN_ABS_WEIGHT <= out.scale <= MAX_ABS_WEIGHT:
            raise InvalidInputError(f"options: scale must lie in [{MIN_ABS_WEIGHT:g}, {MAX_ABS_WEIGHT:g}]")
        return out


#: Edge weights beyond these magnitudes make Laplacian spectra overflow or vanish in double precision.
MIN_ABS_WEIGHT = 1e-100
MAX_ABS_WEIGHT = 1e100


@dataclass(frozen=True, eq=False)
class SignedGraph:
    """A simple signed graph on nodes ``0..n-1`` with user ids ``ids``.

    Attributes
    ----------
    ids : tuple
        User node ids in input order; index ``k`` is node ``k``.
    src, dst : numpy.ndarray
        Edge endpoints (int64).  Directed: ``src -> dst`` (``dst`` listens).  Undirected: ``src < dst``.
    weight : numpy.ndarray
        Nonzero finite signed weights (float64).
    directed : bool
    warnings : tuple of dict
        Dropped self-loops, merged parallel edges, opposite-sign digons, dead-band drops.
    cancelled : numpy.ndarray (k, 2)
        Pairs whose parallel edges summed to zero: no interaction for the spectral and sign checks, but still
        an edge of the structure the chordal checks see (directions and signs ignored).
    """

    ids: tuple
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    directed: bool
    warnings: tuple = field(default=())
    cancelled: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_request(
        cls,
        nodes: Sequence[Any] | None,
        edges: Iterable[Mapping[str, Any]],
        *,
        directed: bool = True,
        options: Mapping[str, Any] | None = None,
    ) -> SignedGraph:
        """Build from the JSON request shape ``{nodes, edges: [{source, target, weight | log_odds}], directed}``.

        Raises
        ------
        InvalidInputError
            Unknown node, duplicate node id, non-finite or zero weight, both or neither of
            ``weight``/``log_odds``; the message names the offending edge by index.
        """
        opts = LogOddsOptions.from_mapping(options)
        edges = list(edges)
        index: dict[NodeId, int] = {}
        ids: list[NodeId] = []
        if nodes is not None:
            for k, node in enumerate(nodes):
                node = _check_id(node, f"nodes[{k}]")
                if node in index:
                    raise InvalidInputError(f"nodes[{k}]: duplicate node id {node!r}")
                index[node] = len(ids)
                ids.append(node)
        m = len(edges)
        u = np.empty(m, dtype=np.int64)
        v = np.empty(m, dtype=np.int64)
        w = np.empty(m, dtype=np.float64)
        keep = np.ones(m, dtype=bool)
        dead = 0
        for k, e in enumerate(edges):
            if not isinstance(e, Mapping):
                raise InvalidInputError(f"edges[{k}]: expected an object, got {e!r}")
            ends = []
            for key in ("source", "target"):
                if key not in e:
                    raise InvalidInputError(f"edges[{k}]: missing {key!r}")
                node = _check_id(e[key], f"edges[{k}].{key}")
                if node not in index:
                    if nodes is not None:
                        raise InvalidInputError(f"edges[{k}]: unknown node {node!r} in {key!r}")
                    index[node] = len(ids)
                    ids.append(node)
                ends.append(index[node])
            has_w, has_z = e.get("weight") is not None, e.get("log_odds") is not None
            if has_w == has_z:
                raise InvalidInputError(f"edges[{k}] ({e['source']!r}->{e['target']!r}): give exactly one of "
                                        "'weight' and 'log_odds'")
            raw = e["weight"] if has_w else e["log_odds"]
            try:
                val = float(raw)
            except (TypeError, ValueError):
                raise InvalidInputError(f"edges[{k}]: weight {raw!r} is not a number") from None
            if isinstance(raw, bool) or not math.isfinite(val):
                raise InvalidInputError(f"edges[{k}] ({e['source']!r}->{e['target']!r}): non-finite weight {raw!r}")
            if has_w and val == 0.0:
                raise InvalidInputError(f"edges[{k}] ({e['source']!r}->{e['target']!r}): zero weight")
            if has_w and not MIN_ABS_WEIGHT <= abs(val) <= MAX_ABS_WEIGHT:
                raise InvalidInputError(f"edges[{k}] ({e['source']!r}->{e['target']!r}): |weight| {val:g} outside "
                                        f"[{MIN_ABS_WEIGHT:g}, {MAX_ABS_WEIGHT:g}] (spectra would overflow)")
            if has_z:
                if val == 0.0 or abs(val) < opts.tau:
                    keep[k] = False
                    dead += 1
                val = math.copysign(min(abs(val), opts.w_max), val)
            u[k], v[k], w[k] = ends[0], ends[1], val
        warns = []
        if dead:
            warns.append(warning("dead_band", f"{dead} log-odds edge(s) with |z| < tau (or z = 0) gave no edge",
                                 count=dead))
        return cls._build(ids, u[keep], v[keep], w[keep], directed=directed, opts=opts, warns=warns)

    @classmethod
    def from_arrays(
        cls,
        n: int,
        u: Any,
        v: Any,
        w: Any | None = None,
        *,
        directed: bool = False,
        ids: Sequence[NodeId] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> SignedGraph:
        """Build from edge arrays (stored graphs, sparsifiers): ``u[k] -> v[k]`` with weight ``w[k]`` (default 1).

        Vectorised, ``O(m log m)``.  ``ids`` defaults to ``0..n-1``.
        """
        u = np.asarray(u, dtype=np.int64).ravel()
        v = np.asarray(v, dtype=np.int64).ravel()
        w = np.ones(u.size) if w is None else np.asarray(w, dtype=np.float64).ravel()
        if not (u.size == v.size == w.size):
            raise InvalidInputError("u, v and w must have the same length")
        if u.size and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
            k = int(np.flatnonzero((u < 0) | (u >= n) | (v < 0) | (v >= n))[0])
            raise InvalidInputError(f"edge {k} ({u[k]}->{v[k]}): unknown node (n = {n})")
        if ids is None:
            ids = range(n)
        ids = list(ids)
        if len(ids) != n or len(set(ids)) != n:
            raise InvalidInputError("ids must list n distinct node ids")
        bad = ~np.isfinite(w) | (w == 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"edge {k} ({ids[int(u[k])]!r} -> {ids[int(v[k])]!r}): weight {float(w[k])} "
                                    "is zero or non-finite")
        opts = LogOddsOptions.from_mapping(options)
        return cls._build(ids, u, v, w, directed=directed, opts=opts, warns=[])

    @classmethod
    def _build(cls, ids, u, v, w, *, directed, opts, warns) -> SignedGraph:
        n = len(ids)
        cancelled = np.zeros((0, 2), np.int64)
        loops = u == v
        if loops.any():
            ex = [ids[int(x)] for x in u[loops][:5]]
            warns.append(warning("self_loop_dropped", f"dropped {int(loops.sum())} self-loop(s)",
                                 count=int(loops.sum()), nodes=ex))
            u, v, w = u[~loops], v[~loops], w[~loops]
        if not directed:
            u, v = np.minimum(u, v), np.maximum(u, v)
        key = u * max(n, 1) + v
        uniq, first, inv, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        if uniq.size < key.size:
            merged = np.bincount(inv, weights=w, minlength=uniq.size)
            dup = counts > 1
            ex = [[ids[int(a)], ids[int(b)]] for a, b in zip(u[first[dup]][:5], v[first[dup]][:5], strict=True)]
            warns.append(warning("parallel_edges_merged",
                                 f"merged {int((counts[dup] - 1).sum())} parallel edge(s) by summing weights",
                                 count=int((counts[dup] - 1).sum()), pairs=ex))
            # keep input order of first occurrence
            order = np.argsort(first, kind="stable")
            u, v, w = u[first[order]], v[first[order]], merged[order]
            zero = np.abs(w) <= 1e-15 * np.maximum(1.0, np.abs(w))
            if zero.any():
                warns.append(warning("cancelled_edges_dropped",
                                     f"{int(zero.sum())} merged edge(s) summed to zero and were dropped (the "
                                     "chordal checks still count them as edges)", count=int(zero.sum())))
                cancelled = np.stack([u[zero], v[zero]], axis=1).astype(np.int64)
                u, v, w = u[~zero], v[~zero], w[~zero]
        if opts.scale != 1.0:
            w = w / opts.scale
        if opts.row_normalize:
            if not directed:
                raise InvalidInputError("options.row_normalize needs a directed graph")
            rows = np.bincount(v, weights=np.abs(w), minlength=n)
            w = w / rows[v]
        g = cls(tuple(ids), u.astype(np.int64), v.astype(np.int64), w.astype(np.float64), bool(directed), (),
                cancelled)
        if directed:
            digons = g.opposite_sign_digons()
            if digons:
                warns.append(warning("opposite_sign_digon",
                                     f"{len(digons)} reciprocal pair(s) with opposite signs (negative 2-cycles)",
                                     count=len(digons), pairs=[[ids[a], ids[b]] for a, b in digons[:20]]))
        object.__setattr__(g, "warnings", tuple(warns))
        return g

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return int(self.src.size)

    def opposite_sign_digons(self) -> list[tuple[int, int]]:
        """Pairs ``(a, b)``, ``a < b``, with arcs both ways and opposite signs (directed graphs)."""
        if not self.directed or self.m == 0:
            return []
        n = max(self.n, 1)
        fwd = dict(zip((self.src * n + self.dst).tolist(), self.weight.tolist(), strict=True))
        out = []
        for a, b, wab in zip(self.src.tolist(), self.dst.tolist(), self.weight.tolist(), strict=True):
            wba = fwd.get(b * n + a)
            if a < b and wba is not None and wab * wba < 0:
                out.append((a, b))
        return out

    def adjacency(self) -> np.ndarray:
        """Dense ``A`` with ``A[target, source] = weight`` (symmetric when undirected)."""
        a = np.zeros((self.n, self.n))
        a[self.dst, self.src] = self.weight
        if not self.directed:
            a[self.src, self.dst] = self.weight
        return a

    def abs_in_degree(self) -> np.ndarray:
        """``d_i = sum_j |a_ij|``."""
        d = np.bincount(self.dst, weights=np.abs(self.weight), minlength=self.n)
        if not self.directed:
            d = d + np.bincount(self.src, weights=np.abs(self.weight), minlength=self.n)
        return d

    def tolerance(self) -> float:
        """Zero / clustering tolerance ``1e-9 * max(1, max_i d_i)`` (spec §2)."""
        d = self.abs_in_degree()
        return 1e-9 * max(1.0, float(d.max()) if d.size else 1.0)

    def index_of(self, node: Any, where: str = "node") -> int:
        """Index of a user id; :class:`InvalidInputError` naming ``where`` if unknown."""
        lookup = self._lookup()
        try:
            return lookup[node]
        except (KeyError, TypeError):
            raise InvalidInputError(f"{where}: unknown node {node!r}") from None

    def _lookup(self) -> dict:
        cache = self.__dict__.get("_lookup_cache")
        if cache is None:
            cache = {node: k for k, node in enumerate(self.ids)}
            object.__setattr__(self, "_lookup_cache", cache)
        return cache

    def indices_of(self, nodes: Iterable[Any], where: str) -> list[int]:
        out = []
        for k, node in enumerate(nodes):
            out.append(self.index_of(node, f"{where}[{k}]"))
        if len(set(out)) != len(out):
            raise InvalidInputError(f"{where}: duplicate node ids")
        return out

    def id_list(self, idx: Iterable[int]) -> list:
        ids = self.ids
        return [ids[int(k)] for k in idx]

    def require_dense(self, max_nodes: int = DEFAULT_MAX_DENSE_NODES, what: str = "this analysis") -> None:
        """Raise :class:`TooLargeError` when ``n > max_nodes`` (dense ``O(n^3)`` LAPACK)."""
        from ..errors import TooLargeError

        if self.n > max_nodes:
            raise TooLargeError(f"{what} uses dense eigen-decomposition and accepts at most {max_nodes} nodes "
                                f"(got {self.n})", details={"n": self.n, "max_nodes": max_nodes})


def conventions(graph: SignedGraph, variant: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ``conventions`` block echoed in every result."""
    out: dict[str, Any] = {
        "edge_direction": "source -> target means target listens to source: A[target, source] = weight",
        "tolerance": graph.tolerance(),
        "tolerance_rule": "1e-9 * max(1, max_i d_i), d_i = sum_j |a_ij|",
        "directed": graph.directed,
    }
    if variant is not None:
        out["variant"] = variant
    out.update(extra)
    return out


def clean(x: float, tol: float) -> float:
    """Round values within ``tol`` of zero to exactly 0.0 (avoids ``-0.0`` and 1e-17 noise in JSON)."""
    x = float(x)
    return 0.0 if abs(x) <= tol else x
