"""A Redis outage (kill -9 of a private redis-server, then a restart on its AOF) seen from the metrics and from a
delta subscriber: failed Redis operations are counted, and a subscriber that is cut off resumes from its last
cursor with no delta lost or repeated."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from sparsewire.store.embedded import EmbeddedRedis, free_port

from .conftest import Api, apply_delta, apply_ops, random_ops


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "private-redis", port=free_port())
    redis.start()
    yield redis
    redis.stop()


def _redis_errors(api: Api) -> float:
    samples = api.metric_samples()
    assert ("sparsewire_redis_errors_total", ()) in samples, "no sparsewire_redis_errors_total"
    return samples[("sparsewire_redis_errors_total", ())]


def _wait_for(cond, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_redis_errors_are_counted(server_factory, private_redis: EmbeddedRedis, graph_name: str) -> None:  # noqa: ANN001
    srv = server_factory(redis=private_redis.url)
    api = Api(srv.url)
    api.small_graph(graph_name, 4, 4)
    ops = [{"op": "insert", "u": 0, "v": 15, "w": 1.0}]
    assert _redis_errors(api) == 0
    private_redis.kill()
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": ops})
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
    assert _redis_errors(api) == 1  # the failed commit
    r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": ops})
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
    assert _redis_errors(api) == 2  # the reload of the durable state before the next batch
    private_redis.start()
    for _ in range(50):
        r = api.http.post(f"/v1/graphs/{graph_name}/updates", json={"ops": ops})
        if r.status_code != 503:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    assert r.json()["seq"] == 2  # the two refused batches left no trace
    assert api.g(graph_name)[(0, 15)] == 1.0
    api.close()


class _Writer(threading.Thread):
    """Posts 10-op batches, each with its own Idempotency-Key, retried on 503 until acknowledged."""

    def __init__(self, url: str, name: str, g0: dict) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=url, timeout=60)
        self.name, self.g = name, dict(g0)
        self.rng = np.random.default_rng(5)
        self.acked: list[tuple[list[dict], dict]] = []
        self.statuses: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            ops, key = random_ops(self.rng, self.g, 100, 10), uuid.uuid4().hex
            while True:
                r = self.http.post(f"/v1/graphs/{self.name}/updates", json={"ops": ops},
                                   headers={"Idempotency-Key": key})
                self.statuses.append(r.status_code)
                if r.status_code == 200:
                    break
                if r.status_code != 503:
                    return
                time.sleep(0.1)
            self.acked.append((ops, r.json()))
            self.g = apply_ops(self.g, ops)

    def close(self) -> None:
        self.stop.set()
        self.join(60)
        self.http.close()


class _Subscriber:
    """Follows the delta stream from cursor 1 and, whenever the connection ends, reconnects from its last cursor."""

    def __init__(self, ws_url: str, name: str) -> None:
        self.url = f"{ws_url}/v1/graphs/{name}/deltas"
        self.cursor = 1
        self.deltas: list[dict] = []
        self.closes: list[tuple[int, str] | None] = []
        self.done = asyncio.Event()

    async def run(self) -> None:
        while not self.done.is_set():
            try:
                async with websockets.connect(f"{self.url}?cursor={self.cursor}", open_timeout=10) as ws:
                    hello = json.loads(await ws.recv())
                    assert hello["cursor"] == str(self.cursor), hello
                    while not self.done.is_set():
                        msg = json.loads(await ws.recv())
                        if msg["type"] == "heartbeat":
                            continue
                        assert msg["type"] == "delta" and msg["seq"] == self.cursor + 1, (msg, self.cursor)
                        self.deltas.append(msg)
                        self.cursor = msg["seq"]
            except ConnectionClosed as exc:
                self.closes.append((exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else None)
            await asyncio.sleep(0.1)


async def test_subscriber_resumes_across_a_redis_kill(server_factory, private_redis: EmbeddedRedis,  # noqa: ANN001
                                                      graph_name: str) -> None:
    srv = server_factory(redis=private_redis.url)
    api = Api(srv.url)
    api.small_graph(graph_name, 10, 10)
    g0, h0 = api.g(graph_name), api.h(graph_name)
    sub = _Subscriber(srv.ws_url, graph_name)
    follower = asyncio.create_task(sub.run())
    writer = _Writer(srv.url, graph_name, g0)
    writer.start()
    try:
        await asyncio.to_thread(_wait_for, lambda: len(writer.acked) >= 8 and len(sub.deltas) >= 5)
        private_redis.kill()
        down = len(writer.acked)
        # the subscription is cut (4503) and reconnecting is refused while Redis is down
        await asyncio.to_thread(_wait_for, lambda: len(sub.closes) >= 2 and writer.statuses.count(503) >= 2, 30)
        assert len(writer.acked) <= down + 1  # at most the batch in flight when Redis died
        private_redis.start()
        await asyncio.to_thread(_wait_for, lambda: len(writer.acked) >= down + 8)
    finally:
        writer.close()
    acked = writer.acked
    head = acked[-1][1]["seq"]
    assert [r["seq"] for _, r in acked] == list(range(2, head + 1))
    await asyncio.to_thread(_wait_for, lambda: sub.cursor >= head or follower.done(), 60)
    sub.done.set()
    follower.cancel()
    if follower.done() and not follower.cancelled() and follower.exception():
        raise follower.exception()
    assert set(sub.closes) == {(4503, "store unavailable")}, sub.closes
    # every delta exactly once, in order, equal to the acknowledged replies; the mirror equals the server's H
    assert [m["seq"] for m in sub.deltas] == list(range(2, head + 1))
    assert [m["delta"] for m in sub.deltas] == [r["delta"] for _, r in acked]
    mirror = h0
    for m in sub.deltas:
        mirror = apply_delta(mirror, m["delta"])
    assert mirror == api.h(graph_name)
    g = g0
    for ops, _ in acked:
        g = apply_ops(g, ops)
    assert api.g(graph_name) == g
    assert _redis_errors(api) >= 2  # at least the failed commit and the failed subscription
    api.close()
