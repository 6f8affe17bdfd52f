"""Stored directed graphs over real HTTP, websockets and Redis: arcs keep their direction in every view, no
sparsifier is claimed (409 where one is asked for), the analysis routes see a directed graph, and it all survives
a kill -9 like an undirected graph."""

from __future__ import annotations

import asyncio
import json
import uuid

import numpy as np
import pytest
import scipy.sparse as sp
import websockets
from scipy.sparse.csgraph import connected_components

from sparsewire.analysis.balance import structural_balance
from sparsewire.analysis.graph import SignedGraph
from sparsewire.engine.mmio import read_graph

from .conftest import Api, data_file
from .test_deltas import ws_url


def arcs(snapshot: dict) -> dict[tuple, float]:
    """``{(source, target): w}`` of a JSON edge snapshot (direction kept)."""
    return {(u, v): w for u, v, w in snapshot["edges"]}


def results(reply: dict) -> list[tuple[str, str]]:
    return [(r["status"], r["action"]) for r in reply["results"]]


async def test_directed_graph_lifecycle(api: Api, server, graph_name: str) -> None:  # noqa: ANN001
    info = api.create(graph_name, directed=True)
    assert (info["directed"], info["sparsifier_edges"], info["density"], info["backend"]) == (True, None, None, "none")
    async with websockets.connect(ws_url(server, graph_name, 0)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        r1 = api.update(graph_name, [{"op": "insert", "u": 0, "v": 1, "w": 2.0},
                                     {"op": "insert", "u": 1, "v": 0, "w": 3.0},  # the reverse arc is another arc
                                     {"op": "insert", "u": 0, "v": 1, "w": 1.0},  # merges: 3.0
                                     {"op": "insert", "u": 2, "v": 1}])
        assert results(r1) == [("applied", "unchanged"), ("applied", "unchanged"), ("merged", "unchanged"),
                               ("applied", "unchanged")]
        assert r1["delta"] == {"added": [], "removed": [], "reweighted": []}
        r2 = api.update(graph_name, [{"op": "delete", "u": 1, "v": 0}, {"op": "delete", "u": 1, "v": 0},
                                     {"op": "delete", "u": 1, "v": 2}])
        assert [s for s, _ in results(r2)] == ["applied", "absent", "absent"]
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
    assert [(f["type"], f["seq"], f["delta"]["added"]) for f in frames] == [("delta", 1, []), ("delta", 2, [])]
    assert arcs(api.snap(graph_name, "edges")) == {(0, 1): 3.0, (2, 1): 1.0}
    info = api.info(graph_name)
    assert (info["nodes"], info["edges"], info["seq"]) == (3, 2, 2)
    assert (info["components_graph"], info["components_sparsifier"]) == (1, None)  # weakly connected
    # a bad batch is refused by index and nothing of it applied
    bad = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [
        {"op": "insert", "u": 4, "v": 5, "w": 1.0}, {"op": "insert", "u": 3, "v": 3, "w": 1.0},
        {"op": "insert", "u": 5, "v": 4, "w": -1.0}]})
    assert bad.status_code == 422, bad.text
    assert [d["index"] for d in bad.json()["error"]["details"]] == [1, 2]
    assert api.info(graph_name)["edges"] == 2
    # no sparsifier: the routes that need one say so
    for path in ("sparsifier", "quality", "analysis/balance?target=sparsifier"):
        r = api.http.get(f"/v1/graphs/{graph_name}/{path}")
        assert r.status_code == 409 and "directed" in r.json()["error"]["message"], (path, r.text)
    # Matrix Market out: a general matrix with A[target, source]; reads back as the same arcs
    mtx = api.http.get(f"/v1/graphs/{graph_name}/edges", params={"format": "mtx"}).text
    assert mtx.startswith("%%MatrixMarket matrix coordinate real general")
    back = read_graph(mtx.encode(), directed=True)
    assert {(int(a), int(b)): w for a, b, w in zip(back.u, back.v, back.w, strict=True)} == {(0, 1): 3.0, (2, 1): 1.0}


