"""The kernels' header code (sw_rng.cuh + sw_walk.cuh, compiled for the host by g++) against the numba CPU
backend on real graphs: flags, winners, steps, resistances (bit for bit) and deletion paths must be equal.

Per graph 400 insertion and 400 deletion updates; three graphs, so 1,200 of each in total, each compared
under both host strategies (kernel-style reduction of unpruned walkers, and the CPU's sequential order).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.kernels import hostcheck, walks_cpu

from .conftest import load_edges, local_pairs, spanning_sparsifier

N_UPDATES = 400
GRAPHS = [
    # name, induced-subgraph size, K, weights drawn for inserted edges
    ("fe_4elt2", None, 10.0, (1.0, 2.0, 3.0)),
    ("delaunay_n14", None, 10.0, (1.0, 2.0, 3.0)),
    ("G3_circuit", 80_000, 10.0, (1.0, 2.0, 10.0, 50.0)),  # BFS ball, weighted: |a_uv| in [0.33, 1176]
]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float64).view(np.int64)


def _assert_same(cpu, host, what: str, *, paths: bool) -> None:  # noqa: ANN001
    found, steps, resist, winner = cpu[:4]
    np.testing.assert_array_equal(host.found, found, err_msg=f"{what}: found")
    np.testing.assert_array_equal(host.winner, winner, err_msg=f"{what}: winner")
    np.testing.assert_array_equal(host.steps, steps, err_msg=f"{what}: steps")
    np.testing.assert_array_equal(_bits(host.resistance), _bits(resist), err_msg=f"{what}: resistance bits")
    if paths:
        np.testing.assert_array_equal(host.paths, cpu[5], err_msg=f"{what}: paths")


@pytest.fixture(scope="module", params=GRAPHS, ids=[g[0] for g in GRAPHS])
def case(request):  # noqa: ANN001, ANN201
    name, nmax, K, wchoice = request.param
    n, u, v, w = load_edges(name, nmax)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = DynamicGraph.from_edges(n, u, v, w)
    hu, hv, hw = spanning_sparsifier(n, u, v, w, rng)
    h = DynamicGraph.from_edges(n, hu, hv, hw)
    return name, g, h, K, wchoice, rng


@pytest.mark.data
def test_insertions_equal_cpu(case, host_exe) -> None:  # noqa: ANN001
    name, g, h, K, wchoice, rng = case
    ps, qs = local_pairs(g, N_UPDATES, rng)
    # a few direct H neighbours exercise the first-step exemption
    hp, _ = h.neighbors(int(ps[0]))
    qs[:5] = hp[0]
    ps[:5] = ps[0]
    ws = rng.choice(wchoice, size=N_UPDATES)
    uids = rng.integers(0, 2**62, size=N_UPDATES)
    for W, T, exempt in ((512, 100, True), (100, 99, False)):
        cpu = walks_cpu.run_insertion(h.view(), ps, qs, ws, uids, seed=11, K=K, T=T, W=W,
                                      first_step_exempt=exempt)
        assert 0 < cpu[0].sum() < N_UPDATES, "want both outcomes in the sample"
        for strategy in ("kernel", "sequential"):
            host = hostcheck.run(host_exe, h.view(), ps, qs, ws, uids, deletion=False, seed=11, K=K, T=T, W=W,
                                 first_step_exempt=exempt, strategy=strategy)
            _assert_same(cpu, host, f"{name} insertion W={W} T={T} {strategy}", paths=False)
        # the kernel strategy runs every walker: at least the CPU's early-exit work
        assert (host.work >= 0).all()


@pytest.mark.data
def test_deletions_equal_cpu(case, host_exe) -> None:  # noqa: ANN001
    name, g, h, _K, _w, rng = case
    hu, hv, _hw = h.edges()
    pick = rng.choice(hu.size, size=N_UPDATES, replace=False)
    ps, qs = hu[pick].astype(np.int64), hv[pick].astype(np.int64)
    gd = g.copy()
    gd.remove_edges(ps, qs)  # the batch is removed from G first (swap-with-last reorders blocks)
    uids = np.arange(N_UPDATES, dtype=np.int64) + 1_000_000
    for W, T in ((512, 100), (333, 60)):
        cpu = walks_cpu.run_deletion(gd.view(), ps, qs, uids, seed=5, T=T, W=W)
        assert cpu[0].sum() > N_UPDATES // 2
        for strategy in ("kernel", "sequential"):
            host = hostcheck.run(host_exe, gd.view(), ps, qs, None, uids, deletion=True, seed=5, T=T, W=W,
                                 strategy=strategy)
            _assert_same(cpu, host, f"{name} deletion W={W} T={T} {strategy}", paths=True)
        # recovered path endpoints and edges exist in G
        ok = cpu[0]
        rows = cpu[5][ok]
        st = cpu[1][ok]
        assert (rows[:, 0] == ps[ok]).all()
        assert (rows[np.arange(rows.shape[0]), st] == qs[ok]).all()
        a, b = rows[0, : st[0]], rows[0, 1 : st[0] + 1]
        assert (gd.weights(a, b) > 0).all()


def test_host_check_builds_with_nvcc(kernel_build_dir) -> None:  # noqa: ANN001
    """The same host program also builds with nvcc acting as a host compiler (-x cu, -fmad=false)."""
    if "nvcc" not in hostcheck.available_compilers():
        pytest.skip("nvcc not found on PATH")
    exe = hostcheck.build(kernel_build_dir, "nvcc")
    g = DynamicGraph.from_edges(6, np.arange(6), (np.arange(6) + 1) % 6, np.ones(6))
    ps, qs, uids = np.array([0, 1]), np.array([3, 2]), np.array([1, 2])
    host = hostcheck.run(exe, g.view(), ps, qs, None, uids, deletion=True, seed=1, T=20, W=33)
    cpu = walks_cpu.run_deletion(g.view(), ps, qs, uids, seed=1, T=20, W=33)
    _assert_same(cpu, host, "nvcc host build", paths=True)
