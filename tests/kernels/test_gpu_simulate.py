"""The kernels' thread layout and reductions (simulate.py) against the CPU backend, and the whole
CudaBackend launch path run on a numpy-backed fake CuPy whose kernels are the simulation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sparsewire.engine.backend import CpuBackend
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.kernels import simulate, walks_cpu
from sparsewire.kernels.walks_cuda import _MIRRORS, CudaBackend, block_threads

from .conftest import random_graph, ring_graph

WALKER_COUNTS = (1, 7, 31, 32, 33, 64, 100)


def _bits(a):  # noqa: ANN001, ANN202
    return np.ascontiguousarray(a, np.float64).view(np.int64)


def _same(a, b, *, paths: bool) -> None:  # noqa: ANN001
    np.testing.assert_array_equal(a.found, b.found)
    np.testing.assert_array_equal(a.winner, b.winner)
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(_bits(a.resistance), _bits(b.resistance))
    if paths:
        np.testing.assert_array_equal(a.paths, b.paths)


# ---------------------------------------------------------------- reductions alone
@pytest.mark.parametrize("W", [1, 5, 31, 32, 33, 63, 95, 100, 250, 512, 1000, 1024])
def test_block_reduction_is_lexicographic_min_with_lowest_index(W) -> None:  # noqa: ANN001
    rng = np.random.default_rng(W)
    nthreads = block_threads(W)
    for trial in range(30):
        # few distinct R values, so ties are frequent; some walkers fail
        R = rng.integers(1, 4, size=W).astype(float) / 2
        ok = rng.random(W) < (0.05 if trial % 3 == 0 else 0.6)
        lanes = [(j, 3, float(R[j])) if ok[j] else (simulate.NONE, 0, math.inf) for j in range(W)]
        lanes += [(simulate.NONE, 0, math.inf)] * (nthreads - W)
        got_del = simulate.block_reduce(lanes, simulate.del_better)
        got_ins = simulate.block_reduce(lanes, simulate.ins_better)
        succ = [lane for lane in lanes if lane[0] != simulate.NONE]
        if succ:
            assert got_del == min(succ, key=lambda t: (t[2], t[0]))
            assert got_ins == min(succ, key=lambda t: t[0])
        else:
            assert got_del[0] == got_ins[0] == simulate.NONE


def test_block_threads_rounds_up_and_rejects_out_of_range() -> None:
    assert [block_threads(w) for w in (1, 32, 33, 512, 1000, 1024)] == [32, 32, 64, 512, 1024, 1024]
    for bad in (0, 1025):
        with pytest.raises(ValueError, match="1..1024"):
            block_threads(bad)


# ---------------------------------------------------------------- simulation vs CPU backend
@pytest.mark.parametrize("W", WALKER_COUNTS)
def test_simulation_equals_cpu_on_unit_cycle_with_ties(W) -> None:  # noqa: ANN001
    """On a unit-weight cycle many walkers tie on R (same hop count): the lowest index must win."""
    g = ring_graph(10)
    ps = np.array([0, 0, 3, 5, 2, 7])
    qs = np.array([2, 5, 4, 9, 8, 1])
    uids = np.arange(6) * 17 + W
    T = 30
    cpu_d = walks_cpu.run_deletion(g.view(), ps, qs, uids, seed=3, T=T, W=W)
    # the cycle forces ties whenever several walkers succeed
    if W >= 32:
        assert (cpu_d[0]).all()
    _sim_vs_cpu(g, ps, qs, np.ones(6), uids, W=W, T=T, K=4.5, exempt=True)


@pytest.mark.parametrize("W", WALKER_COUNTS)
def test_simulation_equals_cpu_on_weighted_random_graph(W) -> None:  # noqa: ANN001
    rng = np.random.default_rng(100 + W)
    g = random_graph(40, 25, rng)
    ps = rng.integers(0, 40, size=8)
    qs = (ps + rng.integers(1, 39, size=8)) % 40
    ws = rng.choice([0.5, 1.0, 3.0], size=8)
    uids = rng.integers(0, 2**40, size=8)
    _sim_vs_cpu(g, ps, qs, ws, uids, W=W, T=25, K=6.0, exempt=False)
    _sim_vs_cpu(g, ps, qs, ws, uids, W=W, T=25, K=6.0, exempt=True)


def _sim_vs_cpu(g, ps, qs, ws, uids, *, W, T, K, exempt) -> None:  # noqa: ANN001
    cpu_i = walks_cpu.run_insertion(g.view(), ps, qs, ws, uids, seed=9, K=K, T=T, W=W, first_step_exempt=exempt)
    cpu_d = walks_cpu.run_deletion(g.view(), ps, qs, uids, seed=9, T=T, W=W)
    for i in range(len(ps)):
        got = simulate.insertion_block(g.start, g.deg, g.nbr, g.wt, int(ps[i]), int(qs[i]), float(ws[i]),
                                       int(uids[i]), 9, K, T, W, exempt)
        want = tuple(a[i] for a in cpu_i[:4])
        assert got[:4] == (bool(want[0]), int(want[1]), float(want[2]), int(want[3]))
        # work (got[4]) is a metric, not a result: the CPU exits early and may prove criticality by a bounded
        # search instead of walking, so it is not compared
        path = np.full(T + 1, -1, np.int64)
        got = simulate.deletion_block(g.start, g.deg, g.nbr, g.wt, int(ps[i]), int(qs[i]), int(uids[i]), 9,
                                      T, W, path)
        want = tuple(a[i] for a in cpu_d[:4])
        assert got[:4] == (bool(want[0]), int(want[1]), float(want[2]), int(want[3]))
        np.testing.assert_array_equal(path, cpu_d[5][i])


def test_walk_edge_cases_match_cpu() -> None:
    """Degree-0 start, dead ends (degree 1 after the first step), q adjacent (first-step exemption)."""
    g = DynamicGraph(6)
    g.add_edges(np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 4.0]), merge=False)  # path 0-1-2-3
    ps, qs = np.array([5, 0, 0, 0, 1]), np.array([0, 3, 1, 4, 3])
    ws, uids = np.array([1.0, 1.0, 100.0, 1.0, 1.0]), np.arange(5)
    for K in (1.75, 1.76, 10.0):
        _sim_vs_cpu(g, ps, qs, ws, uids, W=33, T=10, K=K, exempt=True)
        _sim_vs_cpu(g, ps, qs, ws, uids, W=33, T=10, K=K, exempt=False)
    # spec §12.7: path 0-1-2-3 with unit weights, edge (0, 3): R = 3; K = 3.5 skips, K = 3 adds
    h = DynamicGraph.from_edges(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.ones(3))
    for K, want in ((3.5, True), (3.0, False)):
        got = simulate.insertion_block(h.start, h.deg, h.nbr, h.wt, 0, 3, 1.0, 0, 1, K, 99, 64, True)
        assert got[0] is want


# ---------------------------------------------------------------- CudaBackend on a fake CuPy
class _FakeModule:
    def __init__(self, log: list) -> None:
        self.log = log

    def get_function(self, name: str):  # noqa: ANN201
        def kernel(grid, block, args, **_kw):  # noqa: ANN001, ANN202
            self.log.append((name, grid, block))
            simulate.launch(name, grid, block, args)

        return kernel


class FakeCupy:
    """Just enough of CuPy for CudaBackend: numpy arrays stand in for device arrays, the kernels are the
    pure-Python simulation."""

    def __init__(self) -> None:
        self.launches: list = []
        self.compiled: list = []
        self.cuda = SimpleNamespace(runtime=SimpleNamespace(deviceSynchronize=lambda: None,
                                                            getDeviceCount=lambda: 1))

    @staticmethod
    def asarray(a):  # noqa: ANN001, ANN205
        return np.array(a, copy=True)

    @staticmethod
    def asnumpy(a):  # noqa: ANN001, ANN205
        return np.array(a, copy=True)

    empty = staticmethod(np.empty)
    full = staticmethod(np.full)

    def RawModule(self, *, code: str, options: tuple):  # noqa: ANN201, N802
        self.compiled.append((code, options))
        return _FakeModule(self.launches)


def _mirror_matches(graph: DynamicGraph) -> None:
    m = _MIRRORS[id(graph)]
    n = graph.n
    np.testing.assert_array_equal(m.deg[:n], graph.deg[:n])
    for v in range(n):
        s, d = int(graph.start[v]), int(graph.deg[v])
        ms = int(m.start[v])
        np.testing.assert_array_equal(m.nbr[ms: ms + d], graph.nbr[s: s + d])
        np.testing.assert_array_equal(m.wt[ms: ms + d], graph.wt[s: s + d])


def test_cuda_backend_on_fake_cupy_equals_cpu_across_graph_edits() -> None:
    fake = FakeCupy()
    gpu, cpu = CudaBackend(cupy_module=fake), CpuBackend()
    rng = np.random.default_rng(7)
    n = 30
    g = random_graph(n, 10, rng)
    W, T, K = 40, 20, 5.0

    def batch(b: int, tag: int) -> None:
        ps = rng.integers(0, n, size=b)
        qs = (ps + rng.integers(1, n, size=b)) % n
        ws = rng.choice([0.5, 1.0, 2.0], size=b)
        uids = np.arange(b) + 1000 * tag
        for exempt in (True, False):
            _same(gpu.insertion(g, ps, qs, ws, uids, seed=4, K=K, T=T, W=W, first_step_exempt=exempt),
                  cpu.insertion(g, ps, qs, ws, uids, seed=4, K=K, T=T, W=W, first_step_exempt=exempt),
                  paths=False)
        _same(gpu.deletion(g, ps, qs, uids, seed=4, T=T, W=W), cpu.deletion(g, ps, qs, uids, seed=4, T=T, W=W),
              paths=True)
        _mirror_matches(g)

    batch(6, 0)
    assert gpu.timings["full_uploads"] == 1 and g.track_changes
    # local edits: swap-with-last removals, in-place appends and relocations inside the pool -> patches only
    us, vs, _ = g.edges()
    g.remove_edges(us[:4], vs[:4])
    g.add_edges(np.array([0, 0, 0]), np.array([5, 9, 14]), np.array([2.0, 2.0, 2.0]), merge=False)
    g.add_edges(np.array([3]), np.array([4]), np.array([1.5]), merge=True)  # weight change on existing edge
    pool = g.nbr.shape[0]
    batch(5, 1)
    assert g.nbr.shape[0] == pool
    assert gpu.timings["full_uploads"] == 1 and gpu.timings["patches"] == 1
    # many insertions at one vertex grow the pool -> relaid -> full upload
    k = np.arange(1, n)
    g.add_edges(np.zeros(k.size, np.int64) + 17, (17 + k) % n, np.ones(k.size), merge=False)
    g.add_edges(np.arange(n), np.full(n, n + 5), np.ones(n), merge=False)  # grows the vertex set too
    batch(5, 2)
    assert gpu.timings["full_uploads"] == 2
    # nothing changed -> neither patch nor upload
    before = (gpu.timings["full_uploads"], gpu.timings["patches"])
    batch(3, 3)
    assert (gpu.timings["full_uploads"], gpu.timings["patches"]) == before
    assert gpu.timings["launches"] == 4 * 3 and gpu.timings["kernel_s"] > 0
    # one compilation, with the NVRTC options, of the flattened source; block = W rounded up to 32
    assert len(fake.compiled) == 1
    code, options = fake.compiled[0]
    assert "-fmad=false" in options and "--std=c++17" in options and "#include" not in code
    assert {blk for _n, _g, blk in fake.launches} == {(64,)}
    # empty batches do not launch
    e = gpu.deletion(g, np.zeros(0), np.zeros(0), np.zeros(0), seed=1, T=T, W=W)
    assert e.paths.shape == (0, T + 1)
    assert gpu.insertion(g, [], [], [], [], seed=1, K=K, T=T, W=W, first_step_exempt=True).found.size == 0
    assert gpu.timings["launches"] == 12


def test_mirror_is_dropped_with_its_graph() -> None:
    gpu = CudaBackend(cupy_module=FakeCupy())
    g = ring_graph(8)
    gpu.deletion(g, np.array([0]), np.array([3]), np.array([1]), seed=1, T=10, W=32)
    key = id(g)
    assert key in _MIRRORS
    del g
    import gc

    gc.collect()
    assert key not in _MIRRORS
