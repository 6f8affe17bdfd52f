"""``/metrics``: the documented families exist and move as a batch and a subscriber say they should."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import numpy as np
import websockets

from sparsewire import __version__

from .conftest import Api, Server, grid_csv, metric_value


async def test_metrics_move_with_a_batch(api: Api, server: Server, graph_name: str) -> None:
    info = api.small_graph(graph_name, 8, 8)
    before = api.metric_samples()
    text = api.metrics()
    for family, kind in (("sparsewire_updates_total", "counter"), ("sparsewire_batch_seconds", "histogram"),
                         ("sparsewire_walker_steps_total", "counter"), ("sparsewire_graph_edges", "gauge"),
                         ("sparsewire_sparsifier_edges", "gauge"), ("sparsewire_subscribers", "gauge"),
                         ("sparsewire_build_info", "gauge"), ("sparsewire_redis_errors_total", "counter")):
        assert f"# TYPE {family} {kind}\n" in text, family
    assert metric_value(before, "sparsewire_build_info", version=__version__, backend="cpu") == 1.0
    assert metric_value(before, "sparsewire_graph_edges", graph=graph_name) == info["edges"] == 112
    assert metric_value(before, "sparsewire_sparsifier_edges", graph=graph_name) == info["sparsifier_edges"]

    async with websockets.connect(f"{server.ws_url}/v1/graphs/{graph_name}/deltas") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert metric_value(api.metric_samples(), "sparsewire_subscribers") == \
            metric_value(before, "sparsewire_subscribers") + 1
        ops = [{"op": "insert", "u": 0, "v": 63, "w": 1.0}, {"op": "insert", "u": 0, "v": 1, "w": 1.0},
               {"op": "delete", "u": 5, "v": 6}, {"op": "delete", "u": 0, "v": 62}]
        reply = await asyncio.to_thread(api.update, graph_name, ops)
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["seq"] == reply["seq"]
        # the server answers a close frame only once its blocking log read returns (up to heartbeat_seconds):
        # drop the connection instead of waiting for the closing handshake
        ws.transport.abort()
    after = api.metric_samples()
    per_op: dict[tuple, int] = {}
    for op, r in zip(ops, reply["results"], strict=True):
        per_op[(op["op"], r["action"])] = per_op.get((op["op"], r["action"]), 0) + 1
    for (op, outcome), count in per_op.items():
        assert metric_value(after, "sparsewire_updates_total", op=op, outcome=outcome) - \
            metric_value(before, "sparsewire_updates_total", op=op, outcome=outcome) == count
    assert metric_value(after, "sparsewire_batch_seconds_count") == \
        metric_value(before, "sparsewire_batch_seconds_count") + 1
    assert metric_value(after, "sparsewire_walker_steps_total", backend="cpu") - \
        metric_value(before, "sparsewire_walker_steps_total", backend="cpu") == reply["stats"]["walker_steps"] > 0
    now = api.info(graph_name)
    assert now["edges"] == 112 + 1 - 1  # one new edge, one merged, one deleted, one absent
    assert metric_value(after, "sparsewire_graph_edges", graph=graph_name) == now["edges"]
    assert metric_value(after, "sparsewire_sparsifier_edges", graph=graph_name) == now["sparsifier_edges"]
    # (the subscribers gauge drops only when the server next writes to the closed socket: up to
    # heartbeat_seconds after the client left; not asserted here)
    # a deleted graph's gauges go away
    assert api.http.delete(f"/v1/graphs/{graph_name}").status_code == 204
    assert ("sparsewire_graph_edges", (("graph", graph_name),)) not in api.metric_samples()


async def test_delta_lag_is_measured_against_the_log_head(server_factory, graph_name: str) -> None:  # noqa: ANN001
    """The lag of a subscriber is the log head (the graph's durable seq) minus what it was sent, not the distance
    to the newest entry of its current read (at most one read's COUNT of 100)."""
    # small socket buffers: a subscriber that stops reading stalls the server's sends after a few dozen deltas
    srv = server_factory(socket_send_buffer_bytes=4096, subscriber_send_timeout_seconds=300)
    api = Api(srv.url)
    api.create(graph_name, {"K": 1.0, "walkers": 8, "steps": 8, "seed": 1})
    api.import_(graph_name, grid_csv(30, 30))  # seq 1
    rng = np.random.default_rng(2)
    frames = []
    for i in range(300):  # heavy long-range edges nearly all join H: deltas of ~2 KB
        ops = [{"op": "insert", "u": int(a), "v": int(b), "w": 50.0} for a, b in rng.integers(0, 900, (100, 2))
               if a != b]
        frames.append(json.dumps({"id": f"lag-{i}", "ops": ops}))

    def write() -> None:
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", content="\n".join(frames) + "\n",
                          headers={"content-type": "application/x-ndjson"})
        assert r.text.count('"seq"') == 300, r.text[-300:]

    def lag() -> float:
        return metric_value(api.metric_samples(), "sparsewire_subscriber_lag_batches", graph=graph_name)

    async def stalled(cursor: int | None) -> websockets.ClientConnection:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        url = f"{srv.ws_url}/v1/graphs/{graph_name}/deltas" + ("" if cursor is None else f"?cursor={cursor}")
        ws = await websockets.connect(url, sock=sock, max_queue=1, max_size=2**24, compression=None)
        assert json.loads(await ws.recv())["cursor"] == str(1 if cursor is None else cursor)
        return ws

    async def catch_up(ws: websockets.ClientConnection) -> None:
        while json.loads(await asyncio.wait_for(ws.recv(), 60)).get("seq") != 301:
            pass
        deadline = time.monotonic() + 10
        while lag() != 0:
            assert time.monotonic() < deadline, lag()
            await asyncio.sleep(0.1)

    # 1. a live subscriber (at the head, seq 1) that stops reading while 300 batches are committed
    live = await stalled(None)
    await asyncio.to_thread(write)
    await asyncio.sleep(0.5)
    assert lag() >= 200
    await catch_up(live)
    m = api.metric_samples()
    beyond_one_read = metric_value(m, "sparsewire_delta_lag_batches_count") - \
        metric_value(m, "sparsewire_delta_lag_batches_bucket", le="100.0")
    assert beyond_one_read >= 1, "no delta was sent more than 100 batches behind the head"
    # 2. a subscriber connecting from cursor 0, 300 batches behind
    late = await stalled(0)
    await asyncio.sleep(0.5)
    assert lag() >= 200
    await catch_up(late)
    for ws in (live, late):
        ws.transport.abort()
    api.close()