def test_directed_analysis_sees_directions(api: Api, graph_name: str) -> None:
    """A negative directed 3-cycle: balance ignores direction (unbalanced), the directed consensus regime does
    not (its Laplacian is not symmetric); stored and stateless answers agree."""
    api.create(graph_name, directed=True, signed=True)
    cycle = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, -1.0)]
    api.update(graph_name, [{"op": "insert", "u": a, "v": b, "w": w} for a, b, w in cycle])
    body = {"nodes": [0, 1, 2], "edges": [{"source": a, "target": b, "weight": w} for a, b, w in cycle],
            "directed": True}
    for check in ("balance", "consensus"):
        stored = api.http.get(f"/v1/graphs/{graph_name}/analysis/{check}")
        assert stored.status_code == 200, stored.text
        stateless = api.http.post(f"/v1/analysis/{check}", json=body).json()
        got = {k: v for k, v in stored.json().items() if k not in ("graph", "target", "seq", "cursor")}
        assert got == stateless, check
    assert stored.json()["target"] == "graph"
    assert api.http.get(f"/v1/graphs/{graph_name}/analysis/balance").json()["balanced"] is False


def test_bitcoin_otc_imports_as_a_directed_signed_graph(api: Api, graph_name: str) -> None:
    path = data_file("signed/soc-sign-bitcoinotc.csv.gz")  # skips when ../shared/data is absent
    api.create(graph_name, directed=True, signed=True)
    info = api.import_(graph_name, path.read_bytes())
    truth = read_graph(path, directed=True, signed=True)
    # an int graph's vertices are 0 .. max id (6005); 5,881 of them have arcs
    assert (info["nodes"], info["edges"], info["sparsifier_edges"], truth.m) == (6006, 35592, None, 35592)
    got = arcs(api.snap(graph_name, "edges"))
    weak = connected_components(sp.coo_array((np.ones(len(got)), tuple(np.array(list(got)).T)), shape=(6006, 6006)),
                                directed=True, connection="weak")[0]
    assert info["components_graph"] == weak
    expect = {(truth.external_id(a), truth.external_id(b)): w for a, b, w in
              zip(truth.u.tolist(), truth.v.tolist(), truth.w.tolist(), strict=True)}
    assert got == expect
    assert any((b, a) not in got for a, b in got)  # really directed: some arcs have no reverse
    stored = api.http.get(f"/v1/graphs/{graph_name}/analysis/balance", params={"frustration": "none"}).json()
    ids = sorted({x for e in got for x in e})
    index = {x: k for k, x in enumerate(ids)}
    u = np.array([index[a] for a, _ in got]), np.array([index[b] for _, b in got])
    local = structural_balance(SignedGraph.from_arrays(len(ids), *u, np.array(list(got.values())), directed=True,
                                                       ids=ids), frustration="none").to_dict()
    assert stored["balanced"] is local["balanced"] is False
    assert len(stored["negative_cycle"]) == len(local["negative_cycle"])


@pytest.mark.parametrize("node_ids", ["int", "str"])
async def test_directed_graph_survives_kill9_and_snapshots(server_factory, node_ids: str) -> None:  # noqa: ANN001
    srv = server_factory(snapshot_every_ops=7)
    api = Api(srv.url)
    name = f"directed-{uuid.uuid4().hex[:8]}"
    ident = (lambda x: x) if node_ids == "int" else (lambda x: f"n{x}")
    try:
        api.create(name, directed=True, signed=True, node_ids=node_ids)
        rng = np.random.default_rng(11)
        truth: dict[tuple, float] = {}
        for _ in range(15):  # snapshots every 7 ops: recovery is a snapshot plus replayed batches
            ops = []
            for _ in range(5):
                a, b = (ident(int(x)) for x in rng.choice(8, 2, replace=False))
                if (a, b) in truth and rng.random() < 0.4:
                    ops.append({"op": "delete", "u": a, "v": b})
                    truth.pop((a, b))
                else:
                    w = float(rng.choice([-2.0, -1.0, 1.0, 0.5]))
                    ops.append({"op": "insert", "u": a, "v": b, "w": w})
                    total = truth.get((a, b), 0.0) + w
                    if total == 0.0:
                        truth.pop((a, b), None)  # a signed merge that sums to 0 removes the arc
                    else:
                        truth[(a, b)] = total
            api.update(name, ops)
        before = api.info(name)
        assert arcs(api.snap(name, "edges")) == truth
        srv.kill()
        srv.start()
        after = api.info(name)
        assert (after["seq"], after["edges"], after["nodes"]) == (before["seq"], len(truth), before["nodes"])
        assert arcs(api.snap(name, "edges")) == truth
        api.update(name, [{"op": "insert", "u": ident(20), "v": ident(21), "w": 1.0}])
        assert api.info(name)["seq"] == before["seq"] + 1
    finally:
        api.close()
        srv.stop()
