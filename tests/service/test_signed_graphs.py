"""Stored signed graphs over real HTTP, websockets and Redis: signed weights in every view, opposite-sign
insertions refused, live structural balance published as ``balance`` frames, and all of it surviving a kill -9."""

from __future__ import annotations

import asyncio
import json
import uuid

import numpy as np
import websockets

from .conftest import Api, apply_delta, data_file, edge_map
from .test_deltas import ws_url


async def read_until(ws, seq: int, last: str = "delta") -> list[dict]:  # noqa: ANN001
    """Frames (heartbeats dropped) up to the ``last``-type frame of ``seq``."""
    out: list[dict] = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "heartbeat":
            continue
        out.append(frame)
        if frame.get("seq") == seq and frame["type"] == last:
            return out


def assert_negative_cycle(g: dict[tuple, float], frame: dict) -> None:
    """The witness is a closed walk of edges of G whose sign product is negative."""
    cycle, edges = frame["negative_cycle"], frame["negative_cycle_edges"]
    assert frame["balanced"] is False and len(cycle) >= 3 and len(edges) == len(cycle)
    for k, e in enumerate(edges):
        key = (min(e["source"], e["target"]), max(e["source"], e["target"]))
        assert g[key] == e["weight"], f"witness edge {key} is not an edge of G with that weight"
        assert {e["source"], e["target"]} == {cycle[k], cycle[(k + 1) % len(cycle)]}
    assert np.prod(np.sign([e["weight"] for e in edges])) < 0


def assert_camps(g: dict[tuple, float], frame: dict, nodes: int) -> None:
    assert frame["balanced"] is True and frame["negative_cycle"] is None
    side = dict.fromkeys(frame["camp_plus"], 1) | dict.fromkeys(frame["camp_minus"], -1)
    assert len(side) == nodes == len(frame["camp_plus"]) + len(frame["camp_minus"])
    for (a, b), w in g.items():
        assert side[a] * side[b] == np.sign(w), f"edge {(a, b)} is frustrated by the published camps"


