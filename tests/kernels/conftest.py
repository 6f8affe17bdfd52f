"""Shared fixtures for the GPU-kernel tests (no GPU needed unless marked ``gpu``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.kernels import hostcheck

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "undirected"


def cuda_device_present() -> bool:
    from sparsewire.engine.backend import cuda_available

    return cuda_available()


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    if cuda_device_present():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU visible to CuPy (none here)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kernel_build_dir(tmp_path_factory) -> Path:  # noqa: ANN001
    return tmp_path_factory.mktemp("sw_kernels")


@pytest.fixture(scope="session")
def host_exe(kernel_build_dir) -> Path:  # noqa: ANN001
    if not shutil.which("g++"):
        pytest.skip("g++ not found on PATH: cannot build host_check.cpp")
    return hostcheck.build(kernel_build_dir, "g++")


def load_edges(name: str, ball: int | None = None) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Undirected edges (u < v) of ``../shared/data/undirected/<name>.mtx.gz``; weights are |a_uv| (1 for
    pattern files); ``ball`` keeps the subgraph induced by the first ``ball`` vertices of a BFS from vertex 0
    (relabelled in BFS order)."""
    path = DATA / f"{name}.mtx.gz"
    if not path.exists():
        pytest.skip(f"real graph data not found: {path} (the ../shared/data checkout is absent)")
    a = sp.coo_array(scipy.io.mmread(path))
    u, v, w = a.row.astype(np.int64), a.col.astype(np.int64), np.abs(a.data.astype(np.float64))
    keep = (u != v) & (w > 0)
    u, v, w = np.minimum(u, v)[keep], np.maximum(u, v)[keep], w[keep]
    n = a.shape[0]
    if ball is not None:
        a = sp.coo_array((w, (u, v)), shape=(n, n)).tocsr()
        order = sp.csgraph.breadth_first_order(a + a.T, 0, directed=False, return_predecessors=False)[:ball]
        label = np.full(n, -1, np.int64)
        label[order] = np.arange(order.size)
        u, v = label[u], label[v]
        keep = (u >= 0) & (v >= 0)
        u, v, w, n = np.minimum(u, v)[keep], np.maximum(u, v)[keep], w[keep], order.size
    key = u * n + v
    _, first = np.unique(key, return_index=True)
    return n, u[first], v[first], w[first]


def spanning_sparsifier(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, rng: np.random.Generator,
                        extra: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sparsifier-like subgraph: a maximum-weight spanning forest plus ``extra * n`` random other edges."""
    a = sp.coo_array((-(w + 1.0), (u, v)), shape=(n, n)).tocsr()
    t = sp.coo_array(sp.csgraph.minimum_spanning_tree(a))
    tu, tv = np.minimum(t.row, t.col).astype(np.int64), np.maximum(t.row, t.col).astype(np.int64)
    in_tree = np.isin(u * n + v, tu * n + tv)
    rest = np.flatnonzero(~in_tree)
    pick = rng.choice(rest, size=min(rest.size, int(extra * n)), replace=False)
    sel = np.concatenate([np.flatnonzero(in_tree), pick])
    sel.sort()
    return u[sel], v[sel], w[sel]


def local_pairs(g: DynamicGraph, count: int, rng: np.random.Generator, hops: tuple[int, int] = (2, 4)
                ) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs (p, q) with q reached from p by a 2-4 hop random walk in ``g``, q != p."""
    ps, qs = [], []
    deg = g.deg
    while len(ps) < count:
        p = int(rng.integers(g.n))
        if deg[p] == 0:
            continue
        cur = p
        for _ in range(int(rng.integers(hops[0], hops[1] + 1))):
            nb, _w = g.neighbors(cur)
            cur = int(nb[rng.integers(nb.size)])
        if cur != p:
            ps.append(p)
            qs.append(cur)
    return np.array(ps, np.int64), np.array(qs, np.int64)


def ring_graph(n: int, w: float = 1.0) -> DynamicGraph:
    us = np.arange(n)
    return DynamicGraph.from_edges(n, us, (us + 1) % n, np.full(n, w))


def random_graph(n: int, extra: int, rng: np.random.Generator, weights=(0.5, 1.0, 2.0, 3.7)) -> DynamicGraph:  # noqa: ANN001
    """A connected graph: a ring plus ``extra`` random chords, weights drawn from ``weights``."""
    us, vs = list(range(n)), [(i + 1) % n for i in range(n)]
    seen = {(min(a, b), max(a, b)) for a, b in zip(us, vs, strict=True)}
    while len(seen) < n + extra:
        a, b = (int(x) for x in rng.integers(n, size=2))
        if a != b and (min(a, b), max(a, b)) not in seen:
            seen.add((min(a, b), max(a, b)))
            us.append(a)
            vs.append(b)
    return DynamicGraph.from_edges(n, np.array(us), np.array(vs), rng.choice(weights, size=len(us)))
