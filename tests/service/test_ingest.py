"""Streaming ingestion over a real websocket and real NDJSON, with a real kill -9 mid-stream."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import numpy as np
import psutil
import pytest
import websockets

from tests.service.conftest import Server

N = 400  # ring vertices


def _ring_ops() -> list[dict]:
    return [{"op": "insert", "u": i, "v": (i + 1) % N, "w": 1.0} for i in range(N)]


def _frames(count: int, seed: int = 0) -> list[dict]:
    """``count`` frames of local chords, then deletions of some of them (mixed, deterministic)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(count):
        ops = []
        for _ in range(5):
            a = int(rng.integers(N))
            b = (a + int(rng.integers(2, 6))) % N
            ops.append({"op": "insert", "u": a, "v": b, "w": float(rng.integers(1, 4))})
        if k % 3 == 2:
            prev = frames[k - 1]["ops"][0]
            ops.append({"op": "delete", "u": prev["u"], "v": prev["v"]})
        frames.append({"id": f"f{k:04d}", "ops": ops})
    return frames


def _expected_graph(frames: list[dict]) -> dict[tuple[int, int], float]:
    """G after the ring and every frame applied exactly once (duplicates merge: weights add up)."""
    g: dict[tuple[int, int], float] = {}
    for f in [{"ops": _ring_ops()}, *frames]:
        for op in f["ops"]:
            key = (min(op["u"], op["v"]), max(op["u"], op["v"]))
            if op["op"] == "insert":
                g[key] = g.get(key, 0.0) + op["w"]
            else:
                g.pop(key, None)
    return g


def _create_ring(url: str, name: str) -> None:
    r = httpx.post(f"{url}/v1/graphs", json={"name": name, "params": {"K": 10, "walkers": 64}})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{url}/v1/graphs/{name}/updates", json={"ops": _ring_ops()})
    assert r.status_code == 200, r.text


