"""Spec §4 trap cases C1–C10 plus input validation."""

import networkx as nx
import pytest

from sparsewire.analysis.chordal import (
    chordal_check,
    chordal_completion,
    chordal_treewidth,
    maximal_cliques,
    treewidth_bounded,
    verify_peo,
)
from sparsewire.analysis.consensus import consensus
from sparsewire.analysis.graph import SignedGraph
from sparsewire.errors import InvalidInputError, NotChordalError, TooLargeError

from .conftest import g, nxg


def test_c1_empty_graph():
    r = chordal_check(SignedGraph.from_request([], [], directed=False))
    assert r.chordal and r.peo == [] and r.maximal_cliques == [] and r.treewidth == -1


def test_c2_self_loop_pentagon():
    edges = [(i, (i + 1) % 5, 1) for i in range(5)] + [(0, 0, 1)]
    gr = g(edges, nodes=list(range(5)))
    assert any(w["code"] == "self_loop_dropped" for w in gr.warnings)
    c = chordal_completion(gr)
    assert len(c.fill_edges) == 2 and c.minimal
    h = nx.cycle_graph(5)
    h.add_edges_from(c.fill_edges)
    assert nx.is_chordal(h)
    assert verify_peo(nxg(h), c.elimination_order).is_peo


@pytest.mark.parametrize("graph", [nx.Graph([(1, 2), (1, 3)]), nx.complete_graph(4)])
def test_c3_already_chordal_real_peo(graph):
    c = chordal_completion(nxg(graph))
    assert c.already_chordal and c.fill_edges == [] and sorted(c.elimination_order) == sorted(graph.nodes)
    assert verify_peo(nxg(graph), c.elimination_order).is_peo


def test_c4_wheel_is_not_chordal():
    r = chordal_check(nxg(nx.wheel_graph(10)))
    assert not r.chordal and sorted(r.hole) == list(range(1, 10))
    assert all(abs(a - b) in (1, 8) for a, b in zip(r.hole, r.hole[1:] + r.hole[:1], strict=False))
    assert r.treewidth_upper_bound == 3


def test_c5_star_peo():
    star = nxg(nx.star_graph(3))
    v = verify_peo(star, [0, 1, 2, 3])
    assert not v.is_peo and v.violation == {"vertex": 0, "parent": 1, "non_adjacent_pair": [1, 2]}
    r = chordal_check(star)
    assert r.chordal and r.peo[-1] == 0 and verify_peo(star, r.peo).is_peo
    assert r.peo == r.visit_order[::-1]


def test_c6_treewidth_conventions():
    assert chordal_treewidth(SignedGraph.from_request([], [], directed=False)) == -1
    assert chordal_treewidth(SignedGraph.from_request([0], [], directed=False)) == 0
    assert chordal_treewidth(SignedGraph.from_request([0, 1, 2], [], directed=False)) == 0


def test_c7_complete_plus_isolated():
    h = nx.complete_graph(5)
    h.add_node(99)
    assert chordal_treewidth(nxg(h)) == 4
    assert treewidth_bounded(nxg(h), 10) == {"status": "ok", "treewidth": 4, "exact": True, "bound": 10}


def test_c8_bound_exceeded():
    assert treewidth_bounded(nxg(nx.complete_graph(7)), 5) == {"status": "bound_exceeded", "bound": 5,
                                                               "lower_bound": 6}
    res = treewidth_bounded(nxg(nx.cycle_graph(6)), 1)
    assert res["status"] in ("bound_exceeded", "undecided")
    assert treewidth_bounded(nxg(nx.cycle_graph(6)), 2)["status"] == "within_bound"


def test_c9_algebraic_connectivity_variant():
    neg = g([(0, 1, -1), (1, 2, -1), (0, 2, -1)])
    assert consensus(neg, variant="unsigned").algebraic_connectivity == {"variant": "unsigned", "lambda_min": 0.0,
                                                                         "value": 3.0}
    ac = consensus(neg).algebraic_connectivity
    assert ac["value"] is None and ac["lambda_min"] == pytest.approx(1.0)


def test_c10_no_rank_vectors():
    r = chordal_check(nxg(nx.path_graph(4))).to_dict()
    assert "alpha" not in r and sorted(r["peo"]) == [0, 1, 2, 3] and r["visit_order"] == r["peo"][::-1]


def test_cliques_not_chordal_raises_with_hole():
    with pytest.raises(NotChordalError) as ei:
        maximal_cliques(nxg(nx.cycle_graph(5)))
    assert sorted(ei.value.details["hole"]) == [0, 1, 2, 3, 4]
    with pytest.raises(NotChordalError):
        chordal_treewidth(nxg(nx.cycle_graph(4)))


def test_verify_peo_input_errors():
    v = verify_peo(nxg(nx.path_graph(3)), [0, 0, 7])
    assert not v.is_peo and v.input_errors == {"missing": [1, 2], "duplicates": [0], "unknown": [7]}


@pytest.mark.parametrize(("edge", "msg"), [
    ({"source": 0, "target": 9, "weight": 1}, "unknown node 9"),
    ({"source": 0, "target": 1, "weight": float("nan")}, "non-finite"),
    ({"source": 0, "target": 1, "weight": 0}, "zero weight"),
    ({"source": 0, "target": 1, "weight": 1, "log_odds": 2}, "exactly one"),
])
def test_invalid_edges(edge, msg):
    with pytest.raises(InvalidInputError, match=msg):
        SignedGraph.from_request([0, 1], [edge])


def test_parallel_edges_merged_and_digon_reported():
    gr = SignedGraph.from_request([0, 1], [{"source": 0, "target": 1, "weight": 1},
                                           {"source": 0, "target": 1, "weight": 2},
                                           {"source": 1, "target": 0, "weight": -1}], directed=True)
    codes = {w["code"] for w in gr.warnings}
    assert codes == {"parallel_edges_merged", "opposite_sign_digon"} and gr.m == 2 and 3.0 in gr.weight


def test_log_odds_mapping():
    gr = SignedGraph.from_request([0, 1, 2], [{"source": 0, "target": 1, "log_odds": 5.0},
                                              {"source": 1, "target": 2, "log_odds": -0.1},
                                              {"source": 2, "target": 0, "log_odds": -3.0}],
                                  options={"w_max": 2.0, "tau": 0.5})
    assert gr.m == 2 and sorted(gr.weight.tolist()) == [-2.0, 2.0]
    assert any(w["code"] == "dead_band" for w in gr.warnings)
    rn = SignedGraph.from_request([0, 1, 2], [{"source": 0, "target": 2, "log_odds": 1.0},
                                              {"source": 1, "target": 2, "log_odds": -3.0}],
                                  options={"row_normalize": True})
    assert sorted(rn.weight.tolist()) == pytest.approx([-0.75, 0.25])


def test_string_ids_preserved():
    gr = g([("a", "b", 1), ("b", "c", -1)], nodes=["a", "b", "c"])
    r = consensus(gr, initial_state={"a": 1, "b": 1, "c": -1})
    assert r.regime == "bipartite_consensus"


def test_too_large():
    n = 2001
    gr = SignedGraph.from_arrays(n, list(range(n - 1)), list(range(1, n)))
    with pytest.raises(TooLargeError):
        consensus(gr)
