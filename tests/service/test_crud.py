"""Graph CRUD, import, snapshots and quality over real HTTP against a real ``sparsewire serve`` process."""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from .conftest import SMALL_PARAMS, Api, data_file, edge_map, grid_csv


def test_create_get_list_delete(api: Api, graph_name: str) -> None:
    info = api.create(graph_name)
    assert info["name"] == graph_name
    assert (info["nodes"], info["edges"], info["sparsifier_edges"], info["seq"], info["cursor"]) == (0, 0, 0, 0, "0")
    assert info["params"]["K"] == SMALL_PARAMS["K"] and info["params"]["walkers"] == SMALL_PARAMS["walkers"]
    assert info["node_ids"] == "int" and info["directed"] is False

    dup = api.http.post("/v1/graphs", json={"name": graph_name})
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "conflict"

    assert api.http.get(f"/v1/graphs/{graph_name}").json() == info
    listing = api.http.get("/v1/graphs").json()
    assert set(listing) == {"data", "count"}
    assert listing["count"] == len(listing["data"])
    assert [g for g in listing["data"] if g["name"] == graph_name] == [info]

    assert api.http.delete(f"/v1/graphs/{graph_name}").status_code == 204
    assert api.http.get(f"/v1/graphs/{graph_name}").status_code == 404
    assert api.http.delete(f"/v1/graphs/{graph_name}").status_code == 404
    assert graph_name not in [g["name"] for g in api.http.get("/v1/graphs").json()["data"]]
    # the name is free again, with a fresh history
    again = api.create(graph_name)
    assert again["seq"] == 0
    assert api.http.delete(f"/v1/graphs/{graph_name}").status_code == 204


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "-lead", ".hidden", "a..b", "grä", "名前", "a b", "",
                                  "x" * 129, "a\u0000b", "a%2Fb"])
def test_bad_names_rejected(api: Api, name: str) -> None:
    r = api.http.post("/v1/graphs", json={"name": name})
    assert r.status_code == 422, (name, r.status_code, r.text)
    assert "error" in r.json()
    assert name not in [g["name"] for g in api.http.get("/v1/graphs").json()["data"]]


def test_longest_name_accepted(api: Api) -> None:
    name = "n" + "x" * 127
    api.create(name)
    assert api.http.delete(f"/v1/graphs/{name}").status_code == 204


def test_unknown_graph_404(api: Api) -> None:
    for method, path in (("GET", "/v1/graphs/nope-404"), ("GET", "/v1/graphs/nope-404/sparsifier"),
                         ("GET", "/v1/graphs/nope-404/quality"), ("DELETE", "/v1/graphs/nope-404")):
        r = api.http.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    r = api.http.post("/v1/graphs/nope-404/updates", json={"ops": [{"op": "insert", "u": 0, "v": 1}]})
    assert r.status_code == 404


