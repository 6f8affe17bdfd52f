"""DynamicGraph: edge add/remove/merge/lookup, growth, compaction, list round trips, change tracking."""

from __future__ import annotations

import numpy as np

from sparsewire.engine import dyngraph
from sparsewire.engine.dyngraph import DynamicGraph


def _edge_dict(g: DynamicGraph) -> dict[tuple[int, int], float]:
    return {(int(a), int(b)): float(c) for a, b, c in zip(*g.edges(), strict=True)}


def _check(g: DynamicGraph, ref: dict[tuple[int, int], float]) -> None:
    assert _edge_dict(g) == ref and g.m == len(ref)
    deg, nbr, wt = g.lists()
    assert int(deg.sum()) == nbr.shape[0] == 2 * len(ref)
    src = np.repeat(np.arange(g.n), deg)
    for a, b, c in zip(src.tolist(), nbr.tolist(), wt.tolist(), strict=True):
        assert ref[(min(a, b), max(a, b))] == c
    for v in range(g.n):
        nb, w = g.neighbors(v)
        assert nb.shape[0] == deg[v] == len(set(nb.tolist()))


def test_add_remove_merge_lookup() -> None:
    g = DynamicGraph(4)
    out = g.add_edges(np.array([0, 2, 1]), np.array([1, 3, 0]), np.array([1.0, 2.0, 0.5]), merge=True)
    assert out.tolist() == [1, 1, 0]
    assert g.weight(0, 1) == g.weight(1, 0) == 1.5 and g.weight(2, 3) == 2.0 and g.weight(0, 3) == 0.0
    assert g.add_edges(np.array([1]), np.array([0]), np.array([4.0]), merge=False).tolist() == [0]
    assert g.weight(0, 1) == 4.0
    assert g.weights(np.array([0, 3, 9, 0]), np.array([1, 2, 0, 2])).tolist() == [4.0, 2.0, 0.0, 0.0]
    assert g.remove_edges(np.array([1, 0, 5]), np.array([0, 1, 7])).tolist() == [4.0, 0.0, 0.0]
    assert not g.has_edge(0, 1) and g.m == 1
    _check(g, {(2, 3): 2.0})


def test_swap_with_last_removal_order() -> None:
    g = DynamicGraph.from_edges(5, np.array([0, 0, 0, 0]), np.array([1, 2, 3, 4]), np.ones(4))
    assert g.neighbors(0)[0].tolist() == [1, 2, 3, 4]
    g.remove_edges(np.array([0]), np.array([2]))
    assert g.neighbors(0)[0].tolist() == [1, 4, 3]  # the last entry moved into the hole
    g.add_edges(np.array([2]), np.array([0]), np.array([3.0]), merge=False)
    assert g.neighbors(0)[0].tolist() == [1, 4, 3, 2]
    assert g.weight(0, 4) == 1.0 and g.weight(0, 2) == 3.0


def test_random_operations_against_a_dict() -> None:
    rng = np.random.default_rng(0)
    g = DynamicGraph(10)
    ref: dict[tuple[int, int], float] = {}
    for _ in range(60):
        k = int(rng.integers(1, 40))
        u, v = rng.integers(0, 50, size=k), rng.integers(0, 50, size=k)
        keep = u != v
        u, v = u[keep], v[keep]
        if rng.random() < 0.6:
            w = rng.choice([0.5, 1.0, 2.0], size=u.shape[0])
            merge = bool(rng.random() < 0.5)
            g.add_edges(u, v, w, merge=merge)
            for a, b, c in zip(u.tolist(), v.tolist(), w.tolist(), strict=True):
                e = (min(a, b), max(a, b))
                ref[e] = ref.get(e, 0.0) + c if merge else c
        else:
            out = g.remove_edges(u, v)
            for a, b, c in zip(u.tolist(), v.tolist(), out.tolist(), strict=True):
                assert ref.pop((min(a, b), max(a, b)), 0.0) == c
        _check(g, ref)
    assert g.n == 50


def test_growth_of_vertices_and_pool_and_compaction() -> None:
    g = DynamicGraph(2)
    hub_nbrs = np.arange(1, 3001)
    for chunk in np.array_split(hub_nbrs, 30):  # many inserts at one vertex: its block relocates, pool grows
        g.add_edges(np.zeros(chunk.shape[0], np.int64), chunk, np.ones(chunk.shape[0]), merge=False)
    assert g.n == 3001 and g.m == 3000 and g.deg[0] == 3000
    assert g.neighbors(0)[0].tolist() == hub_nbrs.tolist()
    ref = {(0, int(x)): 1.0 for x in hub_nbrs}
    # churn: remove and re-add at other vertices until relocations leave dead space, forcing compaction
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.integers(1, 3001, size=200)
        b = rng.integers(1, 3001, size=200)
        ok = a != b
        a, b = a[ok], b[ok]
        g.add_edges(a, b, np.full(a.shape[0], 2.0), merge=False)
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            ref[(min(x, y), max(x, y))] = 2.0
    _check(g, ref)
    cap_total = int(g.cap[: g.n].sum())
    assert int(g.meta[1]) <= g.nbr.shape[0]  # top within the pool
    assert cap_total <= g.nbr.shape[0]


