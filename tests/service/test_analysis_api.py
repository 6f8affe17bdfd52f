"""Agreement-check endpoints over real HTTP against a real ``sparsewire serve`` process (spec agreement.md §2, §5)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import networkx as nx
import pytest

from .conftest import grid_csv

PARAMS = {"K": 10.0, "walkers": 64, "steps": 60, "seed": 7}


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:  # noqa: ANN001
    with httpx.Client(base_url=server.url, timeout=120.0) as client:
        yield client


def post(http: httpx.Client, check: str, edges: list, *, status: int = 200, **body: object) -> dict:
    r = http.post(f"/v1/analysis/{check}", json={"edges": edges, **body})
    assert r.status_code == status, r.text
    return r.json()


def e(s: object, t: object, w: float) -> dict:
    return {"source": s, "target": t, "weight": w}


def is_rotation(cycle: list, ref: list) -> bool:
    """Same cycle up to rotation and direction."""
    if len(cycle) != len(ref):
        return False
    doubled = ref + ref
    k = len(ref)
    return any(doubled[i:i + k] == cycle for i in range(k)) or any(doubled[i:i + k] == cycle[::-1] for i in range(k))


def assert_chordless_cycle(g: nx.Graph, hole: list) -> None:
    k = len(hole)
    assert k >= 4 and len(set(hole)) == k
    for i in range(k):
        for j in range(i + 1, k):
            consecutive = j == i + 1 or (i == 0 and j == k - 1)
            assert g.has_edge(hole[i], hole[j]) == consecutive, (hole, hole[i], hole[j])


def assert_peo(g: nx.Graph, peo: list) -> None:
    assert sorted(peo) == sorted(g.nodes)
    pos = {v: i for i, v in enumerate(peo)}
    for v in peo:
        later = [u for u in g[v] if pos[u] > pos[v]]
        for a in range(len(later)):
            for b in range(a + 1, len(later)):
                assert g.has_edge(later[a], later[b]), (v, later[a], later[b])


def spectrum_points(res: dict) -> list[float]:
    """Eigenvalues with multiplicity, sorted, flattened to ``[re, im, re, im, ...]`` (for ``pytest.approx``)."""
    pts = []
    for s in res["spectrum"]:
        pts += [(s["re"], s["im"])] * s["multiplicity"]
    return [x for p in sorted(pts) for x in p]


# ------------------------------------------------------------------------------------------ spec §5 test vectors
BALANCED_TRIANGLE = [e(0, 1, 1.0), e(1, 2, -1.0), e(0, 2, -1.0)]
UNBALANCED_CYCLE = [e(1, 0, 1.0), e(2, 1, 1.0), e(0, 2, -1.0)]
C4 = [e(0, 1, 1.0), e(1, 2, 1.0), e(2, 3, 1.0), e(3, 0, 1.0)]
STAR = [e(0, 1, 1.0), e(0, 2, 1.0), e(0, 3, 1.0)]


def test_balanced_triangle_camps_spectrum_and_limit(http: httpx.Client) -> None:
    res = post(http, "balance", BALANCED_TRIANGLE, directed=False)
    assert res["balanced"] is True
    assert res["camps"] == [{"plus": [0, 1], "minus": [2]}]
    assert res["negative_cycle"] is None and res["frustrated_edges"] == []
    assert res["frustration"]["value"] == 0
    assert "warnings" in res and "conventions" in res

    res = post(http, "consensus", BALANCED_TRIANGLE, directed=False, options={"initial_state": [3, 1, -2]})
    assert res["regime"] == "bipartite_consensus"
    assert res["conventions"]["variant"] == "opposing"
    assert spectrum_points(res) == pytest.approx([0, 0, 3, 0, 3, 0], abs=1e-9)
    assert res["predicted_limit"] == pytest.approx([2, 2, -2], abs=1e-9)


def test_unbalanced_directed_cycle(http: httpx.Client) -> None:
    res = post(http, "balance", UNBALANCED_CYCLE, directed=True)
    assert res["balanced"] is False
    assert sorted(res["negative_cycle"]) == [0, 1, 2]
    assert math.prod(x["weight"] for x in res["negative_cycle_edges"]) < 0

    res = post(http, "consensus", UNBALANCED_CYCLE, directed=True)
    assert res["regime"] == "neutralized" and res["oscillatory"] is True
    half = math.sqrt(3) / 2
    assert spectrum_points(res) == pytest.approx([0.5, -half, 0.5, half, 2, 0], abs=1e-7)

    res = post(http, "consensus", UNBALANCED_CYCLE, directed=True, options={"variant": "repelling"})
    assert res["regime"] == "unstable"
    assert sorted(spectrum_points(res)[::2]) == pytest.approx([(1 - math.sqrt(5)) / 2, 0,
                                                                         (1 + math.sqrt(5)) / 2], abs=1e-7)


def test_hidden_middle_unobservable(http: httpx.Client) -> None:
    path = [e(0, 1, 1.0), e(1, 2, 1.0)]
    res = post(http, "observability", path, directed=False, options={"visible": [1]})
    assert res["observable"] is False and res["unobservable_dim"] == 1
    (mode,) = res["unobservable_modes"]
    assert mode["eigenvalue"] == pytest.approx(1.0)
    (basis,) = mode["basis"]
    r = 1 / math.sqrt(2)
    assert basis == pytest.approx([r, 0, -r], abs=1e-9) or basis == pytest.approx([-r, 0, r], abs=1e-9)
    assert sorted(mode["support"]) == [0, 2]

    res = post(http, "observability", path, directed=False, options={"visible": [0]})
    assert res["observable"] is True and res["unobservable_dim"] == 0


def test_grounding_suggestion(http: httpx.Client) -> None:
    path = [e(0, 1, 1.0), e(1, 2, 1.0)]
    res = post(http, "perturbation", path, directed=False,
               options={"goal": "stabilize", "allowed_pairs": [], "ground": True, "weight_grid": [1.0], "top_k": 3})
    grounded = {s["ground"]: s for s in res["suggestions"] if s["kind"] == "ground"}
    assert grounded[1]["exact_shift"] == pytest.approx(2 - math.sqrt(3), abs=1e-9)
    assert "note" in res


def test_chordal_c4_hole_and_completion(http: httpx.Client) -> None:
    res = post(http, "chordal", C4, directed=False)
    assert res["chordal"] is False and res["peo"] is None
    assert is_rotation(res["hole"], [0, 1, 2, 3])
    assert res["violation"] is not None
    assert res["treewidth_upper_bound"] == 2

    res = post(http, "chordal-completion", C4, directed=False)
    assert len(res["fill_edges"]) == 1 and res["minimal"] is True and res["already_chordal"] is False
    assert res["treewidth_of_completion"] == 2
    (a, b), = res["fill_edges"]
    assert {a, b} in ({0, 2}, {1, 3})
    completed = nx.cycle_graph(4)
    completed.add_edge(a, b)
    assert_peo(completed, res["elimination_order"])
    # and the service's own verifier agrees
    check = post(http, "verify-peo", C4 + [e(a, b, 1.0)], directed=False,
                 options={"ordering": res["elimination_order"]})
    assert check["is_peo"] is True and check["violation"] is None


def test_verify_peo_star_violation_at_centre(http: httpx.Client) -> None:
    res = post(http, "verify-peo", STAR, directed=False, options={"ordering": [0, 1, 2, 3]})
    assert res["is_peo"] is False
    assert res["violation"] == {"vertex": 0, "parent": 1, "non_adjacent_pair": [1, 2]}
    good = post(http, "chordal", STAR, directed=False)
    assert good["chordal"] is True and 0 in good["peo"][-2:]
    again = post(http, "verify-peo", STAR, directed=False, options={"ordering": good["peo"]})
    assert again["is_peo"] is True
    bad = post(http, "verify-peo", STAR, directed=False, options={"ordering": [0, 1, 1, 9]})
    assert bad["is_peo"] is False
    assert bad["input_errors"] == {"missing": [2, 3], "duplicates": [1], "unknown": [9]}


def test_cliques_409_with_hole_on_c4(http: httpx.Client) -> None:
    r = http.post("/v1/analysis/cliques", json={"edges": C4, "directed": False})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "not_chordal"
    assert is_rotation(err["details"]["hole"], [0, 1, 2, 3])
    assert err["details"]["violation"]["vertex"] in (0, 1, 2, 3)

    chordal = C4 + [e(0, 2, 1.0)]
    res = post(http, "cliques", chordal, directed=False)
    assert sorted(sorted(c) for c in res["maximal_cliques"]) == [[0, 1, 2], [0, 2, 3]]
    assert res["treewidth"] == 2 and res["clique_number"] == 3


# ------------------------------------------------------------------------------------------ ids, input errors, limits
def test_string_ids_round_trip(http: httpx.Client) -> None:
    names = {0: "alice", 1: "bob", 2: "carol"}
    edges = [e(names[x["source"]], names[x["target"]], x["weight"]) for x in BALANCED_TRIANGLE]
    res = post(http, "balance", edges, directed=False, nodes=["alice", "bob", "carol"])
    assert res["camps"] == [{"plus": ["alice", "bob"], "minus": ["carol"]}]
    res = post(http, "consensus", edges, directed=False,
               options={"initial_state": {"alice": 3, "bob": 1, "carol": -2}, "hidden": ["carol"]})
    assert res["predicted_limit"] == pytest.approx([2, 2, -2], abs=1e-9)
    assert res["root_components"][0]["nodes"] == ["alice", "bob", "carol"]
    assert res["influence_share"] == pytest.approx(1 / 3)
    # int ids with a {id: value} initial state: JSON object keys are strings and map back to the int ids
    res = post(http, "consensus", BALANCED_TRIANGLE, directed=False, options={"initial_state": {"0": 3, "1": 1,
                                                                                                "2": -2}})
    assert res["predicted_limit"] == pytest.approx([2, 2, -2], abs=1e-9)
    # mixed ids and log-odds edges
    mixed = [{"source": "x", "target": 7, "log_odds": 2.5}, {"source": 7, "target": "y", "log_odds": -4.0}]
    res = post(http, "balance", mixed, directed=True, options={"w_max": 3.0})
    assert res["balanced"] is True
    assert res["camps"] == [{"plus": ["x", 7], "minus": ["y"]}]
    assert [x["weight"] for x in res["frustrated_edges"]] == []


def test_bad_input_422_names_the_edge(http: httpx.Client) -> None:
    both = [e(0, 1, 1.0), {"source": 1, "target": 2, "weight": 1.0, "log_odds": 0.3}]
    err = post(http, "balance", both, status=422)["error"]
    assert err["code"] == "invalid_input" and "edges[1]" in err["message"]

    err = post(http, "balance", [e(0, 1, 1.0), e(1, 5, 1.0)], nodes=[0, 1], status=422)["error"]
    assert "edges[1]" in err["message"] and "unknown node 5" in err["message"]

    err = post(http, "balance", [e(0, 1, 0.0)], status=422)["error"]
    assert "edges[0]" in err["message"] and "zero weight" in err["message"]

    err = post(http, "balance", [e(0, 1, 1.0), {"source": 0, "target": 1, "w": 1.0}], status=422)["error"]
    assert err["code"] == "invalid_request" and "body.edges.1" in err["message"]

    r = http.post("/v1/analysis/balance", content=b'{"edges":[{"source":0,"target":1,"weight":NaN}]}',
                  headers={"content-type": "application/json"})
    assert r.status_code == 422 and "body.edges.0.weight" in r.json()["error"]["message"]

    r = http.post("/v1/analysis/balance", content=b'{"edges": [', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"

    err = post(http, "balance", [e(0, 1, 1.0)], options={"nonsense": 1}, status=422)["error"]
    assert "options.nonsense" in err["message"]
    err = post(http, "consensus", [e(0, 1, 1.0)], options={"variant": "sideways"}, status=422)["error"]
    assert "options.variant" in err["message"]
    err = post(http, "verify-peo", [e(0, 1, 1.0)], status=422)["error"]
    assert "options" in err["message"]
    err = post(http, "observability", [e(0, 1, 1.0)], options={"hidden": [0], "visible": [1]}, status=422)["error"]
    assert "either" in err["message"]
    err = post(http, "consensus", [e(0, 1, 1.0)], options={"hidden": ["ghost"]}, status=422)["error"]
    assert "ghost" in err["message"]
    err = post(http, "balance", [{"source": True, "target": 1, "weight": 1.0}], status=422)["error"]
    assert "body.edges.0.source" in err["message"]


def test_spectral_413_above_2000_nodes(http: httpx.Client) -> None:
    path = [e(i, i + 1, 1.0) for i in range(2000)]  # 2,001 nodes
    r = http.post("/v1/analysis/consensus", json={"edges": path, "directed": False})
    assert r.status_code == 413, r.text
    err = r.json()["error"]
    assert err["code"] == "too_large" and err["details"] == {"n": 2001, "max_nodes": 2000}
    # the linear checks take it
    res = post(http, "chordal", path, directed=False, options={"cliques": False})
    assert res["chordal"] is True and res["treewidth"] == 1 and len(res["peo"]) == 2001
    assert post(http, "balance", path, directed=False)["balanced"] is True


def test_completion_413_above_its_work_cap_and_the_loop_stays_free(http: httpx.Client, server) -> None:  # noqa: ANN001
    big = 60_000  # n (n + m) = 7.2e9 > 4e9: refused before any work
    cycle = [e(i, (i + 1) % big, 1.0) for i in range(big)]
    r = http.post("/v1/analysis/chordal-completion", json={"edges": cycle, "directed": False})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["details"] == {"n": big, "m": big, "max_work": 4 * 10**9}
    # a completion near the cap (~2 s of MCS-M) runs in a worker thread without the GIL: /livez answers meanwhile
    n = 22_000
    body = json.dumps({"edges": [e(i, (i + 1) % n, 1.0) for i in range(n)], "directed": False})
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(httpx.post, f"{server.url}/v1/analysis/chordal-completion", content=body,
                          headers={"content-type": "application/json"}, timeout=120)
        waits = []
        while not job.done():
            t = time.perf_counter()
            assert http.get("/livez").status_code == 200
            waits.append(time.perf_counter() - t)
            time.sleep(0.05)
        res = job.result()
    assert res.status_code == 200, res.text
    assert len(res.json()["fill_edges"]) == n - 3  # a triangulated n-cycle has n - 3 chords
    assert len(waits) >= 5 and max(waits) < 0.5, waits


def test_cancelled_parallel_edges_are_still_edges_for_chordality(http: httpx.Client) -> None:
    """A chord given as two opposite-sign arcs sums to zero for the spectral checks, but the pair is an edge of
    the structure (signs and directions ignored): C4 plus that chord is chordal, and 0-1 twice + 1-2 + 2-0 is a
    triangle."""
    c4 = [e(0, 1, 1.0), e(1, 2, 1.0), e(2, 3, 1.0), e(3, 0, 1.0), e(0, 2, 1.0), e(2, 0, -1.0)]
    res = post(http, "chordal", c4, directed=False)
    assert res["chordal"] is True and res["hole"] is None
    assert "cancelled_edges_dropped" in {w["code"] for w in res["warnings"]}
    tri = post(http, "cliques", [e(0, 1, 1.0), e(0, 1, -1.0), e(1, 2, 1.0), e(2, 0, 1.0)], directed=True)
    assert tri["maximal_cliques"] == [[0, 1, 2]] and tri["treewidth"] == 2


def test_warnings_and_openapi(http: httpx.Client) -> None:
    res = post(http, "balance", [e(0, 0, 1.0), e(0, 1, 1.0), e(0, 1, 2.0), e(1, 0, -1.0)], directed=True)
    codes = {w["code"] for w in res["warnings"]}
    assert {"self_loop_dropped", "parallel_edges_merged", "opposite_sign_digon"} <= codes
    assert res["balanced"] is False

    spec = http.get("/openapi.json").json()
    ops = [(path, op) for path, item in spec["paths"].items() if "/analysis" in path for op in item.values()]
    assert len(ops) == 18  # 8 stateless POSTs; stored: 7 GETs and 3 POSTs (options as a JSON body)
    stored = {(path.rsplit("/", 1)[1], method) for path, item in spec["paths"].items()
              if path.startswith("/v1/graphs/{name}/analysis/") for method in item}
    assert stored == {("balance", "get"), ("chordal", "get"), ("chordal-completion", "get"), ("cliques", "get"),
                      ("consensus", "get"), ("consensus", "post"), ("observability", "get"), ("perturbation", "get"),
                      ("perturbation", "post"), ("verify-peo", "post")}
    for path, op in ops:
        assert op["tags"] == ["analysis"], path
        assert op["description"] and "\n" not in op["description"].strip(), path
    body = spec["paths"]["/v1/analysis/consensus"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "variant" in json.dumps(body) and "$ref" not in json.dumps(body)


# ------------------------------------------------------------------------------------------ stored graphs
def make_graph(http: httpx.Client, name: str, csv: bytes, **params: float) -> dict:
    r = http.post("/v1/graphs", json={"name": name, "params": {**PARAMS, **params}})
    assert r.status_code == 201, r.text
    r = http.post(f"/v1/graphs/{name}/import", content=csv)
    assert r.status_code == 200, r.text
    return r.json()


def snapshot_graph(http: httpx.Client, name: str, which: str) -> tuple[nx.Graph, int]:
    snap = http.get(f"/v1/graphs/{name}/{which}").json()
    g = nx.Graph()
    g.add_nodes_from(range(snap["nodes"]))
    g.add_edges_from((u, v) for u, v, _w in snap["edges"])
    return g, snap["seq"]


@pytest.mark.parametrize(("target", "offtree_ratio"), [("graph", 0.1), ("sparsifier", 0.1), ("sparsifier", 0.0)])
def test_stored_chordal_and_balance_match_networkx(http: httpx.Client, graph_name: str, target: str,
                                                   offtree_ratio: float) -> None:
    # offtree_ratio 0: the initial sparsifier is a spanning tree (chordal); 0.1 adds 2 off-tree edges (holes)
    make_graph(http, graph_name, grid_csv(4, 5), offtree_ratio=offtree_ratio)
    g, seq = snapshot_graph(http, graph_name, "edges" if target == "graph" else "sparsifier")
    assert g.number_of_nodes() == 20

    r = http.get(f"/v1/graphs/{graph_name}/analysis/chordal", params={"target": target})
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["graph"], res["target"], res["seq"], res["cursor"]) == (graph_name, target, seq, str(seq))
    assert r.headers["x-sparsewire-cursor"] == str(seq)
    assert res["m"] == g.number_of_edges()
    assert res["chordal"] is nx.is_chordal(g)
    if res["chordal"]:
        assert_peo(g, res["peo"])
        assert res["treewidth"] == nx.chordal_graph_treewidth(g)
        assert sorted(map(sorted, res["maximal_cliques"])) == sorted(map(sorted, nx.chordal_graph_cliques(g)))
        r = http.get(f"/v1/graphs/{graph_name}/analysis/cliques", params={"target": target})
        assert r.status_code == 200 and r.json()["clique_number"] == res["clique_number"]
    else:
        assert_chordless_cycle(g, res["hole"])
        r = http.get(f"/v1/graphs/{graph_name}/analysis/cliques", params={"target": target})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_chordal"
        assert_chordless_cycle(g, r.json()["error"]["details"]["hole"])
    if target == "graph":
        assert res["chordal"] is False  # the grid has 4-holes
    if target == "sparsifier" and offtree_ratio == 0.0:
        assert g.number_of_edges() == 19 and res["chordal"] is True and res["treewidth"] == 1

    bal = http.get(f"/v1/graphs/{graph_name}/analysis/balance", params={"target": target}).json()
    assert bal["balanced"] is True  # stored graphs are unsigned
    assert bal["components"] == nx.number_connected_components(g)
    assert all(c["minus"] == [] for c in bal["camps"])
    assert sorted(x for c in bal["camps"] for x in c["plus"]) == list(range(20))

    cons = http.get(f"/v1/graphs/{graph_name}/analysis/consensus",
                    params={"target": target, "hidden": ["0", "19"]}).json()
    assert cons["regime"] == "consensus" and cons["zero_multiplicity"] == 1  # connected, all weights positive
    assert cons["influence_share"] == pytest.approx(2 / 20)

    obs = http.get(f"/v1/graphs/{graph_name}/analysis/observability", params={"target": target, "hidden": "7"})
    assert obs.status_code == 200, obs.text
    assert obs.json()["hidden"] == [7] and len(obs.json()["visible"]) == 19


def test_stored_errors(http: httpx.Client, graph_name: str) -> None:
    assert http.get("/v1/graphs/no-such-graph/analysis/balance").status_code == 404
    make_graph(http, graph_name, grid_csv(2, 2))
    r = http.get(f"/v1/graphs/{graph_name}/analysis/consensus", params={"hidden": "abc"})
    assert r.status_code == 422 and "hidden[0]" in r.json()["error"]["message"]
    r = http.get(f"/v1/graphs/{graph_name}/analysis/consensus", params={"hidden": "99"})
    assert r.status_code == 422
    r = http.get(f"/v1/graphs/{graph_name}/analysis/chordal", params={"target": "both"})
    assert r.status_code == 422


def test_stored_413_for_spectral_only(http: httpx.Client, graph_name: str) -> None:
    csv = ("u,v,w\n" + "".join(f"{i},{i + 1},1.0\n" for i in range(2000))).encode()  # a 2,001-node path
    make_graph(http, graph_name, csv)
    r = http.get(f"/v1/graphs/{graph_name}/analysis/consensus")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = http.get(f"/v1/graphs/{graph_name}/analysis/chordal", params={"cliques": "false"})
    assert r.status_code == 200 and r.json()["chordal"] is True and r.json()["treewidth"] == 1
    r = http.post(f"/v1/graphs/{graph_name}/analysis/consensus", json={"initial_state": {"0": 1.0}})
    assert r.status_code == 413 and r.json()["error"]["details"]["max_nodes"] == 2000
    for r in (http.get(f"/v1/graphs/{graph_name}/analysis/perturbation"),
              http.post(f"/v1/graphs/{graph_name}/analysis/perturbation", json={"top_k": 1})):
        assert r.status_code == 413 and r.json()["error"]["details"] == {"n": 2001, "max_nodes": 500}
    r = http.get(f"/v1/graphs/{graph_name}/analysis/chordal-completion")
    assert r.status_code == 200 and r.json()["already_chordal"] is True and r.json()["fill_edges"] == []
    peo = list(range(2001))  # a path eliminated from one end: a PEO (ordering in a JSON body, not a URL)
    assert http.post(f"/v1/graphs/{graph_name}/analysis/verify-peo", json={"ordering": peo}).json()["is_peo"]


def test_stored_cache_per_sequence_number(http: httpx.Client, graph_name: str) -> None:
    seq0 = make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n1,2,1.0\n2,3,1.0\n")["seq"]  # a path: chordal
    url = f"/v1/graphs/{graph_name}/analysis/chordal"
    first = http.get(url)
    second = http.get(url)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-sparsewire-cache"] == "miss"
    assert second.headers["x-sparsewire-cache"] == "hit"
    assert first.content == second.content
    assert first.json()["seq"] == seq0 and first.json()["chordal"] is True
    # other options or target: a different entry
    assert http.get(url, params={"cliques": "false"}).headers["x-sparsewire-cache"] == "miss"
    assert http.get(url, params={"target": "sparsifier"}).headers["x-sparsewire-cache"] == "miss"
    assert http.get(url, params={"cliques": "false"}).headers["x-sparsewire-cache"] == "hit"

    r = http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "insert", "u": 0, "v": 3, "w": 1.0}]})
    assert r.status_code == 200, r.text
    seq1 = r.json()["seq"]
    assert seq1 == seq0 + 1
    third = http.get(url)
    assert third.headers["x-sparsewire-cache"] == "miss"
    res = third.json()
    assert res["seq"] == seq1 and res["cursor"] == str(seq1)
    assert res["chordal"] is False and is_rotation(res["hole"], [0, 1, 2, 3])  # the new edge closed a C4
    assert http.get(url).headers["x-sparsewire-cache"] == "hit"
    cl = http.get(f"/v1/graphs/{graph_name}/analysis/cliques")
    assert cl.status_code == 409 and is_rotation(cl.json()["error"]["details"]["hole"], [0, 1, 2, 3])

    # a deleted and re-created graph of the same name never sees the old cache
    assert http.delete(f"/v1/graphs/{graph_name}").status_code == 204
    make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n1,2,1.0\n2,3,1.0\n3,0,1.0\n")
    res = http.get(url)
    assert res.headers["x-sparsewire-cache"] == "miss" and res.json()["chordal"] is False


def test_stored_completion_c4_and_grid(http: httpx.Client, graph_name: str) -> None:
    make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n1,2,1.0\n2,3,1.0\n3,0,1.0\n")  # C4
    url = f"/v1/graphs/{graph_name}/analysis/chordal-completion"
    first = http.get(url)
    assert first.status_code == 200, first.text
    res = first.json()
    assert (res["graph"], res["target"], res["cursor"]) == (graph_name, "graph", str(res["seq"]))
    assert len(res["fill_edges"]) == 1 and res["minimal"] is True and res["already_chordal"] is False
    assert res["treewidth_of_completion"] == 2 and res["method"] == "mcs_m" and "conventions" in res
    (a, b), = res["fill_edges"]
    assert {a, b} in ({0, 2}, {1, 3})
    completed = nx.cycle_graph(4)
    completed.add_edge(a, b)
    assert_peo(completed, res["elimination_order"])
    assert first.headers["x-sparsewire-cache"] == "miss" and http.get(url).headers["x-sparsewire-cache"] == "hit"
    assert http.get(url, params={"method": "min_fill"}).status_code == 422

    other = f"{graph_name}-grid"
    make_graph(http, other, grid_csv(4, 5), offtree_ratio=0.1)
    for target in ("graph", "sparsifier"):
        g, seq = snapshot_graph(http, other, "edges" if target == "graph" else "sparsifier")
        res = http.get(f"/v1/graphs/{other}/analysis/chordal-completion", params={"target": target}).json()
        assert res["seq"] == seq and res["target"] == target
        assert res["already_chordal"] is nx.is_chordal(g)
        full = g.copy()
        full.add_edges_from(res["fill_edges"])
        assert nx.is_chordal(full) and not set(map(frozenset, res["fill_edges"])) & set(map(frozenset, g.edges))
        assert_peo(full, res["elimination_order"])
        for edge in res["fill_edges"]:  # inclusion-minimal: no single fill edge can go
            less = full.copy()
            less.remove_edge(*edge)
            assert not nx.is_chordal(less)
    assert http.delete(f"/v1/graphs/{other}").status_code == 204


def test_stored_verify_peo_star(http: httpx.Client, graph_name: str) -> None:
    make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n0,2,1.0\n0,3,1.0\n")  # star, centre 0
    url = f"/v1/graphs/{graph_name}/analysis/verify-peo"
    r = http.post(url, json={"ordering": [0, 1, 2, 3]})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["is_peo"] is False and res["graph"] == graph_name and res["target"] == "graph"
    assert res["violation"] == {"vertex": 0, "parent": 1, "non_adjacent_pair": [1, 2]}
    assert r.headers["x-sparsewire-cache"] == "miss"
    assert http.post(url, json={"ordering": [0, 1, 2, 3]}).headers["x-sparsewire-cache"] == "hit"
    good = http.post(url, json={"ordering": [3, 2, 1, 0]})
    assert good.headers["x-sparsewire-cache"] == "miss" and good.json()["is_peo"] is True
    assert good.json()["violation"] is None
    # ids as strings on an integer graph, and the sparsifier (a tree on 4 nodes keeps every edge)
    assert http.post(url, json={"ordering": ["3", "2", "1", "0"]}).json()["is_peo"] is True
    sp = http.post(url, params={"target": "sparsifier"}, json={"ordering": [1, 2, 3, 0]}).json()
    assert sp["target"] == "sparsifier" and sp["is_peo"] is True
    bad = http.post(url, json={"ordering": [0, 1, 1, 9]}).json()
    assert bad["is_peo"] is False
    assert bad["input_errors"] == {"missing": [2, 3], "duplicates": [1], "unknown": [9]}
    # the ordering is required; edge-value options do not apply to stored graphs; GET is not a route
    assert http.post(url, json={}).status_code == 422
    r = http.post(url, json={"ordering": [0], "w_max": 2})
    assert r.status_code == 422 and "w_max" in r.json()["error"]["message"]
    assert http.get(url).status_code == 405
    assert http.post("/v1/graphs/no-such-graph/analysis/verify-peo", json={"ordering": []}).status_code == 404


def test_stored_perturbation_get_and_post(http: httpx.Client, graph_name: str) -> None:
    make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n1,2,1.0\n")  # path 0-1-2
    url = f"/v1/graphs/{graph_name}/analysis/perturbation"
    # spec §5: P3 grounded at the middle with kappa = 1 moves the zero eigenvalue to 2 - sqrt 3
    r = http.post(url, json={"goal": "stabilize", "allowed_pairs": [], "ground": True, "weight_grid": [1.0],
                             "top_k": 3})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["graph"] == graph_name and res["goal"] == "stabilize" and "note" in res and "warnings" in res
    best = res["suggestions"][0]
    assert best["kind"] == "ground" and best["ground"] == 1
    assert best["exact_shift"] == pytest.approx(2 - math.sqrt(3), abs=1e-9)
    assert r.headers["x-sparsewire-cache"] == "miss"
    # GET with query options = the stateless check on the same graph
    got = http.get(url, params={"ground": "true", "weight_grid": ["1.0", "0.5"], "top_k": 4})
    assert got.status_code == 200, got.text
    ref = post(http, "perturbation", [e(0, 1, 1.0), e(1, 2, 1.0)], directed=False,
               options={"ground": True, "weight_grid": [1.0, 0.5], "top_k": 4})
    assert got.json()["suggestions"] == ref["suggestions"] and len(ref["suggestions"]) == 4
    assert http.get(url, params={"ground": "true", "weight_grid": ["1.0", "0.5"], "top_k": 4}
                    ).headers["x-sparsewire-cache"] == "hit"
    obs = http.get(url, params={"goal": "observe", "hidden": "2", "sign": "1"}).json()
    ref = post(http, "perturbation", [e(0, 1, 1.0), e(1, 2, 1.0)], directed=False,
               options={"goal": "observe", "hidden": [2], "sign": 1})
    assert obs["suggestions"] == ref["suggestions"] and obs["before"]["unobservable_dim"] == 0
    # allowed_pairs only in the body; ids may be strings on an integer graph
    res = http.post(url, json={"allowed_pairs": [["0", "2"]], "weight_grid": [0.1], "top_k": 1}).json()
    assert res["candidates_evaluated"] == 1 and res["suggestions"][0]["edge"] == {"source": 0, "target": 2}
    for bad in ({"weight_grid": "-1"}, {"top_k": "0"}, {"sign": "2"}, {"goal": "explode"}):
        assert http.get(url, params=bad).status_code == 422, bad
    assert http.post(url, json={"goal": "observe"}).status_code == 422  # needs hidden
    assert http.post(url, json={"scale": 2.0}).status_code == 422


def test_stored_consensus_post_with_initial_state(http: httpx.Client, graph_name: str) -> None:
    make_graph(http, graph_name, b"u,v,w\n0,1,1.0\n1,2,1.0\n")  # path 0-1-2: consensus on the average
    url = f"/v1/graphs/{graph_name}/analysis/consensus"
    r = http.post(url, json={"initial_state": [3.0, 0.0, 0.0], "hidden": ["2"]})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["regime"] == "consensus" and res["predicted_limit"] == pytest.approx([1.0, 1.0, 1.0])
    assert res["influence_share"] == pytest.approx(1 / 3) and res["graph"] == graph_name
    by_id = http.post(url, json={"initial_state": {"0": 3.0}, "hidden": [2]}).json()
    assert by_id["predicted_limit"] == pytest.approx([1.0, 1.0, 1.0])
    assert http.post(url, json={"initial_state": [3.0, 0.0, 0.0], "hidden": ["2"]}
                     ).headers["x-sparsewire-cache"] == "hit"
    # the GET has no initial_state; both agree on the rest
    got = http.get(url, params={"hidden": "2"}).json()
    assert got["predicted_limit"] is None and got["spectrum"] == res["spectrum"]
    assert http.post(url, json={"initial_state": [1.0, "x", 0.0]}).status_code == 422
    assert http.post(url, json={"tau": 0.5}).status_code == 422


def test_read_role_suffices_and_is_required(server_factory, graph_name: str) -> None:  # noqa: ANN001
    srv = server_factory(tokens="r:read,w:write")
    body = {"edges": BALANCED_TRIANGLE, "directed": False}
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        w = {"authorization": "Bearer w"}
        assert c.post("/v1/graphs", json={"name": graph_name, "params": PARAMS}, headers=w).status_code == 201
        assert c.post(f"/v1/graphs/{graph_name}/import", content=grid_csv(2, 2), headers=w).status_code == 200
        for headers in ({}, {"authorization": "Bearer nope"}):
            assert c.post("/v1/analysis/balance", json=body, headers=headers).status_code == 401
            assert c.get(f"/v1/graphs/{graph_name}/analysis/balance", headers=headers).status_code == 401
            assert c.post(f"/v1/graphs/{graph_name}/analysis/verify-peo", json={"ordering": [0, 1, 2, 3]},
                          headers=headers).status_code == 401
        r = {"authorization": "Bearer r"}
        assert c.post("/v1/analysis/balance", json=body, headers=r).json()["balanced"] is True
        assert c.get(f"/v1/graphs/{graph_name}/analysis/chordal", headers=r).json()["chordal"] is False
        assert c.post(f"/v1/graphs/{graph_name}/analysis/verify-peo", json={"ordering": [0, 1, 2, 3]},
                      headers=r).json()["is_peo"] is False  # a 2x2 grid is a C4
        assert len(c.get(f"/v1/graphs/{graph_name}/analysis/chordal-completion", headers=r).json()["fill_edges"]) == 1


def test_chunked_body_over_the_limit_413(server_factory) -> None:  # noqa: ANN001
    srv = server_factory(max_body_bytes=4096)
    big = json.dumps({"edges": [e(i, i + 1, 1.0) for i in range(200)]}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware cannot see the size
        for k in range(0, len(big), 1000):
            yield big[k:k + 1000]

    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/analysis/chordal", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert c.post("/v1/analysis/chordal", json={"edges": C4}).json()["chordal"] is False
