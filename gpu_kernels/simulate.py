"""Pure-Python simulation of the CUDA walk kernels' thread layout (``walks.cu``), for tests without a GPU.

Each simulated block is one update; it has ``ceil(W / 32) * 32`` threads, thread ``j < W`` runs walker ``j``
with the pure-Python RNG of :mod:`sparsewire.kernels.rng` (``walker_key_py``, ``draw_py``) and a line-by-line
port of ``sw_walk`` (``sw_walk.cuh``); threads ``j >= W`` enter the reductions as failed walkers.  The
reduction is replayed exactly as the kernel runs it: ``__shfl_down_sync`` rounds with offsets 16, 8, 4, 2, 1
inside every warp (all lanes read the values of the previous round; a source lane past 31 returns the
caller's own value), lane 0 of each warp stores to shared memory, then warp 0 reduces the per-warp values the
same way (lanes past the number of warps load the failure sentinel).

:func:`launch` takes the kernels' exact argument lists, so a fake CuPy can run :class:`CudaBackend`'s launch
code on numpy arrays (see ``tests/kernels``).  Slow (pure Python): meant for small graphs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sparsewire.kernels.rng import draw_py, walker_key_py

#: Failure sentinel for walker indices (``SW_NONE`` in ``sw_walk.cuh``).
NONE = 0x7FFFFFFF
INF = math.inf


def walk_py(start, deg, nbr, wt, p: int, q: int, w_e: float, K: float, T: int, key: int,  # noqa: ANN001
            capped: bool, exempt_first: bool, best: float = INF,
            path: np.ndarray | None = None) -> tuple[int, float, int]:
    """Port of ``sw_walk``: returns ``(steps, R, work)``, ``steps > 0`` on success."""
    prev = -1
    cur = int(p)
    R = 0.0
    if path is not None:
        path[0] = p
    for s in range(1, T + 1):
        d = int(deg[cur])
        base = int(start[cur])
        if d == 0:
            return 0, R, s - 1
        if prev < 0:
            k = draw_py(key, s, d)
        else:
            if d == 1:
                return 0, R, s - 1
            k = draw_py(key, s, d - 1)
            if int(nbr[base + k]) == prev:
                k = d - 1
        nxt = int(nbr[base + k])
        R += 1.0 / float(wt[base + k])
        if path is not None:
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


Lane = tuple[int, int, float]  # (walker index or NONE, steps, R)


def ins_better(b: Lane, a: Lane) -> bool:
    """``sw_ins_better``: the lowest successful walker index wins."""
    return b[0] < a[0]


def del_better(b: Lane, a: Lane) -> bool:
    """``sw_del_better``: lexicographic minimum of ``(R, walker index)``."""
    return b[2] < a[2] or (b[2] == a[2] and b[0] < a[0])


def warp_reduce(vals: Sequence[Lane], better: Callable[[Lane, Lane], bool]) -> list[Lane]:
    """Five ``__shfl_down_sync`` rounds over one full warp; returns every lane's final value (lane 0 holds
    the warp's result)."""
    assert len(vals) == 32
    cur = list(vals)
    off = 16
    while off > 0:
        src = [cur[lane + off] if lane + off < 32 else cur[lane] for lane in range(32)]
        cur = [src[lane] if better(src[lane], cur[lane]) else cur[lane] for lane in range(32)]
        off >>= 1
    return cur


def block_reduce(vals: Sequence[Lane], better: Callable[[Lane, Lane], bool]) -> Lane:
    """The kernels' block reduction: warps, then shared memory, then warp 0.  ``len(vals)`` is the block
    size, a multiple of 32 (at most 1024)."""
    nthreads = len(vals)
    assert nthreads % 32 == 0 and 0 < nthreads <= 1024
    nwarps = nthreads // 32
    shared = [warp_reduce(vals[32 * w: 32 * w + 32], better)[0] for w in range(nwarps)]
    sentinel: Lane = (NONE, 0, INF)
    lanes = [shared[lane] if lane < nwarps else sentinel for lane in range(32)]
    return warp_reduce(lanes, better)[0]


