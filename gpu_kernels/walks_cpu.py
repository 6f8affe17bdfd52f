"""CPU twin of the CUDA walk kernels (numba, parallel over updates, ``nogil``).

One *walker* is the localized non-backtracking random walk of dyGRASS (spec ``dygrass.md`` §2):

1. the first step picks uniformly among all ``deg(p)`` neighbours;
2. later steps at ``v`` (arrived from ``u``) die if ``deg(v) == 1``; otherwise draw ``k`` uniform in
   ``[0, deg(v) - 2]`` and take the last slot ``deg(v) - 1`` instead when slot ``k`` holds ``u``;
3. ``deg == 0`` is death;
4. after each step ``R += 1 / w``; in insertion mode (``capped``) the walker fails when ``w_e * R >= K``
   (strict success ``w_e * R < K``; skipped on step 1 when ``first_step_exempt``); then reaching ``q``
   is success; at most ``T`` steps.

Draw number ``s`` (``s = 1 .. T``) of walker ``j`` of update ``uid`` is ``draw(walker_key(seed, uid, j), s, d)``
(:mod:`sparsewire.kernels.rng`), so every backend reproduces every walk bit for bit.

Aggregation over walkers ``0 .. W-1``: insertion needs only "any walker succeeded" (walkers run in index order
and stop at the first success; after the first few, a bounded exact search may prove that no walker can
succeed, which skips the rest without changing any result); deletion keeps the successful walker with the
smallest ``R``, lowest index on ties.  A deletion walker stops as soon as ``R >= best``: it can no longer
win, so pruning never changes the result.  Work per update is O(W * T) steps.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit, prange

from sparsewire.kernels.rng import draw, walker_key

#: Parallel numba kernels must not be entered from two Python threads at once (the default ``workqueue``
#: threading layer is not thread-safe); every kernel already uses all cores, so serialising loses nothing.
KERNEL_LOCK = threading.Lock()
_CHUNK = 4


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _walk(start, deg, nbr, wt, p, q, w_e, K, T, key, capped, exempt_first, best, path):  # noqa: ANN001
    """Run one walker; returns ``(steps, R, work)``: ``steps > 0`` on success.

    When ``path`` has room for ``T + 1`` entries the visited vertices are written to it.
    """
    prev = np.int64(-1)
    cur = np.int64(p)
    R = 0.0
    record = path.shape[0] > 0
    if record:
        path[0] = p
    for s in range(1, T + 1):
        d = np.int64(deg[cur])
        base = start[cur]
        if d == 0:
            return 0, R, s - 1
        if prev < 0:
            k = draw(key, np.uint64(s), np.uint64(d))
        else:
            if d == 1:
                return 0, R, s - 1
            k = draw(key, np.uint64(s), np.uint64(d - 1))
            if nbr[base + k] == prev:
                k = d - 1
        nxt = np.int64(nbr[base + k])
        R += 1.0 / wt[base + k]
        if record:
            path[s] = nxt
        if capped and (s >= 2 or not exempt_first) and w_e * R >= K:
            return 0, R, s
        if R >= best:
            return 0, R, s
        if nxt == q:
            return s, R, s
        prev = cur
        cur = nxt
    return 0, R, T


_BALL_SLOTS = 2048  # hash slots of the bounded search (at most half used)
#: Cost of the bounded search in walker-step units: per settled vertex (heap work) and per call (tables).
_SEARCH_COST_PER_VERTEX = 4.0
_SEARCH_COST_FIXED = 200.0
#: Walkers tried before the bounded search (most non-critical edges succeed within them); W or more disables it.
PROVE_AFTER = 8


@njit(cache=True, nogil=True)
def _heap_push(hd, hv, size, d, v):  # noqa: ANN001
    i = size
    hd[i] = d
    hv[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if hd[parent] <= hd[i]:
            break
        hd[parent], hd[i] = hd[i], hd[parent]
        hv[parent], hv[i] = hv[i], hv[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(hd, hv, size):  # noqa: ANN001
    d, v = hd[0], hv[0]
    size -= 1
    hd[0], hv[0] = hd[size], hv[size]
    i = 0
    while True:
        a, b, m = 2 * i + 1, 2 * i + 2, i
        if a < size and hd[a] < hd[m]:
            m = a
        if b < size and hd[b] < hd[m]:
            m = b
        if m == i:
            break
        hd[m], hd[i] = hd[i], hd[m]
        hv[m], hv[i] = hv[i], hv[m]
        i = m
    return d, v, size


@njit(cache=True, nogil=True)
def _provably_critical(start, deg, nbr, wt, p, q, w_e, K, exempt_first):  # noqa: ANN001
    """True when no walker can succeed: every p–q path has ``w_e * R >= K``.

    A bounded Dijkstra on resistances from p that never keeps a vertex with ``w_e * d >= K`` (the walkers' own
    test, so rounding agrees: fl-addition of positive terms is monotone, hence a walk's R is never below the
    search's d of its end vertex).  Returns ``(proved, vertices_settled)``; gives up (not proved) when the ball
    outgrows a fixed table.  With ``exempt_first`` a direct neighbour q is found on step 1 whatever K says.
    """
    mask = _BALL_SLOTS - 1
    keys = np.full(_BALL_SLOTS, -1, np.int64)
    dist = np.empty(_BALL_SLOTS, np.float64)
    hd = np.empty(2 * _BALL_SLOTS, np.float64)
    hv = np.empty(2 * _BALL_SLOTS, np.int64)
    used = 0
    size = _heap_push(hd, hv, 0, 0.0, np.int64(p))
    settled = 0
    while size > 0:
        d, x, size = _heap_pop(hd, hv, size)
        if x == q:
            return False, settled
        s = (x * 0x9E3779B1) & mask
        while keys[s] != -1 and keys[s] != x:
            s = (s + 1) & mask
        if keys[s] == x and dist[s] < d:
            continue  # stale heap entry
        settled += 1
        base = start[x]
        for k in range(deg[x]):
            y = np.int64(nbr[base + k])
            if exempt_first and x == p and y == q:
                return False, settled
            nd = d + 1.0 / wt[base + k]
            if w_e * nd >= K:
                continue
            t = (y * 0x9E3779B1) & mask
            while keys[t] != -1 and keys[t] != y:
                t = (t + 1) & mask
            if keys[t] == y:
                if dist[t] <= nd:
                    continue
            else:
                used += 1
                if 2 * used > _BALL_SLOTS or size >= hd.shape[0]:
                    return False, settled  # too big to settle cheaply: let the walkers decide
                keys[t] = y
            dist[t] = nd
            size = _heap_push(hd, hv, size, nd, y)
    return True, settled


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def insertion_kernel(start, deg, nbr, wt, ps, qs, ws, uids, seed, K, T, W, exempt_first, prove_after,  # noqa: ANN001
                     found, steps, resist, winner, work, searched, gain):
    """Insertion test for every update (parallel over updates, walkers in index order, early exit).

    Where the bounded search ran, ``gain[i]`` estimates what it saved in walker-step units: the steps the
    remaining walkers would have taken (extrapolated from the first ``prove_after``) minus its own cost.
    """
    nopath = np.empty(0, np.int64)
    inf = np.inf
    for i in prange(ps.shape[0]):
        found[i] = False
        searched[i] = 0
        gain[i] = 0.0
        winner[i] = -1
        steps[i] = 0
        resist[i] = inf
        tot = np.int64(0)
        for j in range(W):
            if j == prove_after[i]:
                proved, settled = _provably_critical(start, deg, nbr, wt, ps[i], qs[i], ws[i], K, exempt_first)
                saved = tot / max(j, 1) * (W - j) if proved else 0.0
                gain[i] = saved - _SEARCH_COST_PER_VERTEX * settled - _SEARCH_COST_FIXED
                tot += settled
                searched[i] = 2 if proved else 1
                if proved:
                    break  # exactly what the remaining walkers would find: nothing
            key = walker_key(np.uint64(seed), np.uint64(uids[i]), np.uint64(j))
            st, R, wk = _walk(start, deg, nbr, wt, ps[i], qs[i], ws[i], K, T, key, True, exempt_first,
                              inf, nopath)
            tot += wk
            if st > 0:
                found[i] = True
                winner[i] = j
                steps[i] = st
                resist[i] = R
                break
        work[i] = tot


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def deletion_kernel(start, deg, nbr, wt, ps, qs, uids, seed, T, W,  # noqa: ANN001
                    found, steps, resist, winner, work, paths):
    """Best (minimum-resistance, lowest-index) walker per update, and its vertex sequence in ``paths[i]``."""
    nopath = np.empty(0, np.int64)
    for i in prange(ps.shape[0]):
        best = np.inf
        bw = -1
        bs = 0
        tot = np.int64(0)
        for j in range(W):
            key = walker_key(np.uint64(seed), np.uint64(uids[i]), np.uint64(j))
            st, R, wk = _walk(start, deg, nbr, wt, ps[i], qs[i], 1.0, np.inf, T, key, False, True,
                              best, nopath)
            tot += wk
            if st > 0 and R < best:
                best = R
                bw = j
                bs = st
        found[i] = bw >= 0
        winner[i] = bw
        steps[i] = bs
        resist[i] = best
        work[i] = tot
        if bw >= 0:
            key = walker_key(np.uint64(seed), np.uint64(uids[i]), np.uint64(bw))
            _walk(start, deg, nbr, wt, ps[i], qs[i], 1.0, np.inf, T, key, False, True, np.inf, paths[i])


#: Serial twins for small batches: a parallel region costs a barrier per call, which is more than the walks
#: of a few updates when cores are shared (and with one update there is nothing to share).
insertion_kernel_serial = njit(cache=True, nogil=True, error_model="numpy")(insertion_kernel.py_func)
deletion_kernel_serial = njit(cache=True, nogil=True, error_model="numpy")(deletion_kernel.py_func)
_SERIAL_BELOW = 8


def run_insertion(view, ps, qs, ws, uids, *, seed, K, T, W, first_step_exempt, prove_after=PROVE_AFTER,  # noqa: ANN001
                  searched=None, gain=None):
    """Launch :func:`insertion_kernel`; returns ``(found, steps, resistance, winner, work)`` arrays.

    ``prove_after`` (an int, or one per update) is the number of walkers tried before the bounded search;
    ``>= W`` disables it.  ``searched`` (optional int8 output) tells per update whether the search ran (1) and
    proved the edge critical (2); ``gain`` (optional float64 output) its estimated saving in walker steps.
    Results never depend on any of them, only speed.
    """
    b = len(ps)
    found = np.zeros(b, np.bool_)
    steps = np.zeros(b, np.int32)
    resist = np.zeros(b, np.float64)
    winner = np.zeros(b, np.int32)
    work = np.zeros(b, np.int64)
    searched = np.zeros(b, np.int8) if searched is None else searched
    gain = np.zeros(b, np.float64) if gain is None else gain
    args = (view.start, view.deg, view.nbr, view.wt, _i64(ps), _i64(qs), _f64(ws), _i64(uids),
            np.uint64(seed), float(K), int(T), int(W), bool(first_step_exempt),
            np.ascontiguousarray(np.broadcast_to(np.asarray(prove_after, np.int32), (b,))),
            found, steps, resist, winner, work, searched, gain)
    if 0 < b < _SERIAL_BELOW:
        insertion_kernel_serial(*args)
    elif b:
        with KERNEL_LOCK, numba.parallel_chunksize(_CHUNK):
            insertion_kernel(*args)
    return found, steps, resist, winner, work


def run_deletion(view, ps, qs, uids, *, seed, T, W):  # noqa: ANN001
    """Launch :func:`deletion_kernel`; returns ``(found, steps, resistance, winner, work, paths)``."""
    b = len(ps)
    found = np.zeros(b, np.bool_)
    steps = np.zeros(b, np.int32)
    resist = np.zeros(b, np.float64)
    winner = np.zeros(b, np.int32)
    work = np.zeros(b, np.int64)
    paths = np.full((b, T + 1), -1, np.int64)
    args = (view.start, view.deg, view.nbr, view.wt, _i64(ps), _i64(qs), _i64(uids),
            np.uint64(seed), int(T), int(W), found, steps, resist, winner, work, paths)
    if 0 < b < _SERIAL_BELOW:
        deletion_kernel_serial(*args)
    elif b:
        with KERNEL_LOCK, numba.parallel_chunksize(_CHUNK):
            deletion_kernel(*args)
    return found, steps, resist, winner, work, paths


def _i64(a):  # noqa: ANN001, ANN202
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a):  # noqa: ANN001, ANN202
    return np.ascontiguousarray(a, dtype=np.float64)
