"""Streaming ingestion, continued: roles on the websocket and NDJSON channels, a frame id reused with another
body, and the ingest metrics (frames by result, the in-flight window, acknowledgement times), the graph-size
gauges and the subscribers' delta-lag histogram."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from .conftest import Api, Server, apply_ops, metric_value

TOKENS = {"read": "r", "write": "w", "admin": "a"}
N = 50  # ring vertices


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Server]:
    # a small kernel send buffer lets a client that stops reading acknowledgements hold the window full
    server = Server(redis_url, tmp_path_factory.mktemp("ingest-more"), tokens="r:read,w:write,a:admin",
                    socket_send_buffer_bytes=4096).start()
    yield server
    server.stop()


@pytest.fixture
def api(srv: Server) -> Iterator[Api]:
    client = Api(srv.url, token=TOKENS["admin"])
    yield client
    client.close()


def _ring(api: Api, name: str) -> dict:
    api.create(name)
    return api.update(name, [{"op": "insert", "u": i, "v": (i + 1) % N, "w": 1.0} for i in range(N)])


def _auth(role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {TOKENS[role]}"}


def _ingest_url(srv: Server, name: str) -> str:
    return f"{srv.ws_url}/v1/graphs/{name}/ingest"


def _ndjson(srv: Server, name: str, frames: list[dict], headers: dict[str, str]) -> httpx.Response:
    body = "".join(json.dumps(f) + "\n" for f in frames)
    return httpx.post(f"{srv.url}/v1/graphs/{name}/updates", content=body, timeout=60,
                      headers={"content-type": "application/x-ndjson", **headers})


async def _refused(url: str, frame: dict, **kw: object) -> tuple[int, str]:
    """Open an ingest socket, try to send a frame at once, and return the close code and reason."""
    async with websockets.connect(url, open_timeout=30, **kw) as ws:
        try:
            await ws.send(json.dumps(frame))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert msg.get("type") != "hello", f"the server accepted the ingest stream: {msg}"
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError("not closed")


async def _ingest(url: str, frames: list[dict], **kw: object) -> tuple[dict, list[dict]]:
    """Send every frame (without waiting for acknowledgements), then read one acknowledgement per frame."""
    async with websockets.connect(url, open_timeout=30, max_size=None, **kw) as ws:
        hello = json.loads(await ws.recv())
        for f in frames:
            await ws.send(json.dumps(f))
        acks = [json.loads(await asyncio.wait_for(ws.recv(), 60)) for _ in frames]
    return hello, acks


# ---------------------------------------------------------------------------------------------------- roles


def test_ingest_and_ndjson_need_the_write_role(srv: Server, api: Api, graph_name: str) -> None:
    start = _ring(api, graph_name)["seq"]
    url = _ingest_url(srv, graph_name)
    frame = {"id": "role-0", "ops": [{"op": "insert", "u": 0, "v": 25, "w": 1.0}]}
    refused = (4401, "missing or unknown bearer token (ingest needs the write role)")
    assert asyncio.run(_refused(url, frame)) == refused
    assert asyncio.run(_refused(url, frame, additional_headers={"authorization": "Bearer nope"})) == refused
    # a valid read token is not enough: 4403, as HTTP answers 403
    forbidden = (4403, "this channel needs the 'write' role")
    assert asyncio.run(_refused(url, frame, additional_headers=_auth("read"))) == forbidden
    assert asyncio.run(_refused(url + "?token=r", frame)) == forbidden

    r = _ndjson(srv, graph_name, [frame], {})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = _ndjson(srv, graph_name, [frame], _auth("read"))
    assert r.status_code == 403, r.text
    assert r.json()["error"] == {"code": "forbidden", "message": "this route needs the 'write' role"}
    assert api.info(graph_name)["seq"] == start, "a refused stream applied something"
    assert (0, 25) not in api.g(graph_name)

    # write (header or ?token=) and admin tokens stream
    for k, kw in enumerate(({"additional_headers": _auth("write")}, {"additional_headers": _auth("admin")})):
        f = {"id": f"ws-{k}", "ops": [{"op": "insert", "u": k, "v": k + 25, "w": 1.0}]}
        hello, acks = asyncio.run(_ingest(url, [f], **kw))
        assert hello["type"] == "hello" and hello["window"] >= 1
        assert [(a["id"], a["seq"]) for a in acks] == [(f["id"], start + k + 1)]
    hello, acks = asyncio.run(_ingest(url + "?token=w", [{"id": "q", "ops": [{"op": "insert", "u": 2, "v": 27}]}]))
    assert [(a["id"], a["seq"]) for a in acks] == [("q", start + 3)]
    r = _ndjson(srv, graph_name, [{"id": "nd", "ops": [{"op": "insert", "u": 3, "v": 28, "w": 1.0}]}], _auth("write"))
    assert r.status_code == 200
    assert [(a["id"], a["seq"]) for a in map(json.loads, r.text.splitlines())] == [("nd", start + 4)]
    g = api.g(graph_name)
    assert all(g[(k, k + 25)] == 1.0 for k in range(4))


# ---------------------------------------------------------------------------------------------------- frame ids


def test_frame_id_reused_with_another_body_is_refused(srv: Server, api: Api, graph_name: str) -> None:
    g0 = {(min(i, (i + 1) % N), max(i, (i + 1) % N)): 1.0 for i in range(N)}
    start = _ring(api, graph_name)["seq"]
    url = _ingest_url(srv, graph_name)
    a = {"id": "x", "ops": [{"op": "insert", "u": 0, "v": 10, "w": 2.0}]}
    b = {"id": "x", "ops": [{"op": "insert", "u": 0, "v": 11, "w": 2.0}]}  # same id, another body
    c = {"id": "y", "ops": [{"op": "insert", "u": 1, "v": 20, "w": 1.0}]}
    d = {"id": "y", "ops": [{"op": "delete", "u": 1, "v": 20}]}  # `c` reused while `c` is still in flight
    _, acks = asyncio.run(_ingest(url, [a, b, a, c, d], additional_headers=_auth("write")))
    assert [x["id"] for x in acks] == ["x", "x", "x", "y", "y"]
    assert acks[0]["seq"] == start + 1 and acks[3]["seq"] == start + 2
    assert acks[2] == acks[0], "the same frame resent must get the first acknowledgement"
    for bad, key in ((acks[1], "ingest:x"), (acks[4], "ingest:y")):
        assert set(bad) == {"id", "error"}, bad
        assert bad["error"]["code"] == "invalid_input"
        assert bad["error"]["message"] == f"Idempotency-Key {key!r} was used before with a different request body"

    # the same over NDJSON (the ids are shared with the websocket channel), on a later connection
    r = _ndjson(srv, graph_name, [b, a, d, c], _auth("write"))
    assert r.status_code == 200
    nd = [json.loads(line) for line in r.text.splitlines()]
    assert [x["error"]["code"] for x in (nd[0], nd[2])] == ["invalid_input"] * 2
    assert nd[1] == acks[0] and nd[3] == acks[3]
    # nothing applied twice, nothing of the refused bodies applied
    assert api.info(graph_name)["seq"] == start + 2
    assert api.g(graph_name) == apply_ops(g0, a["ops"] + c["ops"])


# ---------------------------------------------------------------------------------------------------- metrics


def _diff(after: dict, before: dict, name: str, **labels: str) -> float:
    return metric_value(after, name, **labels) - metric_value(before, name, **labels)


def test_ingest_frame_metrics_graph_sizes_and_delta_lag(srv: Server, api: Api, graph_name: str) -> None:
    _ring(api, graph_name)  # seq 1
    before = api.metric_samples()
    url = _ingest_url(srv, graph_name)
    frames = [{"id": f"m{k}", "ops": [{"op": "insert", "u": k, "v": N + k, "w": 1.0}]} for k in range(5)]
    reused = {"id": "m0", "ops": [{"op": "insert", "u": 7, "v": 9, "w": 1.0}]}

    async def run() -> list[dict]:
        async with websockets.connect(url, additional_headers=_auth("write"), max_size=None) as ws:
            await ws.recv()
            for f in frames:
                await ws.send(json.dumps(f))
            await ws.send("{not json")
            await ws.send(json.dumps(reused))
            return [json.loads(await asyncio.wait_for(ws.recv(), 60)) for _ in range(7)]

    acks = asyncio.run(run())
    assert [a.get("seq") for a in acks] == [2, 3, 4, 5, 6, None, None]
    assert acks[5]["error"]["code"] == "invalid_request" and acks[6]["error"]["code"] == "invalid_input"
    m = _wait_metric(api, "sparsewire_ingest_inflight_frames", 0.0)
    assert _diff(m, before, "sparsewire_ingest_frames_total", result="applied") == 5
    assert _diff(m, before, "sparsewire_ingest_frames_total", result="invalid") == 1
    assert _diff(m, before, "sparsewire_ingest_frames_total", result="rejected") == 1
    assert _diff(m, before, "sparsewire_ingest_ack_seconds_count") == 7
    assert _diff(m, before, "sparsewire_batches_total", result="ok") == 5
    info = api.info(graph_name)
    assert info["nodes"] == N + 5  # vertices N .. N+4 are new
    assert metric_value(m, "sparsewire_graph_nodes", graph=graph_name) == info["nodes"]
    assert metric_value(m, "sparsewire_graph_edges", graph=graph_name) == info["edges"] == N + 5
    assert metric_value(m, "sparsewire_sparsifier_edges", graph=graph_name) == info["sparsifier_edges"]

    # a subscriber from cursor 1 while the head is 6: the five deltas go out 4, 3, 2, 1 and 0 batches behind
    async def follow() -> list[int]:
        async with websockets.connect(f"{srv.ws_url}/v1/graphs/{graph_name}/deltas?cursor=1",
                                      additional_headers=_auth("read")) as ws:
            assert json.loads(await ws.recv())["head"] == "6"
            seqs = [json.loads(await asyncio.wait_for(ws.recv(), 30))["seq"] for _ in range(5)]
            ws.transport.abort()  # the server answers a close only after its blocking log read returns
            return seqs

    assert asyncio.run(follow()) == [2, 3, 4, 5, 6]
    lag = api.metric_samples()
    assert _diff(lag, m, "sparsewire_delta_lag_batches_count") == 5
    assert _diff(lag, m, "sparsewire_delta_lag_batches_sum") == 4 + 3 + 2 + 1 + 0
    assert [_diff(lag, m, "sparsewire_delta_lag_batches_bucket", le=le) for le in ("0.0", "1.0", "2.0", "5.0")] \
        == [1, 2, 3, 5]


def _wait_metric(api: Api, name: str, want: float, timeout: float = 10.0, **labels: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        m = api.metric_samples()
        if metric_value(m, name, **labels) == want:
            return m
        assert time.monotonic() < deadline, f"{name} stayed at {metric_value(m, name, **labels)}, expected {want}"
        time.sleep(0.1)


def test_inflight_gauge_shows_the_full_window(srv: Server, api: Api, graph_name: str) -> None:
    """A producer that sends 40 large frames and reads no acknowledgement: the server holds exactly the announced
    window of frames read but unacknowledged (and stops reading); once the producer reads, all 40 are
    acknowledged and the gauge drops back to zero."""
    start = _ring(api, graph_name)["seq"]
    before = api.metric_samples()
    assert metric_value(before, "sparsewire_ingest_inflight_frames") == 0
    # one ring edge merged 2,000 times: ~90 KB acknowledgements that fill the small socket buffers at once
    frames = [{"id": f"w{k}", "ops": [{"op": "insert", "u": k % N, "v": (k + 1) % N, "w": 1.0}] * 2000}
              for k in range(40)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))

    async def run() -> tuple[int, int, list[dict]]:
        async with websockets.connect(_ingest_url(srv, graph_name), sock=sock, additional_headers=_auth("write"),
                                      max_size=None, max_queue=1, compression=None) as ws:
            window = json.loads(await ws.recv())["window"]

            async def send_all() -> None:
                for f in frames:
                    await ws.send(json.dumps(f))

            sender = asyncio.create_task(send_all())
            try:
                await asyncio.to_thread(_wait_metric, api, "sparsewire_ingest_inflight_frames", float(window), 30)
                await asyncio.sleep(0.5)  # stays there: the server reads no further frame
                assert metric_value(api.metric_samples(), "sparsewire_ingest_inflight_frames") == window
                applied = api.info(graph_name)["seq"] - start
                acks = [json.loads(await asyncio.wait_for(ws.recv(), 60)) for _ in frames]
                await sender
            finally:
                sender.cancel()
            return window, applied, acks

    window, applied, acks = asyncio.run(run())
    assert window == 16
    assert window <= applied < len(frames), applied
    assert [(a["id"], a["seq"]) for a in acks] == [(f["id"], start + k + 1) for k, f in enumerate(frames)]
    after = _wait_metric(api, "sparsewire_ingest_inflight_frames", 0.0)
    assert _diff(after, before, "sparsewire_ingest_frames_total", result="applied") == 40
    assert _diff(after, before, "sparsewire_ingest_ack_seconds_count") == 40
    assert api.info(graph_name)["seq"] == start + 40