def test_import_fe_4elt2_and_snapshots(api: Api, graph_name: str) -> None:
    path = data_file("undirected/fe_4elt2.mtx.gz")
    api.create(graph_name, {"K": 33.0, "seed": 0})
    info = api.import_(graph_name, path.read_bytes())
    assert (info["nodes"], info["edges"], info["seq"], info["cursor"]) == (11143, 32818, 1, "1")
    assert info["density"] == pytest.approx(info["sparsifier_edges"] / 11143, abs=1e-6)
    assert 1.0 <= info["density"] <= 1.2
    assert info["sparsifier_edges"] >= 11142  # at least a spanning tree of the connected mesh
    assert api.info(graph_name) == {k: v for k, v in info.items() if k != "warnings"} | {"warnings": None}

    again = api.http.post(f"/v1/graphs/{graph_name}/import", content=path.read_bytes())
    assert again.status_code == 409

    for which, count in (("sparsifier", info["sparsifier_edges"]), ("edges", info["edges"])):
        js = api.http.get(f"/v1/graphs/{graph_name}/{which}", params={"format": "json"})
        assert js.status_code == 200
        body = js.json()
        assert (body["count"], len(body["edges"]), body["nodes"], body["cursor"]) == (count, count, 11143, "1")
        json_edges = edge_map(body)
        assert len(json_edges) == count

        mtx = api.http.get(f"/v1/graphs/{graph_name}/{which}", params={"format": "mtx"})
        assert mtx.status_code == 200 and mtx.headers["x-sparsewire-cursor"] == "1"
        full = scipy.io.mmread(io.BytesIO(mtx.content))
        assert full.shape == (11143, 11143)
        assert (full != full.T).nnz == 0  # symmetric: mmread expands both triangles
        a = scipy.sparse.triu(full).tocoo()
        assert a.nnz == count
        # ids in the mtx body are the graph's external ids (1-based, as in the source file)
        parsed = {(min(int(i), int(j)) + 1, max(int(i), int(j)) + 1): float(x)
                  for i, j, x in zip(a.row, a.col, a.data, strict=True)}
        assert parsed == json_edges

        csv = api.http.get(f"/v1/graphs/{graph_name}/{which}", params={"format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        rows = csv.text.strip().split("\n")
        assert rows[0] == "u,v,w" and len(rows) == count + 1
        parsed_csv = {}
        for row in rows[1:]:
            u, v, w = row.split(",")
            parsed_csv[(int(u), int(v))] = float(w)
        assert parsed_csv == json_edges

    # G is exactly the file's graph (1-based ids, |values|)
    src = scipy.io.mmread(gzip.open(path)).tocoo()
    want = {}
    for i, j, x in zip(src.row.tolist(), src.col.tolist(), src.data.tolist(), strict=True):
        if i != j:
            want[(min(i, j) + 1, max(i, j) + 1)] = abs(x)
    assert api.g(graph_name) == want

    q = api.http.get(f"/v1/graphs/{graph_name}/quality", params={"kappa": "false"}).json()
    assert q["kappa"] is None
    assert (q["nodes"], q["edges"], q["sparsifier_edges"]) == (11143, 32818, info["sparsifier_edges"])
    assert q["components_graph"] == q["components_sparsifier"] == 1


def test_import_garbage_names_line(api: Api, graph_name: str) -> None:
    api.create(graph_name)
    body = b"%%MatrixMarket matrix coordinate real symmetric\n4 4 3\n2 1 1.0\n3 2 oops\n4 3 1.0\n"
    r = api.http.post(f"/v1/graphs/{graph_name}/import", content=body)
    assert r.status_code == 422, r.text
    assert "line 4" in r.json()["error"]["message"]
    r = api.http.post(f"/v1/graphs/{graph_name}/import", content=b"\x00\xff\xfe binary junk \x81\x82")
    assert r.status_code == 422, r.text
    r = api.http.post(f"/v1/graphs/{graph_name}/import", content=b"")
    assert r.status_code == 422, r.text
    # nothing was imported: the graph is still empty and importable
    assert api.info(graph_name)["seq"] == 0
    assert api.import_(graph_name, grid_csv(3, 3))["edges"] == 12


def test_snapshot_formats_small(api: Api, graph_name: str) -> None:
    info = api.small_graph(graph_name, 6, 6)
    assert (info["nodes"], info["edges"]) == (36, 60)
    js = api.snap(graph_name)
    assert js["count"] == info["sparsifier_edges"] and js["seq"] == 1
    mtx = api.http.get(f"/v1/graphs/{graph_name}/edges?format=mtx").content
    a = scipy.sparse.triu(scipy.io.mmread(io.BytesIO(mtx))).tocoo()
    assert a.nnz == 60 and a.shape == (36, 36)
    # 0-based ids are written 1-based (Matrix Market indices start at 1)
    g = api.g(graph_name)
    assert {(int(i), int(j)): float(x) for i, j, x in zip(a.row, a.col, a.data, strict=True)} == g  # mmread: 0-based
    bad = api.http.get(f"/v1/graphs/{graph_name}/edges?format=xml")
    assert bad.status_code == 422


def test_quality_small(api: Api, graph_name: str) -> None:
    # two disconnected grids: components must agree and kappa is finite
    body = grid_csv(5, 5) + b"".join(f"{a + 100},{b + 100},2.0\n".encode()
                                      for a, b in ((0, 1), (1, 2), (2, 3), (3, 0), (0, 2)))
    api.create(graph_name)
    info = api.import_(graph_name, body)
    q = api.http.get(f"/v1/graphs/{graph_name}/quality").json()
    assert q["nodes"] == info["nodes"]
    assert q["edges"] == info["edges"] == 45
    assert q["sparsifier_edges"] == info["sparsifier_edges"]
    assert q["kappa"] is not None and math.isfinite(q["kappa"]) and q["kappa"] >= 1.0 - 1e-9
    assert q["components_graph"] == q["components_sparsifier"]
    # 25 grid vertices + vertices 100..103 with ids between them isolated (int ids span 0..103)
    assert q["components_graph"] == 2 + (104 - 25 - 4)
    assert q["cursor"] == "1"


def test_empty_graph_quality(api: Api, graph_name: str) -> None:
    api.create(graph_name)
    q = api.http.get(f"/v1/graphs/{graph_name}/quality").json()
    assert (q["nodes"], q["edges"], q["kappa"], q["components_graph"]) == (0, 0, None, 0)


def test_string_ids_graph(api: Api, graph_name: str) -> None:
    api.create(graph_name, node_ids="str")
    api.import_(graph_name, b"src,dst,w\nalice,bob,1\nbob,carol,2\ncarol,alice,1\n")
    r = api.update(graph_name, [{"op": "insert", "u": "alice", "v": "dave", "w": 1.5},
                                {"op": "delete", "u": "bob", "v": "zed"}])
    assert [x["status"] for x in r["results"]] == ["applied", "absent"]
    g = api.g(graph_name)
    assert g == {("alice", "bob"): 1.0, ("bob", "carol"): 2.0, ("alice", "carol"): 1.0, ("alice", "dave"): 1.5}
    assert api.http.get(f"/v1/graphs/{graph_name}/edges?format=mtx").status_code == 422
    bad = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "insert", "u": 1, "v": "bob"}]})
    assert bad.status_code == 422
    assert np.asarray([d["index"] for d in bad.json()["error"]["details"]]).tolist() == [0]


