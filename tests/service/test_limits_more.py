"""Limits not covered elsewhere: ``GET .../quality`` refuses κ above ``max_quality_nodes`` with a clear 413."""

from __future__ import annotations

from .conftest import Api


def test_quality_413_above_max_quality_nodes(server_factory, graph_name: str) -> None:  # noqa: ANN001
    srv = server_factory(max_quality_nodes=100)
    api = Api(srv.url)
    api.small_graph(graph_name, 10, 10)  # 100 vertices: exactly at the limit
    at_limit = api.http.get(f"/v1/graphs/{graph_name}/quality")
    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["nodes"] == 100 and at_limit.json()["kappa"] >= 1.0 - 1e-9

    api.update(graph_name, [{"op": "insert", "u": 99, "v": 100, "w": 1.0}])  # one vertex more
    r = api.http.get(f"/v1/graphs/{graph_name}/quality")
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["code"] == "too_large"
    assert err["message"] == ("graph has 101 vertices; kappa is computed up to 100 "
                              "(ask with kappa=false for the other figures)")

    # the other figures are still served, without κ
    cheap = api.http.get(f"/v1/graphs/{graph_name}/quality", params={"kappa": "false"})
    assert cheap.status_code == 200, cheap.text
    q = cheap.json()
    assert (q["kappa"], q["nodes"], q["edges"], q["components_graph"]) == (None, 101, 181, 1)
    api.close()
