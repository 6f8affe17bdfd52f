"""Exact path searches used where random walks give no answer.

The dyGRASS recovery step needs *some* low-resistance p–q path in G after an H edge is deleted.  When none
of the W walkers reaches q (long detours, dead ends) the reference falls back on a broken heuristic
(spec ``dygrass.md`` §10.11); we run an exact bidirectional Dijkstra on edge resistances ``1/w`` instead, so
H keeps exactly G's connected components.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from sparsewire.engine.dyngraph import DynamicGraph


@njit(cache=True, nogil=True)
def _expand(heap, dist, other, done, pred, start, deg, nbr, wt, best):  # noqa: ANN001
    d, x = heapq.heappop(heap)
    if done[x]:
        return best
    done[x] = True
    s = start[x]
    for k in range(deg[x]):
        y = np.int64(nbr[s + k])
        nd = d + 1.0 / wt[s + k]
        if nd < dist[y]:
            dist[y] = nd
            pred[y] = x
            heapq.heappush(heap, (nd, y))
        if other[y] < np.inf and nd + other[y] < best[0]:
            best[0] = nd + other[y]
            best[1] = y
    return best


@njit(cache=True, nogil=True)
def _bidirectional_dijkstra(start, deg, nbr, wt, n, s, t):  # noqa: ANN001
    df = np.full(n, np.inf)
    db = np.full(n, np.inf)
    pf = np.full(n, np.int64(-1))
    pb = np.full(n, np.int64(-1))
    donef = np.zeros(n, np.bool_)
    doneb = np.zeros(n, np.bool_)
    df[s] = 0.0
    db[t] = 0.0
    hf = [(0.0, np.int64(s))]
    hb = [(0.0, np.int64(t))]
    best = np.array([np.inf, -1.0])
    while len(hf) > 0 and len(hb) > 0:
        if hf[0][0] + hb[0][0] >= best[0]:
            break
        if len(hf) <= len(hb):
            best = _expand(hf, df, db, donef, pf, start, deg, nbr, wt, best)
        else:
            best = _expand(hb, db, df, doneb, pb, start, deg, nbr, wt, best)
    meet = np.int64(best[1])
    if meet < 0:
        return np.empty(0, np.int64)
    left = []
    x = meet
    while x >= 0:
        left.append(x)
        x = pf[x]
    out = np.empty(len(left), np.int64)
    for i in range(len(left)):
        out[i] = left[len(left) - 1 - i]
    right = []
    x = pb[meet]
    while x >= 0:
        right.append(x)
        x = pb[x]
    res = np.empty(out.shape[0] + len(right), np.int64)
    res[: out.shape[0]] = out
    for i in range(len(right)):
        res[out.shape[0] + i] = right[i]
    return res


def lowest_resistance_path(graph: DynamicGraph, source: int, target: int) -> np.ndarray | None:
    """Vertex sequence of a minimum-resistance path (sum of ``1/w``) from ``source`` to ``target``.

    Bidirectional Dijkstra, always expanding the smaller frontier, so a disconnected pair costs about the
    size of the smaller side.  Returns ``None`` when the two vertices are in different components.
    O((n + m) log n) time and O(n) memory in the worst case.
    """
    if source == target:
        return np.array([source], np.int64)
    v = graph.view()
    path = _bidirectional_dijkstra(v.start, v.deg, v.nbr, v.wt, v.n, np.int64(source), np.int64(target))
    return path if path.shape[0] else None


def erase_loops(path: np.ndarray) -> np.ndarray:
    """Chronological loop erasure: the simple path left after cutting every cycle of the walk."""
    out: list[int] = []
    where: dict[int, int] = {}
    for x in path.tolist():
        if x in where:
            cut = where[x]
            for y in out[cut + 1 :]:
                del where[y]
            del out[cut + 1 :]
        else:
            where[x] = len(out)
            out.append(x)
    return np.asarray(out, np.int64)
