"""``WS /v1/graphs/{name}/deltas`` against real servers and a real Redis: order, resume, close codes,
heartbeats, slow subscribers and cross-process fan-out."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import numpy as np
import psutil
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from .conftest import Api, Server, apply_delta, edge_map, grid_csv, random_ops


def ws_url(srv: Server, name: str, cursor: object = None) -> str:
    url = f"{srv.ws_url}/v1/graphs/{name}/deltas"
    return url if cursor is None else f"{url}?cursor={cursor}"


async def read_until(ws, seq: int, timeout: float = 60.0) -> list[dict]:  # noqa: ANN001
    """Messages (hello/delta/reset; heartbeats dropped) until the one with ``seq``."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.1)))
        if msg["type"] == "heartbeat":
            continue
        out.append(msg)
        if msg.get("seq") == seq:
            return out


async def close_of(url: str, **kw: object) -> tuple[int, str]:
    async with websockets.connect(url, open_timeout=30, **kw) as ws:
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError


def post_batches(api: Api, name: str, count: int, seed: int, n: int = 100, size: int = 20) -> list[tuple]:
    rng = np.random.default_rng(seed)
    g = api.g(name)
    out = []
    for _ in range(count):
        ops = random_ops(rng, g, n, size)
        reply = api.update(name, ops)
        out.append((ops, reply))
        for op in ops:
            key = (min(op["u"], op["v"]), max(op["u"], op["v"]))
            if op["op"] == "insert":
                g[key] = g.get(key, 0.0) + op["w"]
            else:
                g.pop(key, None)
    return out


async def test_stream_from_zero_and_from_import(api: Api, server: Server, graph_name: str) -> None:
    api.create(graph_name)
    async with websockets.connect(ws_url(server, graph_name, 0)) as ws0:
        hello = json.loads(await ws0.recv())
        assert hello == {"type": "hello", "graph": graph_name, "cursor": "0", "head": "0",
                         "heartbeat_seconds": hello["heartbeat_seconds"]}
        await asyncio.to_thread(api.import_, graph_name, grid_csv(10, 10))
        h1 = api.h(graph_name)
        async with websockets.connect(ws_url(server, graph_name, 1)) as ws1:
            replies = await asyncio.to_thread(post_batches, api, graph_name, 15, 3)
            final = replies[-1][1]["seq"]
            assert final == 16
            got0 = await read_until(ws0, final)
            got1 = await read_until(ws1, final)
    assert got0[0] == {"type": "reset", "seq": 1, "cursor": "1", "reason": "import"}
    assert got1[0]["type"] == "hello" and got1[0]["cursor"] == "1" and got1[0]["head"] == "1"
    for got in (got0[1:], got1[1:]):
        assert [m["seq"] for m in got] == list(range(2, 17))
        assert [m["cursor"] for m in got] == [str(s) for s in range(2, 17)]
        assert all(m["type"] == "delta" for m in got)
        assert [m["delta"] for m in got] == [r["delta"] for _, r in replies]
    mirror = h1
    for m in got1[1:]:
        mirror = apply_delta(mirror, m["delta"])
    assert mirror == api.h(graph_name)


async def test_resume_no_loss_no_duplicates(api: Api, server: Server, graph_name: str) -> None:
    api.small_graph(graph_name, 8, 8)
    mirror = api.h(graph_name)
    received: list[dict] = []
    await asyncio.to_thread(post_batches, api, graph_name, 5, 11, 64)
    async with websockets.connect(ws_url(server, graph_name, 1)) as ws:
        received += (await read_until(ws, 4))[1:]
    last = received[-1]["cursor"]
    assert last == "4"
    await asyncio.to_thread(post_batches, api, graph_name, 5, 12, 64)  # written while disconnected
    async with websockets.connect(ws_url(server, graph_name, last)) as ws:
        hello = json.loads(await ws.recv())
        assert (hello["cursor"], hello["head"]) == ("4", "11")
        task = asyncio.create_task(read_until(ws, 14))
        await asyncio.to_thread(post_batches, api, graph_name, 3, 13, 64)  # written while connected
        received += (await task)
    assert [m["seq"] for m in received] == list(range(2, 15))
    for m in received:
        mirror = apply_delta(mirror, m["delta"])
    assert mirror == api.h(graph_name)
    # without a cursor: from now on
    async with websockets.connect(ws_url(server, graph_name)) as ws:
        hello = json.loads(await ws.recv())
        assert (hello["cursor"], hello["head"]) == ("14", "14")
        task = asyncio.create_task(read_until(ws, 15))
        (_, reply), = await asyncio.to_thread(post_batches, api, graph_name, 1, 14, 64)
        msgs = await task
    assert [m["seq"] for m in msgs] == [15] and msgs[0]["delta"] == reply["delta"]


