"""Synthetic update streams in the style of the dyGRASS experiments (spec ``dygrass.md`` §7).

* :func:`local_insertions`: new edges between vertices 2–4 hops apart in G, weights drawn from {1, 2, 3},
  no self-loops, no existing edges, no duplicates (the published ``ext.mtx`` streams look like this).
* :func:`sparsifier_deletions`: edges of H that are not bridges of G, sampled uniformly.

Both are deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sparsewire.engine.dyngraph import DynamicGraph, _positions


@njit(cache=True, nogil=True)
def _local_candidates(start, deg, nbr, hkeys, hvals, n, count, seed):  # noqa: ANN001
    np.random.seed(seed)
    us = np.empty(count, np.int64)
    vs = np.empty(count, np.int64)
    k = 0
    tries = 0
    while k < count and tries < 50 * count + 1000:
        tries += 1
        p = np.random.randint(0, n)
        if deg[p] == 0:
            continue
        hops = np.random.randint(2, 5)
        prev = -1
        cur = p
        ok = True
        for _ in range(hops):
            d = deg[cur]
            if d == 0 or (d == 1 and prev >= 0):
                ok = False
                break
            j = np.random.randint(0, d)
            x = nbr[start[cur] + j]
            if x == prev:
                x = nbr[start[cur] + (j + 1) % d]
            prev = cur
            cur = x
        if not ok or cur == p:
            continue
        s, _pu, _pv = _positions(hkeys, hvals, p, cur)
        if s >= 0:
            continue
        us[k] = min(p, cur)
        vs[k] = max(p, cur)
        k += 1
    return us[:k], vs[:k]


def local_insertions(graph: DynamicGraph, count: int, *, seed: int = 0,
                     weights: tuple[float, ...] = (1.0, 2.0, 3.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` new local edges ``(u, v, w)`` of ``graph`` in random order (fewer if the graph is tiny)."""
    rng = np.random.default_rng(seed)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    seen = np.empty(0, np.int64)
    have = 0
    for round_ in range(20):
        need = int((count - have) * 1.2) + 16
        a, b = _local_candidates(graph.start, graph.deg, graph.nbr, graph.hkeys, graph.hvals, graph.n, need,
                                 int(rng.integers(2**31)) + round_)
        keys = a * (2**31) + b
        _, first = np.unique(keys, return_index=True)
        first.sort()
        keep = first[~np.isin(keys[first], seen)]
        us.append(a[keep])
        vs.append(b[keep])
        seen = np.concatenate([seen, keys[keep]])
        have += len(keep)
        if have >= count or len(a) == 0:
            break
    u = np.concatenate(us)[:count]
    v = np.concatenate(vs)[:count]
    w = rng.choice(np.asarray(weights, np.float64), size=len(u))
    return u, v, w


@njit(cache=True, nogil=True)
def _bridges(start, deg, nbr, n):  # noqa: ANN001
    """Mark bridges by (u, position) of the tree edge to the child; iterative Tarjan low-link, O(n + m)."""
    disc = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    it = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    bu = []
    bv = []
    t = 0
    for r in range(n):
        if disc[r] >= 0:
            continue
        sp = 0
        stack[0] = r
        disc[r] = t
        low[r] = t
        t += 1
        while sp >= 0:
            x = stack[sp]
            if it[x] < deg[x]:
                y = nbr[start[x] + it[x]]
                it[x] += 1
                if disc[y] < 0:
                    parent[y] = x
                    disc[y] = t
                    low[y] = t
                    t += 1
                    sp += 1
                    stack[sp] = y
                elif y != parent[x]:
                    low[x] = min(low[x], disc[y])
            else:
                sp -= 1
                px = parent[x]
                if px >= 0:
                    low[px] = min(low[px], low[x])
                    if low[x] > disc[px]:
                        bu.append(min(px, x))
                        bv.append(max(px, x))
    out_u = np.empty(len(bu), np.int64)
    out_v = np.empty(len(bv), np.int64)
    for i in range(len(bu)):
        out_u[i] = bu[i]
        out_v[i] = bv[i]
    return out_u, out_v


def bridges(graph: DynamicGraph) -> tuple[np.ndarray, np.ndarray]:
    """Bridges of a simple graph as ``(u, v)`` with ``u < v``.  O(n + m)."""
    return _bridges(graph.start, graph.deg, graph.nbr, graph.n)


def sparsifier_deletions(graph: DynamicGraph, sparsifier: DynamicGraph, count: int, *,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` distinct edges of ``sparsifier`` that are not bridges of ``graph``, in random order."""
    hu, hv, _ = sparsifier.edges()
    bu, bv = bridges(graph)
    ok = ~np.isin(hu * (2**31) + hv, bu * (2**31) + bv)
    hu, hv = hu[ok], hv[ok]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(hu), size=min(count, len(hu)), replace=False)
    return hu[pick], hv[pick]
