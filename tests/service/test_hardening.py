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


def test_cross_site_writes_and_websockets_are_refused(server_factory, graph_name: str) -> None:  # noqa: ANN001
    """CSRF / cross-site websocket hijacking: a foreign page can POST text/plain without a preflight and can open
    websockets; the service refuses foreign Origins on writes and websockets, and non-JSON update bodies."""
    srv = server_factory(allowed_origins="https://dash.example")
    api = Api(srv.url)
    api.small_graph(graph_name, 4, 4)
    before = api.g(graph_name)
    batch = json.dumps({"ops": [{"op": "insert", "u": 0, "v": 15, "w": 1.0}]})
    evil = {"origin": "https://evil.example"}
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", content=batch, headers={**evil, "content-type": "text/plain"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_origin"
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", content=batch, headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]["message"]
    r = api.http.post("/v1/graphs", json={"name": graph_name + "-x"}, headers=evil)
    assert r.status_code == 403
    assert api.g(graph_name) == before and api.http.get(f"/v1/graphs/{graph_name}-x").status_code == 404
    # reads, the service's own origin and the allowed one pass
    assert api.http.get(f"/v1/graphs/{graph_name}", headers=evil).status_code == 200
    own = {"origin": srv.url, "content-type": "application/json"}
    assert api.http.post(f"/v1/graphs/{graph_name}/updates", content=batch, headers=own).status_code == 200
    dash = {"origin": "https://dash.example", "content-type": "application/json"}
    assert api.http.post(f"/v1/graphs/{graph_name}/updates", content=batch, headers=dash).status_code == 200

    async def handshake(origin: str) -> str:
        try:
            async with websockets.connect(f"{srv.ws_url}/v1/graphs/{graph_name}/deltas",
                                          additional_headers={"Origin": origin}, open_timeout=30):
                return "open"
        except websockets.exceptions.InvalidStatus as exc:
            return str(exc.response.status_code)

    assert asyncio.run(handshake("https://evil.example")) == "403"
    assert asyncio.run(handshake("https://dash.example")) == "open"
    api.close()