async def test_bad_cursors(api: Api, server: Server, graph_name: str) -> None:
    api.small_graph(graph_name, 4, 4)
    assert await close_of(ws_url(server, graph_name, 2)) == (4400, "cursor from the future")
    assert (await close_of(ws_url(server, graph_name, "abc")))[0] == 4400
    assert (await close_of(ws_url(server, graph_name, -1)))[0] == 4400
    assert (await close_of(ws_url(server, "no-such-graph", 0)))[0] == 4404


@pytest.fixture(scope="module")
def trim_server(tmp_path_factory: pytest.TempPathFactory, redis_url: str):  # noqa: ANN201
    srv = Server(redis_url, tmp_path_factory.mktemp("trim"), log_retention=4, snapshot_every_ops=10,
                 heartbeat_seconds=0.3).start()
    yield srv
    srv.stop()


async def test_cursor_too_old(trim_server: Server, graph_name: str) -> None:
    api = Api(trim_server.url)
    api.small_graph(graph_name, 6, 6)
    mirror_at_1 = api.h(graph_name)
    replies = await asyncio.to_thread(post_batches, api, graph_name, 12, 5, 36, 5)  # 60 ops: snapshots + trims
    head = replies[-1][1]["seq"]
    assert head == 13
    assert await close_of(ws_url(trim_server, graph_name, 1)) == (4410, "cursor too old")
    assert await close_of(ws_url(trim_server, graph_name, 3)) == (4410, "cursor too old")
    # the retained tail still serves a subscriber: snapshots every 2 batches (10 ops), the last at seq 13, the
    # log kept from 13 - 4 + 1 = 10 on, so cursor 9 is the oldest that resumes
    async with websockets.connect(ws_url(trim_server, graph_name, 9)) as ws:
        msgs = await read_until(ws, head)
    assert [m["seq"] for m in msgs[1:]] == list(range(10, 14))
    assert [m["delta"] for m in msgs[1:]] == [r["delta"] for _, r in replies[8:]]
    assert (await close_of(ws_url(trim_server, graph_name, 8)))[0] == 4410
    # a restart recovers from the trimmed log (snapshot + tail) to the same state
    g, h = api.g(graph_name), api.h(graph_name)
    trim_server.stop()
    trim_server.start()
    assert (api.g(graph_name), api.h(graph_name)) == (g, h)
    for _, reply in replies:
        mirror_at_1 = apply_delta(mirror_at_1, reply["delta"])
    assert mirror_at_1 == h
    api.close()


async def test_heartbeats_when_idle(trim_server: Server, graph_name: str) -> None:
    api = Api(trim_server.url)
    api.small_graph(graph_name, 3, 3)
    async with websockets.connect(ws_url(trim_server, graph_name)) as ws:
        hello = json.loads(await ws.recv())
        assert hello["heartbeat_seconds"] == 0.3
        beats = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
    assert beats == [{"type": "heartbeat", "cursor": "1"}] * 3
    api.close()