async def test_signed_graph_lifecycle(api: Api, server, graph_name: str) -> None:  # noqa: ANN001
    info = api.create(graph_name, signed=True)
    assert info["signed"] is True and info["balanced"] is True
    async with websockets.connect(ws_url(server, graph_name, 0)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        r1 = api.update(graph_name, [{"op": "insert", "u": 0, "v": 1, "w": -1.5},
                                     {"op": "insert", "u": 1, "v": 2, "w": 2.0},
                                     {"op": "insert", "u": 2, "v": 3, "w": -1.0}])
        assert [x["status"] for x in r1["results"]] == ["applied"] * 3
        assert sorted(map(tuple, r1["delta"]["added"])) == [(0, 1, -1.5), (1, 2, 2.0), (2, 3, -1.0)]
        # an odd triangle 0-1-2: the verdict changes
        r2 = api.update(graph_name, [{"op": "insert", "u": 0, "v": 2, "w": 1.0}])
        assert api.info(graph_name)["balanced"] is False
        # the opposite sign is refused by index, nothing applied
        bad = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [
            {"op": "insert", "u": 5, "v": 6, "w": 1.0}, {"op": "insert", "u": 1, "v": 0, "w": 4.0},
            {"op": "insert", "u": 6, "v": 7, "w": 0.0}]})
        assert bad.status_code == 422, bad.text
        assert [d["index"] for d in bad.json()["error"]["details"]] == [1, 2]
        assert "cannot flip a sign" in bad.json()["error"]["details"][0]["error"]
        assert api.info(graph_name)["seq"] == r2["seq"]
        # delete + insert in one batch flips the sign: balanced again
        r3 = api.update(graph_name, [{"op": "delete", "u": 1, "v": 0}, {"op": "insert", "u": 0, "v": 1, "w": 2.5}])
        assert api.info(graph_name)["balanced"] is True
        frames = await read_until(ws, r3["seq"])
    g = api.g(graph_name)
    assert g == {(0, 1): 2.5, (1, 2): 2.0, (2, 3): -1.0, (0, 2): 1.0}
    kinds = [(f["type"], f["seq"], f["cursor"]) for f in frames]
    assert kinds == [("delta", 1, "1"), ("balance", 2, "1"), ("delta", 2, "2"), ("balance", 3, "2"),
                     ("delta", 3, "3")]
    g2 = {(0, 1): -1.5, (1, 2): 2.0, (2, 3): -1.0, (0, 2): 1.0}
    assert_negative_cycle(g2, frames[1])
    assert_camps(g, frames[3], nodes=4)
    # the deltas carry signed weights and replay to the sparsifier snapshot
    h: dict[tuple, float] = {}
    for f in frames:
        if f["type"] == "delta":
            h = apply_delta(h, f["delta"])
    assert h == api.h(graph_name)
    assert all(g[k] == w for k, w in h.items())  # H's signed weights are G's
    # stored analysis sees the signs
    bal = api.http.get(f"/v1/graphs/{graph_name}/analysis/balance").json()
    assert bal["balanced"] is True
    # resuming from the cursor before a balance frame replays it and its delta, no more
    async with websockets.connect(ws_url(server, graph_name, 2)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        again = await read_until(ws, 3)
    assert [(f["type"], f["seq"]) for f in again] == [("balance", 3), ("delta", 3)]


async def test_signed_state_survives_kill9_and_snapshots(server_factory) -> None:  # noqa: ANN001
    srv = server_factory(snapshot_every_ops=7)
    api = Api(srv.url)
    name = f"signed-{uuid.uuid4().hex[:8]}"
    try:
        api.create(name, signed=True)
        rng = np.random.default_rng(5)
        truth: dict[tuple, float] = {}
        for _ in range(12):  # snapshots every 7 ops: recovery is snapshot + replayed signed batches
            ops = []
            for _ in range(4):
                a, b = (int(x) for x in rng.choice(9, 2, replace=False))
                key = (min(a, b), max(a, b))
                if key in truth and rng.random() < 0.4:
                    ops.append({"op": "delete", "u": a, "v": b})
                    truth.pop(key)
                elif key not in truth and not any((min(o["u"], o["v"]), max(o["u"], o["v"])) == key for o in ops):
                    w = float(rng.choice([-2.0, -1.0, 1.0, 0.5]))
                    ops.append({"op": "insert", "u": a, "v": b, "w": w})
                    truth[key] = w
            if ops:
                api.update(name, ops)
        before = api.info(name)
        assert api.g(name) == truth
        srv.kill()
        srv.start()
        after = api.info(name)
        assert after["seq"] == before["seq"] and after["balanced"] == before["balanced"]
        assert api.g(name) == truth
        # the rebuilt tracker keeps working: a frustrated triangle makes (or keeps) it unbalanced
        api.update(name, [{"op": "insert", "u": 20, "v": 21, "w": -1.0},
                                    {"op": "insert", "u": 21, "v": 22, "w": -1.0},
                                    {"op": "insert", "u": 20, "v": 22, "w": -1.0}])
        assert api.info(name)["balanced"] is False
    finally:
        api.close()
        srv.stop()


async def test_signed_import_publishes_verdict(api: Api, server, graph_name: str) -> None:  # noqa: ANN001
    path = data_file("signed/derived/highland_tribes_gama.csv")
    api.create(graph_name, signed=True)
    async with websockets.connect(ws_url(server, graph_name, 0)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        info = await asyncio.to_thread(api.import_, graph_name, path.read_bytes())
        frames = await read_until(ws, 1, last="reset")
    g = edge_map(api.snap(graph_name, "edges"))
    assert min(g.values()) < 0 < max(g.values())
    stateless = api.http.post("/v1/analysis/balance", json={
        "nodes": sorted({x for e in g for x in e}),
        "edges": [{"source": a, "target": b, "weight": w} for (a, b), w in g.items()]}).json()
    assert info["balanced"] is stateless["balanced"] is False
    assert [f["type"] for f in frames] == ["balance", "reset"]
    assert_negative_cycle(g, frames[0])


def test_sdk_hands_out_balance_events(server, graph_name: str) -> None:  # noqa: ANN001
    from sparsewire.clients.sdk import BalanceEvent, Client, DeltaEvent  # noqa: PLC0415

    with Client(server.url) as client:
        client.create_graph(graph_name, signed=True, params={"K": 10.0, "walkers": 32, "steps": 40, "seed": 1})
        client.updates(graph_name, [
            {"op": "insert", "u": 1, "v": 2, "w": -1.0}, {"op": "insert", "u": 2, "v": 3, "w": -1.0}])
        client.updates(graph_name, [{"op": "insert", "u": 1, "v": 3, "w": -2.0}])
        with client.subscribe(graph_name, cursor=0) as sub:
            events = [next(sub) for _ in range(3)]
    assert [type(e) for e in events] == [DeltaEvent, BalanceEvent, DeltaEvent]
    assert events[1].seq == 2 and events[1].balanced is False and sorted(events[1].negative_cycle) == [1, 2, 3]
    assert sub.cursor == "2"