def block_threads(W: int) -> int:
    """Block size used for ``W`` walkers: ``W`` rounded up to a multiple of 32."""
    if not 1 <= W <= 1024:
        raise ValueError(f"W must be in 1..1024, got {W}")
    return 32 * ((W + 31) // 32)


def insertion_block(start, deg, nbr, wt, p, q, w_e, uid, seed, K, T, W, exempt_first, nthreads=None):  # noqa: ANN001, ANN201
    """One block of ``sw_insertion_kernel``: ``(found, steps, resist, winner, work)``."""
    nthreads = block_threads(W) if nthreads is None else nthreads
    vals: list[Lane] = []
    work = 0
    for j in range(nthreads):
        lane: Lane = (NONE, 0, INF)
        if j < W:
            key = walker_key_py(int(seed), int(uid) & ((1 << 64) - 1), j)
            st, R, wk = walk_py(start, deg, nbr, wt, p, q, float(w_e), float(K), T, key, True,
                                bool(exempt_first))
            work += wk
            if st > 0:
                lane = (j, st, R)
        vals.append(lane)
    idx, st, R = block_reduce(vals, ins_better)
    ok = idx != NONE
    return ok, (st if ok else 0), (R if ok else INF), (idx if ok else -1), work


def deletion_block(start, deg, nbr, wt, p, q, uid, seed, T, W, path_out=None, nthreads=None):  # noqa: ANN001, ANN201
    """One block of ``sw_deletion_kernel``: ``(found, steps, resist, winner, work)``; the winner's path goes
    to ``path_out`` (length ``T + 1``, pre-filled with -1) when given."""
    nthreads = block_threads(W) if nthreads is None else nthreads
    vals: list[Lane] = []
    work = 0
    for j in range(nthreads):
        lane: Lane = (NONE, 0, INF)
        if j < W:
            key = walker_key_py(int(seed), int(uid) & ((1 << 64) - 1), j)
            st, R, wk = walk_py(start, deg, nbr, wt, p, q, 1.0, INF, T, key, False, True)
            work += wk
            if st > 0:
                lane = (j, st, R)
        vals.append(lane)
    idx, st, R = block_reduce(vals, del_better)
    ok = idx != NONE
    if ok and path_out is not None:
        key = walker_key_py(int(seed), int(uid) & ((1 << 64) - 1), idx)
        walk_py(start, deg, nbr, wt, p, q, 1.0, INF, T, key, False, True, INF, path_out)
    return ok, (st if ok else 0), (R if ok else INF), (idx if ok else -1), work


def launch(name: str, grid: tuple[int, ...], block: tuple[int, ...], args: Sequence) -> None:
    """Run kernel ``name`` of ``walks.cu`` on numpy arrays with the kernel's own argument list."""
    (nblocks,) = grid[:1]
    (nthreads,) = block[:1]
    if nthreads % 32 or not 0 < nthreads <= 1024:
        raise ValueError(f"block size must be a positive multiple of 32 up to 1024, got {nthreads}")
    if name == "sw_insertion_kernel":
        (start, deg, nbr, wt, ps, qs, ws, uids, seed, K, T, W, exempt,
         found, steps, resist, winner, work) = args
        assert W <= nthreads
        for i in range(int(nblocks)):
            found[i], steps[i], resist[i], winner[i], work[i] = insertion_block(
                start, deg, nbr, wt, int(ps[i]), int(qs[i]), float(ws[i]), int(uids[i]), int(seed), float(K),
                int(T), int(W), bool(exempt), nthreads)
    elif name == "sw_deletion_kernel":
        (start, deg, nbr, wt, ps, qs, uids, seed, T, W, found, steps, resist, winner, work, paths) = args
        assert W <= nthreads
        T = int(T)
        flat = paths.reshape(-1)  # the kernel sees a flat int64 array
        for i in range(int(nblocks)):
            row = flat[i * (T + 1): (i + 1) * (T + 1)]
            found[i], steps[i], resist[i], winner[i], work[i] = deletion_block(
                start, deg, nbr, wt, int(ps[i]), int(qs[i]), int(uids[i]), int(seed), T, int(W), row,
                nthreads)
    else:
        raise KeyError(f"no kernel {name!r} in walks.cu")
