"""Synthetic update streams (spec ``dygrass.md`` §7): local insertions, non-bridge H deletions, bridges."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.engine.h0 import initial_sparsifier
from sparsewire.engine.streams import bridges, local_insertions, sparsifier_deletions


def _random_graph(n: int, m: int, seed: int) -> DynamicGraph:
    rng = np.random.default_rng(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < m:
        a, b = sorted(int(x) for x in rng.integers(n, size=2))
        if a != b:
            pairs.add((a, b))
    e = np.array(sorted(pairs))
    return DynamicGraph.from_edges(n, e[:, 0], e[:, 1], np.ones(e.shape[0]))


def test_local_insertions_are_new_local_edges(make_grid) -> None:  # noqa: ANN001
    n, u, v, w = make_grid(25, 25)
    g = DynamicGraph.from_edges(n, u, v, w)
    iu, iv, iw = local_insertions(g, 150, seed=3)
    assert iu.shape[0] == 150 and iv.shape == iw.shape == (150,)
    assert (iu < iv).all()  # canonical, so no self-loops
    assert np.unique(iu * n + iv).shape[0] == 150  # no duplicates
    assert (g.weights(iu, iv) == 0).all()  # not existing edges
    assert set(np.unique(iw).tolist()) <= {1.0, 2.0, 3.0}
    hops = dijkstra(g.to_csr(), indices=iu, unweighted=True)[np.arange(150), iv]
    assert hops.min() >= 2 and hops.max() <= 4
    again = local_insertions(g, 150, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((iu, iv, iw), again, strict=True))


def test_local_insertions_on_a_tiny_graph_return_fewer() -> None:
    g = DynamicGraph.from_edges(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.ones(3))  # path
    iu, iv, _ = local_insertions(g, 50, seed=0)
    assert set(zip(iu.tolist(), iv.tolist(), strict=True)) <= {(0, 2), (1, 3), (0, 3)}


def test_sparsifier_deletions_are_non_bridge_h_edges() -> None:
    g = _random_graph(300, 420, 5)
    u, v, w = g.edges()
    mask = initial_sparsifier(g.n, u, v, w, offtree_ratio=0.2, seed=0)
    h = DynamicGraph.from_edges(g.n, u[mask], v[mask], w[mask])
    du, dv = sparsifier_deletions(g, h, 40, seed=1)
    assert du.shape[0] == 40 and np.unique(du * 300 + dv).shape[0] == 40
    assert (h.weights(du, dv) > 0).all()
    nx_bridges = {tuple(sorted(e)) for e in nx.bridges(nx.from_scipy_sparse_array(g.to_csr()))}
    assert not nx_bridges & set(zip(du.tolist(), dv.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(6))
def test_bridges_equal_networkx(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 200))
    g = _random_graph(n, int(n * rng.uniform(0.6, 1.6)), seed)  # sparse: many bridges, several components
    # scramble the block order with removals and re-adds so the DFS sees non-trivial neighbour orders
    u, v, w = g.edges()
    k = u.shape[0] // 3
    g.remove_edges(u[:k], v[:k])
    g.add_edges(v[:k], u[:k], w[:k], merge=False)
    bu, bv = bridges(g)
    got = set(zip(bu.tolist(), bv.tolist(), strict=True))
    assert len(got) == bu.shape[0]
    a = sp.csr_array(g.to_csr())
    ref = {tuple(sorted(e)) for e in nx.bridges(nx.from_scipy_sparse_array(a))}
    assert got == ref