async def _produce(ws_url: str, name: str, frames: list[dict], acked: dict[str, dict], *, stop_after: int | None = None,
                   on_ack=None) -> None:  # noqa: ANN001
    async with websockets.connect(f"{ws_url}/v1/graphs/{name}/ingest", max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["window"] >= 1
        todo = [f for f in frames if f["id"] not in acked]

        async def send_all() -> None:
            for f in todo:
                await ws.send(json.dumps(f))

        sender = asyncio.create_task(send_all())
        try:
            for _ in todo:
                ack = json.loads(await ws.recv())
                assert "error" not in ack, ack
                acked[ack["id"]] = ack
                if on_ack:
                    on_ack(len(acked))
                if stop_after is not None and len(acked) >= stop_after:
                    return
        finally:
            sender.cancel()


def _graph_edges(url: str, name: str) -> dict[tuple[int, int], float]:
    body = httpx.get(f"{url}/v1/graphs/{name}/edges", timeout=30).json()
    return {(min(u, v), max(u, v)): w for u, v, w in body["edges"]}


async def _all_deltas(ws_url: str, name: str, cursor: int, head: int) -> list[int]:
    seqs = []
    async with websockets.connect(f"{ws_url}/v1/graphs/{name}/deltas?cursor={cursor}", max_size=None) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        while not seqs or seqs[-1] < head:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if msg["type"] in ("delta", "reset"):
                seqs.append(msg["seq"])
    return seqs


def test_ingest_survives_kill_9_and_applies_each_batch_once(server_factory, graph_name: str) -> None:
    srv: Server = server_factory()
    _create_ring(srv.url, graph_name)
    start_seq = httpx.get(f"{srv.url}/v1/graphs/{graph_name}").json()["seq"]
    frames = _frames(200)
    acked: dict[str, dict] = {}

    def kill_midway(n_acked: int) -> None:
        if n_acked == 80:
            srv.kill()

    with pytest.raises((websockets.ConnectionClosed, OSError)):
        asyncio.run(_produce(srv.ws_url, graph_name, frames, acked, on_ack=kill_midway))
    assert 80 <= len(acked) < 200
    srv.start()  # same port, same Redis: recovery
    asyncio.run(_produce(srv.ws_url, graph_name, frames, acked))  # resend everything not acknowledged
    assert len(acked) == 200
    assert _graph_edges(srv.url, graph_name) == _expected_graph(frames)
    seqs = sorted(a["seq"] for a in acked.values())
    assert seqs == list(range(start_seq + 1, start_seq + 201)), "one batch per frame, no gaps, none twice"
    head = httpx.get(f"{srv.url}/v1/graphs/{graph_name}").json()["seq"]
    assert head == start_seq + 200
    assert asyncio.run(_all_deltas(srv.ws_url, graph_name, start_seq, head)) == list(range(start_seq + 1, head + 1))


def test_ndjson_stream_acknowledges_each_line_in_order(server, graph_name: str) -> None:
    _create_ring(server.url, graph_name)
    frames = _frames(30, seed=3)
    body = "".join(json.dumps(f) + "\n" for f in frames[:10]) + "this is not json\n" + \
        "".join(json.dumps(f) + "\n" for f in frames[10:])
    r = httpx.post(f"{server.url}/v1/graphs/{graph_name}/updates", content=body,
                   headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200
    acks = [json.loads(line) for line in r.text.splitlines()]
    assert len(acks) == 31
    assert acks[10]["error"]["code"] == "invalid_request"
    ok = [a for a in acks if "error" not in a]
    assert [a["id"] for a in ok] == [f["id"] for f in frames]
    assert [a["seq"] for a in ok] == list(range(ok[0]["seq"], ok[0]["seq"] + 30))
    # resending the same stream applies nothing twice: the same replies come back
    again = httpx.post(f"{server.url}/v1/graphs/{graph_name}/updates", content=body,
                       headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert [json.loads(x).get("seq") for x in again.text.splitlines()] == [a.get("seq") for a in acks]
    assert _graph_edges(server.url, graph_name) == _expected_graph(frames)


def test_fast_producer_is_slowed_not_buffered(server_factory, graph_name: str) -> None:
    """A producer that never reads acknowledgements: once the window and the socket buffers are full the server
    stops applying and reading, and its memory stays flat (whatever the producer keeps writing stays on its
    side of the connection)."""
    srv: Server = server_factory()
    _create_ring(srv.url, graph_name)
    start = httpx.get(f"{srv.url}/v1/graphs/{graph_name}").json()["seq"]
    frames = [{"id": f"big{k}", "ops": [{"op": "insert", "u": (7 * k) % N, "v": (7 * k + 3) % N, "w": 1.0}] * 2000}
              for k in range(1500)]
    proc = psutil.Process(srv.proc.pid)
    rss_before = proc.memory_info().rss

    # The acknowledgements must pile up somewhere the server notices: a small fixed receive buffer (no loopback
    # autotuning, which grows to tcp_rmem's maximum, 32 MB on some kernels) and no compression (the repetitive
    # acknowledgements deflate ~70x, so 1,500 of them would fit in an autotuned buffer).
    host, port = srv.url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**16)
    sock.connect((host, int(port)))

    async def flood() -> None:
        async with websockets.connect(f"{srv.ws_url}/v1/graphs/{graph_name}/ingest", max_size=None,
                                      write_limit=2**16, compression=None, sock=sock) as ws:
            await ws.recv()
            for frame in frames:
                try:
                    await asyncio.wait_for(ws.send(json.dumps(frame)), 3)
                except TimeoutError:
                    break
            await asyncio.sleep(2)  # let the server drain whatever it will take
            applied = httpx.get(f"{srv.url}/v1/graphs/{graph_name}").json()["seq"] - start
            rss_after = proc.memory_info().rss
            assert applied < len(frames), "the server kept applying although no acknowledgement was read"
            assert rss_after - rss_before < 100 * 2**20, (rss_before, rss_after)

    asyncio.run(flood())


def test_pipelined_commits_survive_a_redis_kill(server_factory, graph_name: str, tmp_path) -> None:  # noqa: ANN001
    """Frames apply while earlier frames commit (pipelined group commits); Redis dies and comes back mid-stream.
    Every frame ends up applied exactly once, and the log has no gap: a batch applied while its predecessor's
    commit failed must never be committed."""
    from sparsewire.store.embedded import EmbeddedRedis, free_port  # noqa: PLC0415

    redis = EmbeddedRedis(tmp_path / "private-redis", port=free_port())
    redis.start()
    try:
        srv: Server = server_factory(redis=redis.url)
        _create_ring(srv.url, graph_name)
        start_seq = httpx.get(f"{srv.url}/v1/graphs/{graph_name}").json()["seq"]
        frames = _frames(200, seed=5)
        acked: dict[str, dict] = {}
        errors: list[str] = []
        state = {"killed": False}

        async def one_pass() -> None:
            todo = [f for f in frames if f["id"] not in acked]
            async with websockets.connect(f"{srv.ws_url}/v1/graphs/{graph_name}/ingest", max_size=None) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                async def send_all() -> None:
                    for f in todo:
                        await ws.send(json.dumps(f))

                sender = asyncio.create_task(send_all())
                try:
                    for _ in todo:
                        ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if "error" in ack:
                            assert ack["error"]["code"] == "store_unavailable", ack
                            errors.append(ack["id"])
                            continue
                        assert ack["id"] not in acked, "a frame was acknowledged twice"
                        acked[ack["id"]] = ack
                        if len(acked) == 40 and not state["killed"]:
                            state["killed"] = True
                            redis.kill()
                finally:
                    sender.cancel()

        for _ in range(30):
            if len(acked) == len(frames):
                break
            try:
                asyncio.run(one_pass())
            except (websockets.ConnectionClosed, OSError, TimeoutError):
                pass
            if state["killed"] and errors and (redis.process is None or redis.process.poll() is not None):
                redis.start()
        assert len(acked) == 200 and errors, (len(acked), len(errors))
        seqs = sorted(a["seq"] for a in acked.values())
        assert seqs == list(range(start_seq + 1, start_seq + 201)), "one batch per frame, no gaps, none twice"
        assert _graph_edges(srv.url, graph_name) == _expected_graph(frames)
        by_seq = {a["seq"]: a["delta"] for a in acked.values()}
        log: list[dict] = []

        async def read_log() -> None:
            async with websockets.connect(f"{srv.ws_url}/v1/graphs/{graph_name}/deltas?cursor={start_seq}",
                                          max_size=None) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                while len(log) < 200:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if msg["type"] != "heartbeat":
                        log.append(msg)

        asyncio.run(read_log())
        assert [m["seq"] for m in log] == seqs
        assert all(m["delta"] == by_seq[m["seq"]] for m in log)
    finally:
        redis.stop()


def test_duplicate_ids_in_one_window_apply_once(server, graph_name: str) -> None:  # noqa: ANN001
    """A frame id resent while its first copy is still applying or committing (in flight, then freshly durable)
    is answered with the first copy's acknowledgement."""
    _create_ring(server.url, graph_name)
    frames = _frames(6, seed=9)
    order = [frames[0], frames[1], frames[0], frames[2], frames[0], frames[3], frames[4], frames[1], frames[5]]
    acks: list[dict] = []

    async def run() -> None:
        async with websockets.connect(f"{server.ws_url}/v1/graphs/{graph_name}/ingest", max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            for f in order:
                await ws.send(json.dumps(f))
            for _ in order:
                acks.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))

    asyncio.run(run())
    assert [a["id"] for a in acks] == [f["id"] for f in order]
    first = {}
    for a in acks:
        assert "error" not in a, a
        first.setdefault(a["id"], a)
        assert a == first[a["id"]], "a resent frame must get the first acknowledgement"
    assert sorted(a["seq"] for a in first.values()) == list(range(min(first[f["id"]]["seq"] for f in frames),
                                                                      min(first[f["id"]]["seq"] for f in frames) + 6))
    assert _graph_edges(server.url, graph_name) == _expected_graph(frames)