def test_info_reports_components_of_g_and_h(api: Api, graph_name: str) -> None:
    """``GET /v1/graphs/{name}`` counts the components of G and of H (isolated vertices count), per seq."""
    created = api.create(graph_name)
    assert (created["components_graph"], created["components_sparsifier"]) == (0, 0)
    two_triangles = b"u,v,w\n0,1,1\n1,2,1\n0,2,1\n3,4,1\n4,5,1\n3,5,1\n"
    info = api.import_(graph_name, two_triangles)
    assert (info["components_graph"], info["components_sparsifier"]) == (2, 2)
    info = api.info(graph_name)
    assert (info["seq"], info["nodes"], info["components_graph"], info["components_sparsifier"]) == (1, 6, 2, 2)
    api.update(graph_name, [{"op": "insert", "u": 2, "v": 3, "w": 1.0}])  # a bridge
    info = api.info(graph_name)
    assert (info["seq"], info["components_graph"], info["components_sparsifier"]) == (2, 1, 1)
    # the listing shows what GET computed for this seq
    assert [g for g in api.http.get("/v1/graphs").json()["data"] if g["name"] == graph_name] == [info]
    # vertices 6 and 7 joined by an edge, then the bridge removed: two triangles and a pair
    api.update(graph_name, [{"op": "insert", "u": 6, "v": 7, "w": 1.0}])
    assert (api.info(graph_name)["components_graph"], api.info(graph_name)["components_sparsifier"]) == (2, 2)
    api.update(graph_name, [{"op": "delete", "u": 2, "v": 3}, {"op": "delete", "u": 6, "v": 7}])
    info = api.info(graph_name)
    # 8 vertices: two triangles and two isolated vertices
    assert (info["seq"], info["nodes"], info["components_graph"], info["components_sparsifier"]) == (4, 8, 4, 4)
    q = api.http.get(f"/v1/graphs/{graph_name}/quality?kappa=false").json()
    assert (q["components_graph"], q["components_sparsifier"]) == (4, 4)
    schema = api.http.get("/openapi.json").json()["components"]["schemas"]["GraphInfo"]["properties"]
    assert {"components_graph", "components_sparsifier"} <= set(schema)