async def test_slow_subscriber_cut_off_memory_flat(server_factory, graph_name: str) -> None:  # noqa: ANN001
    # a small kernel send buffer (the service's own setting) so a few hundred KB of deltas fill the path to a
    # stalled peer; with the default (128 KiB, doubled by Linux) the same happens a little later
    srv = server_factory(subscriber_send_timeout_seconds=1.0, socket_send_buffer_bytes=4096)
    api = Api(srv.url)
    api.create(graph_name, {"K": 1.0, "walkers": 8, "steps": 8, "seed": 1})
    api.import_(graph_name, grid_csv(30, 30))
    rng = np.random.default_rng(0)
    # heavy long-range edges are spectrally critical: nearly every insertion joins H, so deltas are large
    total = 0
    for _ in range(40):
        ops = [{"op": "insert", "u": int(a), "v": int(b), "w": 50.0}
               for a, b in rng.integers(0, 900, (400, 2)) if a != b]
        total += len(api.update(graph_name, ops)["delta"]["added"])
    assert total > 8000
    proc = psutil.Process(srv.proc.pid)

    async def stalled() -> websockets.ClientConnection:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return await websockets.connect(ws_url(srv, graph_name, 1), sock=sock, max_queue=1, max_size=2**24,
                                        compression=None)  # deltas compress ~10x: keep the bytes on the wire

    rss = [proc.memory_info().rss]
    opened: list = []
    try:
        await _slow_rounds(api, proc, stalled, opened, rss)
    finally:
        for ws in opened:
            ws.transport.abort()
        if len(rss) < 3:  # failed: release the client's pooled socket before pytest reports
            api.close()
    m = api.metrics()
    assert 'sparsewire_subscriber_disconnects_total{reason="too_slow"} 8.0' in m
    # memory flat: the second round does not grow the server (the first may warm up caches)
    assert rss[-1] - rss[1] < 40 * 2**20, [r / 2**20 for r in rss]
    # a reader that keeps up from the same cursor still gets everything
    async with websockets.connect(ws_url(srv, graph_name, 1), max_size=2**24) as ws:
        msgs = await read_until(ws, 41)
    assert [m["seq"] for m in msgs[1:]] == list(range(2, 42))
    api.close()


async def _slow_rounds(api: Api, proc: psutil.Process, stalled, opened: list, rss: list) -> None:  # noqa: ANN001
    for _round in range(2):
        clients = [await stalled() for _ in range(4)]
        opened += clients
        await asyncio.sleep(0.5)
        assert 'sparsewire_subscribers 4.0' in api.metrics()
        deadline = time.monotonic() + 15
        while 'sparsewire_subscribers 0.0' not in api.metrics():
            assert time.monotonic() < deadline, "slow subscribers were not disconnected"
            await asyncio.sleep(0.25)
        # drain what the server had buffered, all four at once and through a normal receive window (4 KB
        # windows make each drain take seconds), up to the close frame, which names the reason
        codes = await asyncio.gather(*(_drain(ws) for ws in clients))
        assert set(codes) <= {4408, None, 1006}  # None/1006: the server's close timeout ran out first
        rss.append(proc.memory_info().rss)


async def _drain(ws) -> int | None:  # noqa: ANN001
    ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 30)  # the server aborts after its 10 s close timeout
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    finally:
        await ws.close()


async def test_fan_out_across_processes(api: Api, server: Server, server_factory, graph_name: str) -> None:  # noqa: ANN001
    old = graph_name + "-old"
    api.small_graph(old, 5, 5)
    second = server_factory()  # shares the Redis; loads `old` at start-up
    api.small_graph(graph_name, 5, 5)  # created after the second process started
    post_batches(api, old, 2, 1, 25, 5)
    for name in (graph_name, old):
        head = api.info(name)["seq"]
        h = api.h(name)
        async with websockets.connect(ws_url(second, name, head)) as ws:
            hello = json.loads(await ws.recv())
            assert hello["head"] == str(head)
            task = asyncio.create_task(read_until(ws, head + 4))
            replies = await asyncio.to_thread(post_batches, api, name, 4, 2, 25, 5)
            msgs = await task
        assert [m["seq"] for m in msgs] == list(range(head + 1, head + 5))
        assert [m["delta"] for m in msgs] == [r["delta"] for _, r in replies]
        for m in msgs:
            h = apply_delta(h, m["delta"])
        assert h == edge_map(api.snap(name))
