"""Regressions for what an adversarial review found: deletes racing writers, idle subscribers, bombs, extremes."""

from __future__ import annotations

import asyncio
import gzip
import json

import websockets

from .conftest import Api, grid_csv


async def _ingest_around_delete(server, name: str) -> list[dict]:  # noqa: ANN001
    api = Api(server.url)
    acks = []
    async with websockets.connect(f"{server.ws_url}/v1/graphs/{name}/ingest") as ws:
        await ws.recv()
        for k in range(3):
            await ws.send(json.dumps({"id": f"before-{k}", "ops": [{"op": "insert", "u": 1000 + k, "v": 2000 + k}]}))
            acks.append(json.loads(await ws.recv()))
        assert api.http.delete(f"/v1/graphs/{name}").status_code == 204
        for k in range(3):
            await ws.send(json.dumps({"id": f"after-{k}", "ops": [{"op": "insert", "u": 3000 + k, "v": 4000 + k}]}))
            acks.append(json.loads(await ws.recv()))
    api.close()
    return acks


def test_writes_after_delete_are_refused_and_the_name_starts_clean(server, graph_name: str) -> None:  # noqa: ANN001
    api = Api(server.url)
    api.small_graph(graph_name, 4, 4)
    acks = asyncio.run(_ingest_around_delete(server, graph_name))
    assert all("seq" in a for a in acks[:3])
    assert [a["error"]["code"] for a in acks[3:]] == ["not_found"] * 3
    api.create(graph_name)
    assert api.info(graph_name)["nodes"] == 0 and api.info(graph_name)["seq"] == 0
    reply = api.update(graph_name, [{"op": "insert", "u": 0, "v": 1, "w": 1.0}])
    assert reply["seq"] == 1
    assert api.g(graph_name) == {(0, 1): 1.0}
    api.close()


async def _first_heartbeat(server, name: str) -> dict:  # noqa: ANN001
    async with websockets.connect(f"{server.ws_url}/v1/graphs/{name}/deltas") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        return json.loads(await asyncio.wait_for(ws.recv(), 20))


def test_idle_subscriber_gets_heartbeats_beyond_the_redis_client_timeout(server_factory, graph_name: str) -> None:
    """redis-py's default 5 s socket timeout used to kill every XREAD BLOCK longer than that (4503)."""
    srv = server_factory(heartbeat_seconds=7)
    api = Api(srv.url)
    api.small_graph(graph_name, 3, 3)
    assert asyncio.run(_first_heartbeat(srv, graph_name))["type"] == "heartbeat"
    api.close()


def test_gzip_bomb_and_huge_headers_are_refused_before_allocation(server_factory, graph_name: str) -> None:
    srv = server_factory(max_import_bytes=5_000_000, max_graph_nodes=1_000_000)
    api = Api(srv.url)
    for k, body in enumerate([
        gzip.compress(b"\n" * 50_000_000, 9),  # 49 KB that inflates to 50 MB
        b"%%MatrixMarket matrix coordinate real symmetric\n120000000 120000000 1\n2 1 1.0\n",
        b"%%MatrixMarket matrix coordinate real symmetric\n1000000000000 1000000000000 1\n2 1 1.0\n",
        b"0,1000000000000000000,1\n",
    ]):
        api.create(f"{graph_name}-{k}")
        r = api.http.post(f"/v1/graphs/{graph_name}-{k}/import", content=body)
        assert r.status_code == 413, (k, r.status_code, r.text[:200])
        assert api.info(f"{graph_name}-{k}")["nodes"] == 0
    r = api.http.post("/v1/graphs", json={"name": f"{graph_name}-ids", "params": {}})
    assert r.status_code == 201
    r = api.http.post(f"/v1/graphs/{graph_name}-ids/updates", json={"ops": [{"op": "insert", "u": 0, "v": 5_000_000}]})
    assert r.status_code == 422 and "out of range" in r.text
    api.close()


def test_extreme_weights_empty_batches_and_bad_frames(server, graph_name: str) -> None:  # noqa: ANN001
    api = Api(server.url)
    api.create(graph_name)
    api.import_(graph_name, grid_csv(3, 3))
    for w in (1e308, 1e-320, 1e101):
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "insert", "u": 0, "v": 4, "w": w}]})
        assert r.status_code == 422, (w, r.text)
    assert api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": []}).status_code == 422
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": [{"op": "insert", "u": 0, "v": 4, "w": "1"}]})
    assert r.status_code == 422
    r = api.http.post("/v1/analysis/consensus", json={"edges": [{"source": 0, "target": 1, "weight": 1e308}]})
    assert r.status_code == 422
    assert api.info(graph_name)["seq"] == 1

    async def frames() -> tuple[dict, int | None]:
        async with websockets.connect(f"{server.ws_url}/v1/graphs/{graph_name}/ingest") as ws:
            await ws.recv()
            await ws.send(b"\x00\x01binary")
            ack = json.loads(await ws.recv())
        try:
            async with websockets.connect(f"{server.ws_url}/v1/graphs/{graph_name}/deltas?cursor={'9' * 5000}") as ws:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return ack, exc.rcvd.code if exc.rcvd else None
        return ack, None

    ack, code = asyncio.run(frames())
    assert ack["error"]["code"] == "invalid_request" and "input" not in json.dumps(ack["error"].get("details"))
    assert code == 4400
    api.close()
