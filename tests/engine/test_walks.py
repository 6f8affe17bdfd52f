"""The non-backtracking random walk primitive (spec ``dygrass.md`` §2, §12.1) driven through the CPU kernels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from sparsewire.engine import Sparsifier, SparsifierParams
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.kernels import walks_cpu
from sparsewire.kernels.rng import draw_py, walker_key_py


def _hub(slot_of_prev: int, d: int = 5) -> DynamicGraph:
    """p = 0 has the single neighbour v = 1; v has degree d: p at block slot ``slot_of_prev`` and leaves."""
    leaves = list(range(2, d + 1))
    order = leaves[:slot_of_prev] + [0] + leaves[slot_of_prev:]
    g = DynamicGraph(d + 1)  # v's block is filled in ``order``
    for x in order:
        g.add_edges(np.array([1]), np.array([x]), np.array([1.0]), merge=False)
    assert g.neighbors(1)[0].tolist() == order
    return g


@pytest.mark.parametrize("slot", [0, 2, 4])
def test_non_backtracking_step_is_uniform_over_the_others(slot: int) -> None:
    """From v (deg 5) reached from p, step 2 never returns to p and is uniform over the 4 others."""
    g = _hub(slot)
    N, leaves = 100_000, np.arange(2, 6)
    uids = np.repeat(np.arange(N), 4)
    qs = np.tile(leaves, N)
    found, steps, resist, winner, work, paths = walks_cpu.run_deletion(g.view(), np.zeros(4 * N, np.int64), qs,
                                                                         uids, seed=11, T=2, W=1)
    hit = found.reshape(N, 4)
    assert (hit.sum(axis=1) == 1).all()  # exactly one leaf reached: never back to p, never dead
    assert (steps[found] == 2).all() and (resist[found] == 2.0).all()
    assert (paths[found][:, 1] == 1).all()
    counts = hit.sum(axis=0)
    assert chisquare(counts).pvalue > 1e-3
    # the kernel's choice equals the spec §2 draw reproduced in pure Python (first 200 walkers)
    nb = g.neighbors(1)[0].tolist()
    for i in range(200):
        key = walker_key_py(11, i, 0)
        assert draw_py(key, 1, 1) == 0
        k = draw_py(key, 2, 4)
        if nb[k] == 0:
            k = 4
        assert leaves[hit[i]].tolist() == [nb[k]]


def test_degree_one_after_first_step_is_death() -> None:
    # 0 - 1 and 2 - 3: from 0 the first step goes to 1 (deg 1, arrived from 0): dead, 1 step of work each
    g = DynamicGraph.from_edges(4, np.array([0, 2]), np.array([1, 3]), np.ones(2))
    f, _s, _r, win, work, _p = walks_cpu.run_deletion(g.view(), np.array([0]), np.array([3]), np.array([0]),
                                                     seed=0, T=50, W=8)
    assert not f[0] and win[0] == -1 and work[0] == 8
    f, _s, _r, _w, work = walks_cpu.run_insertion(g.view(), np.array([0]), np.array([3]), np.array([1.0]),
                                                  np.array([0]), seed=0, K=100.0, T=50, W=8,
                                                  first_step_exempt=False)
    assert not f[0] and work[0] == 8
    # but deg 1 at the *start* is fine: 0 -> 1 reaches q = 1 at step 1
    f, s, r, _w, _k, p = walks_cpu.run_deletion(g.view(), np.array([0]), np.array([1]), np.array([0]),
                                                seed=0, T=50, W=8)
    assert f[0] and s[0] == 1 and r[0] == 1.0 and p[0, :2].tolist() == [0, 1]


def test_degree_zero_is_death_not_a_crash() -> None:
    g = DynamicGraph.from_edges(5, np.array([1, 2]), np.array([2, 3]), np.ones(2))  # 0 and 4 isolated
    for b in (1, 9):  # serial and parallel kernels
        ps = np.zeros(b, np.int64)
        f, _s, _r, _w, work, _p = walks_cpu.run_deletion(g.view(), ps, np.full(b, 3), np.arange(b), seed=0,
                                                         T=10, W=4)
        assert not f.any() and (work == 0).all()
        f, _s, _r, _w, work = walks_cpu.run_insertion(g.view(), ps, np.full(b, 3), np.ones(b), np.arange(b),
                                                      seed=0, K=10.0, T=10, W=4, first_step_exempt=True)
        assert not f.any() and (work == 0).all()
    # through the engine: an insertion at an isolated vertex is a bridge, always added
    s = Sparsifier.from_edges(5, np.array([1, 2]), np.array([2, 3]), np.ones(2), params=SparsifierParams(K=10),
                              h0_mask=np.ones(2, bool), backend="cpu")
    assert s.insert_batch([0], [4], [1.0]).counts() == {"added": 1}


def _py_walk(g: DynamicGraph, p: int, q: int, key: int, T: int, w_e: float, K: float, exempt: bool):  # noqa: ANN202
    prev, cur, R = -1, p, 0.0
    for s in range(1, T + 1):
        nb, wt = g.neighbors(cur)
        d = nb.shape[0]
        if d == 0 or (d == 1 and prev >= 0):
            return False, R
        k = draw_py(key, s, d) if prev < 0 else draw_py(key, s, d - 1)
        if prev >= 0 and nb[k] == prev:
            k = d - 1
        nxt = int(nb[k])
        R += 1.0 / float(wt[k])
        if (s >= 2 or not exempt) and w_e * R >= K:
            return False, R
        if nxt == q:
            return True, R
        prev, cur = cur, nxt
    return False, R


@pytest.mark.parametrize("exempt", [False, True])
def test_insertion_kernel_matches_pure_python_walker(exempt: bool) -> None:
    """First successful walker (index order), its R and the found flag equal a line-by-line spec walker."""
    rng = np.random.default_rng(4)
    n = 60
    pairs = {(i, i + 1) for i in range(n - 1)}
    while len(pairs) < 100:
        a, b = sorted(int(x) for x in rng.integers(n, size=2))
        if a != b:
            pairs.add((a, b))
    e = np.array(sorted(pairs))
    g = DynamicGraph.from_edges(n, e[:, 0], e[:, 1], rng.choice([0.5, 1.0, 2.0], size=e.shape[0]))
    ps, qs = rng.integers(n, size=40), rng.integers(n, size=40)
    qs[ps == qs] = (qs[ps == qs] + 1) % n
    ws = rng.choice([0.5, 1.0, 3.0], size=40)
    seed, K, T, W = 21, 7.0, 15, 16
    f, st, r, win, _work = walks_cpu.run_insertion(g.view(), ps, qs, ws, np.arange(100, 140), seed=seed, K=K, T=T,
                                                   W=W, first_step_exempt=exempt)
    for i in range(40):
        first = next(((j, R) for j in range(W) for ok, R in [_py_walk(g, int(ps[i]), int(qs[i]),
                                                                      walker_key_py(seed, 100 + i, j), T,
                                                                      float(ws[i]), K, exempt)] if ok), None)
        assert bool(f[i]) == (first is not None)
        if first is not None:
            assert int(win[i]) == first[0] and r[i] == first[1]
    assert 5 < f.sum() < 35  # both outcomes exercised


@pytest.mark.parametrize("weighted", [False, True])
def test_bounded_search_never_changes_insertion_results(weighted: bool) -> None:
    """The exact search that skips hopeless walkers (``prove_after``) must leave every result bit-identical."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    from sparsewire.engine.dyngraph import DynamicGraph
    from sparsewire.kernels import walks_cpu

    rng = np.random.default_rng(7)
    n = 3000
    side = int(np.sqrt(n))
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    w = rng.choice([0.5, 1.0, 7.0], len(u)) if weighted else np.ones(len(u))
    import scipy.sparse as sp

    t = minimum_spanning_tree(sp.coo_array((rng.random(len(u)) + 0.1, (u, v)), shape=(side * side,) * 2)).tocoo()
    keep = np.isin(u * 2**31 + v, np.minimum(t.row, t.col).astype(np.int64) * 2**31 + np.maximum(t.row, t.col))
    keep[rng.choice(np.flatnonzero(~keep), side, replace=False)] = True
    h = DynamicGraph.from_edges(side * side, u[keep], v[keep], w[keep])
    ps = rng.integers(0, side * side, 400)
    qs = (ps + rng.integers(2, 3 * side, 400)) % (side * side)
    ws = rng.choice([1.0, 2.0, 3.0], 400)
    uids = np.arange(400)
    kw = {"seed": 3, "K": 10.0, "T": 100, "W": 128, "first_step_exempt": False}
    plain = walks_cpu.run_insertion(h.view(), ps, qs, ws, uids, prove_after=128, **kw)
    for after in (0, 1, 8):
        searched = np.zeros(400, np.int8)
        got = walks_cpu.run_insertion(h.view(), ps, qs, ws, uids, prove_after=after, searched=searched, **kw)
        for a, b in zip(plain[:4], got[:4], strict=True):
            np.testing.assert_array_equal(a, b)
        assert (searched == 2).sum() > 0, "the search should prove some far edges critical"
        assert not got[0][searched == 2].any()
