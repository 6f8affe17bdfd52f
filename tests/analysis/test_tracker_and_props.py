"""Property tests: chordality/cliques vs networkx, balance vs brute force, incremental tracker vs batch."""

import itertools

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.analysis.balance import is_balanced, structural_balance
from sparsewire.analysis.balance_tracker import BalanceTracker
from sparsewire.analysis.chordal import (
    Pattern,
    chordal_check,
    chordal_completion,
    maximal_cliques,
    verify_hole,
    verify_peo,
)
from sparsewire.analysis.graph import SignedGraph

from .conftest import nxg


@st.composite
def simple_graphs(draw, max_n=9):
    n = draw(st.integers(0, max_n))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    h = nx.Graph()
    h.add_nodes_from(range(n))
    h.add_edges_from(chosen)
    return h


@st.composite
def signed_edges(draw, max_n=7):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(0, 12))
    edges = [(draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1)), draw(st.sampled_from([-2.0, -1.0, 1.0, 3.0])))
             for _ in range(m)]
    return n, edges


@settings(max_examples=150, deadline=None)
@given(simple_graphs(), st.sampled_from(["mcs", "lexbfs"]))
def test_chordality_and_cliques_match_networkx(h, ordering):
    gr = nxg(h)
    r = chordal_check(gr, ordering=ordering)
    assert r.conventions["ordering"] == ordering and not r.warnings
    assert r.chordal == nx.is_chordal(h)
    if r.chordal:
        assert verify_peo(gr, r.peo).is_peo
        expected = {frozenset(c) for c in nx.find_cliques(h)} if h.number_of_nodes() else set()
        assert {frozenset(c) for c in r.maximal_cliques} == expected
        assert maximal_cliques(gr).treewidth == (max((len(c) for c in nx.find_cliques(h)), default=0) - 1)
    else:
        pat = Pattern.from_pairs(gr.n, gr.src, gr.dst)
        idx = [gr.index_of(x) for x in r.hole]
        assert verify_hole(pat, idx)
        assert nx.is_chordal(h.subgraph(r.hole)) is False and h.subgraph(r.hole).number_of_edges() == len(r.hole)
        c = chordal_completion(gr)
        full = h.copy()
        full.add_edges_from(c.fill_edges)
        assert nx.is_chordal(full) and verify_peo(nxg(full), c.elimination_order).is_peo
        for e in c.fill_edges:
            less = full.copy()
            less.remove_edge(*e)
            assert not nx.is_chordal(less)


def _is_lexbfs_order(h: nx.Graph, order: list) -> bool:
    """The Lex-BFS characterisation (Corneil): for a < b < c in the order with ac an edge and ab not, some
    d < a is adjacent to b and not to c."""
    pos = {x: i for i, x in enumerate(order)}
    for a, b, c in itertools.combinations(order, 3):
        if h.has_edge(a, c) and not h.has_edge(a, b):
            if not any(pos[d] < pos[a] and h.has_edge(d, b) and not h.has_edge(d, c) for d in order):
                return False
    return True


@settings(max_examples=200, deadline=None)
@given(simple_graphs(max_n=8))
def test_lexbfs_visit_order_is_a_lexbfs(h):
    """The partition-refinement kernel produces a genuine Lex-BFS order (so its reverse is a PEO exactly on
    chordal graphs), also on non-chordal and disconnected graphs."""
    from sparsewire.analysis import _chordal_kernels as kern  # noqa: PLC0415

    gr = nxg(h)
    pat = Pattern.from_pairs(gr.n, gr.src, gr.dst)
    order = kern.lexbfs_visit_order(pat.ptr, pat.nbr, pat.n).tolist() if gr.n else []
    assert sorted(order) == list(range(gr.n))
    relabel = nx.relabel_nodes(h, {x: gr.index_of(x) for x in h.nodes})
    assert _is_lexbfs_order(relabel, order)


def brute_force_balanced(n, edges):
    for sig in itertools.product([1, -1], repeat=n):
        if all(sig[a] * sig[b] == (1 if w > 0 else -1) for a, b, w in edges if a != b):
            return True
    return False


def brute_frustration(gr):
    best = np.inf
    s = np.where(gr.weight > 0, 1, -1)
    for sig in itertools.product([1, -1], repeat=gr.n):
        sig = np.array(sig)
        best = min(best, float(np.abs(gr.weight)[sig[gr.src] * sig[gr.dst] != s].sum()))
    return best


@settings(max_examples=150, deadline=None)
@given(signed_edges(), st.booleans())
def test_balance_vs_brute_force(ne, directed):
    n, edges = ne
    gr = SignedGraph.from_arrays(n, [e[0] for e in edges], [e[1] for e in edges], [e[2] for e in edges],
                                 directed=directed)
    r = structural_balance(gr)
    triples = list(zip(gr.src.tolist(), gr.dst.tolist(), gr.weight.tolist(), strict=True))
    assert r.balanced == brute_force_balanced(n, triples)
    if r.balanced:
        assert r.frustrated_edges == [] and r.frustration["value"] == 0
    else:
        check_cycle(r.negative_cycle, r.negative_cycle_edges, triples)
        assert r.frustration["exact"] and abs(r.frustration["value"] - brute_frustration(gr)) < 1e-9
        assert r.frustration["lower_bound"] <= r.frustration["value"] + 1e-9


def check_cycle(cycle, cycle_edges, triples):
    """The witness is a closed walk of existing edges, its vertices distinct, sign product negative."""
    present = {(a, b, w) for a, b, w in triples}
    assert len(cycle) == len(cycle_edges) >= 2 and len(set(cycle)) == len(cycle)
    prod = 1.0
    for k, e in enumerate(cycle_edges):
        assert (e["source"], e["target"], e["weight"]) in present
        x, y = cycle[k], cycle[(k + 1) % len(cycle)]
        assert {e["source"], e["target"]} == {x, y}
        prod *= np.sign(e["weight"])
    assert prod < 0


@settings(max_examples=100, deadline=None)
@given(signed_edges(max_n=8))
def test_tracker_matches_batch_after_every_insertion(ne):
    n, edges = ne
    t = BalanceTracker()
    seen = []
    for a, b, w in edges:
        up = t.add_edge(a, b, w)
        seen.append((a, b, w))
        gr = SignedGraph.from_arrays(n, [e[0] for e in seen], [e[1] for e in seen], [e[2] for e in seen],
                                     directed=True)
        # a multigraph stream: parallel arcs are separate cycles only when their signs differ
        batch = brute_force_balanced(n, seen)
        assert up.balanced == batch
        if gr.m and not any(w2["code"] == "cancelled_edges_dropped" for w2 in gr.warnings):
            assert is_balanced(gr) == batch or any(w2["code"] == "parallel_edges_merged" for w2 in gr.warnings)
        if up.changed:
            check_cycle(up.negative_cycle, up.negative_cycle_edges, seen)
    rebuilt = t.rebuild(edges[: len(edges) // 2])
    assert rebuilt.balanced == brute_force_balanced(n, edges[: len(edges) // 2])


def test_tracker_digon_witness():
    t = BalanceTracker()
    assert t.add_edge("a", "b", 1).balanced
    up = t.add_edge("b", "a", -1)
    assert not up.balanced and up.changed and sorted(up.negative_cycle) == ["a", "b"]
