"""SDK calls for the agreement and chordality checks, against a real service."""

from __future__ import annotations

import pytest

from sparsewire.clients.sdk import InvalidRequest


def test_stateless_checks_return_certificates(client) -> None:  # noqa: ANN001
    tri = [(0, 1, 1.0), (1, 2, -1.0), (0, 2, -1.0)]
    balance = client.analyze("balance", tri, directed=False)
    assert balance["balanced"] is True
    assert balance["camps"] == [{"plus": [0, 1], "minus": [2]}]
    consensus = client.analyze("consensus", tri, directed=False, options={"initial_state": [3, 1, -2]})
    assert consensus["regime"] == "bipartite_consensus"
    assert consensus["predicted_limit"] == pytest.approx([2, 2, -2])
    hole = client.analyze("chordal", [(0, 1), (1, 2), (2, 3), (3, 0)], directed=False)
    assert hole["chordal"] is False and sorted(hole["hole"]) == [0, 1, 2, 3]
    star = [("c", "a"), ("c", "b"), ("c", "d")]
    peo = client.analyze("verify-peo", star, directed=False, options={"ordering": ["c", "a", "b", "d"]})
    assert peo["is_peo"] is False and peo["violation"]["vertex"] == "c"


def test_stored_graph_checks(client, graph_name: str) -> None:  # noqa: ANN001
    client.create_graph(graph_name, params={"offtree_ratio": 0.0})
    client.updates(graph_name, [("insert", i, (i + 1) % 6, 1.0) for i in range(6)])
    whole = client.graph_analysis(graph_name, "chordal")
    assert whole["chordal"] is False and len(whole["hole"]) == 6
    assert client.graph_analysis(graph_name, "chordal", target="sparsifier")["chordal"] is False
    assert client.graph_analysis(graph_name, "balance")["balanced"] is True
    fill = client.graph_analysis(graph_name, "chordal-completion")
    assert len(fill["fill_edges"]) == 3 and fill["minimal"] is True  # a C6 needs n - 3 chords
    peo = client.graph_analysis(graph_name, "verify-peo", ordering=fill["elimination_order"])
    assert peo["is_peo"] is False and peo["graph"] == graph_name  # a PEO of the completion, not of the C6
    assert client.graph_analysis(graph_name, "verify-peo", options={"ordering": [0, 1, 2, 3, 4, 5]})["is_peo"] is False
    cons = client.graph_analysis(graph_name, "consensus", options={"initial_state": {"0": 6.0}})
    assert cons["regime"] == "consensus" and cons["predicted_limit"] == pytest.approx([1.0] * 6)
    pert = client.graph_analysis(graph_name, "perturbation", options={"allowed_pairs": [[0, 3]], "top_k": 1})
    assert pert["suggestions"][0]["edge"] == {"source": 0, "target": 3}
    assert client.graph_analysis(graph_name, "perturbation", top_k=2, weight_grid=[1.0])["candidates_evaluated"] > 0
    with pytest.raises(ValueError, match="query options only"):
        client.graph_analysis(graph_name, "chordal", options={"cliques": False})
    with pytest.raises(ValueError, match="not both"):
        client.graph_analysis(graph_name, "consensus", options={}, hidden=[1])


def test_unknown_check_is_rejected_before_sending(client) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="unknown analysis"):
        client.analyze("magic", [(0, 1)])
    with pytest.raises(InvalidRequest):
        client.analyze("balance", [{"source": 0, "target": 1, "weight": 0.0}])