def test_compaction_keeps_block_order(monkeypatch) -> None:  # noqa: ANN001
    calls = []
    real = dyngraph._k_compact

    def spy(*args):  # noqa: ANN002, ANN202
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(dyngraph, "_k_compact", spy)
    # a tight layout (no slack): every vertex relocates on its first insert, stranding its old block
    g = DynamicGraph.from_edges(200, np.arange(0, 200, 2), np.arange(1, 200, 2), np.ones(100), slack=0)
    ref = {(i, i + 1): 1.0 for i in range(0, 200, 2)}
    orders = []
    for i in range(3):
        us = np.arange(200)
        vs = (us + 7 + i) % 200
        g.add_edges(us, vs, np.full(200, 2.0), merge=False)
        for x, y in zip(us.tolist(), vs.tolist(), strict=True):
            ref[(min(x, y), max(x, y))] = 2.0
        orders.append([g.neighbors(v)[0].tolist() for v in range(200)])
    _check(g, ref)
    for v in range(200):  # compaction never reorders a block: earlier orders are prefixes of later ones
        assert orders[2][v][: len(orders[0][v])] == orders[0][v]
    assert calls, "the pool was never compacted"
    assert int(g.meta[4]) <= int(g.cap[: g.n].sum())  # dead space bounded after compaction


def test_from_lists_identity_and_copy() -> None:
    rng = np.random.default_rng(2)
    g = DynamicGraph(30)
    g.add_edges(rng.integers(0, 15, 80), rng.integers(15, 30, 80), rng.random(80) + 0.1, merge=True)
    g.remove_edges(rng.integers(0, 15, 30), rng.integers(15, 30, 30))
    deg, nbr, wt = g.lists()
    h = DynamicGraph.from_lists(g.n, deg, nbr, wt)
    for x, y in zip(h.lists(), (deg, nbr, wt), strict=True):
        assert np.array_equal(x, y)
    assert h.m == g.m and _edge_dict(h) == _edge_dict(g)
    # the rebuilt graph evolves identically (growth, append, swap-with-last removal)
    first = (int(np.repeat(np.arange(g.n), deg)[0]), int(nbr[0]))
    for k in (g, h):
        k.add_edges(np.array([3, 40]), np.array([29, 2]), np.array([1.0, 2.0]), merge=False)
        k.remove_edges(np.array([first[0]]), np.array([first[1]]))
    for x, y in zip(h.lists(), g.lists(), strict=True):
        assert np.array_equal(x, y)
    c = g.copy()
    c.add_edges(np.array([0]), np.array([1]), np.array([1.0]), merge=False)
    assert not g.has_edge(0, 1) and c.has_edge(0, 1)


def test_take_changes() -> None:
    g = DynamicGraph.from_edges(6, np.array([0, 1]), np.array([1, 2]), np.ones(2))
    g.track_changes = True
    touched, relaid = g.take_changes()
    assert relaid and touched.size == 0
    g.add_edges(np.array([3]), np.array([4]), np.array([1.0]), merge=False)
    g.remove_edges(np.array([1, 5]), np.array([2, 9]))  # (5, 9): out of range, not touched
    touched, relaid = g.take_changes()
    assert touched.tolist() == [1, 2, 3, 4]
    assert g.take_changes()[0].size == 0 and not g.take_changes()[1]
    g.ensure_vertices(10_000)  # vertex arrays reallocated: the layout changed
    assert g.take_changes()[1]


def test_components_match_scipy_through_edits() -> None:
    """The component count (isolated vertices count) equals scipy's on random graphs, after deletions too."""
    import scipy.sparse as sp  # noqa: PLC0415
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

    assert DynamicGraph(0).components() == 0
    assert DynamicGraph(3).components() == 3
    rng = np.random.default_rng(11)
    for n, m in ((2, 1), (10, 4), (60, 40), (300, 250), (300, 900)):
        pairs = rng.integers(0, n, (m, 2))
        pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
        g = DynamicGraph.from_edges(n, pairs[:, 0], pairs[:, 1], np.ones(len(pairs)))
        for step in range(2):
            if step:  # then without a third of the edges
                g.remove_edges(pairs[: len(pairs) // 3, 0], pairs[: len(pairs) // 3, 1])
                pairs = pairs[len(pairs) // 3:]
            a = sp.csr_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
            assert g.components() == connected_components(a, directed=False)[0], (n, m, step)
