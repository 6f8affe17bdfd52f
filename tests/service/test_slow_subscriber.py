"""A delta subscriber that stops reading is cut off (``subscriber_send_timeout_seconds``); what it then observes.

The server buffers at most a bounded amount for it (kernel buffers of ``socket_send_buffer_bytes`` plus the
websocket layer's write limit), so a subscriber that starts reading again soon after the cut receives a
contiguous run of deltas and then the end of the connection; it resumes from its last cursor with nothing lost
or repeated, and the close frame names the reason (4408 "subscriber too slow").
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from .conftest import Api, Server, apply_delta, grid_csv

NAME = "slow-subscriber"
BATCHES = 40


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[Server, Api, dict, int]]:
    """A server that cuts a subscriber after 1 s without progress, and a graph whose 40 deltas (~300 KB) do not
    fit in the small socket buffers."""
    srv = Server(redis_url, tmp_path_factory.mktemp("slow"), subscriber_send_timeout_seconds=1.0,
                 socket_send_buffer_bytes=4096).start()
    api = Api(srv.url)
    name = f"{NAME}-{time.time_ns()}"
    api.create(name, {"K": 1.0, "walkers": 8, "steps": 8, "seed": 1})
    api.import_(name, grid_csv(30, 30))
    h1 = api.h(name)
    rng = np.random.default_rng(0)
    for _ in range(BATCHES):  # heavy long-range edges nearly all join H: large deltas
        ops = [{"op": "insert", "u": int(a), "v": int(b), "w": 50.0}
               for a, b in rng.integers(0, 900, (400, 2)) if a != b]
        api.update(name, ops)
    yield srv, api, h1, name
    api.close()
    srv.stop()


def _too_slow(api: Api) -> float:
    for family in text_string_to_metric_families(api.metrics()):
        for s in family.samples:
            if s.name == "sparsewire_subscriber_disconnects_total" and s.labels == {"reason": "too_slow"}:
                return s.value
    return 0.0


async def _stall_then_read(srv: Server, api: Api, name: str) -> tuple[list[dict], ConnectionClosed]:
    """Subscribe from cursor 1 without reading until the server has cut this subscriber off, then read
    everything that still arrives."""
    cut_before = _too_slow(api)
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ws = await websockets.connect(f"{srv.ws_url}/v1/graphs/{name}/deltas?cursor=1", sock=sock, max_queue=1,
                                  max_size=2**24, compression=None)
    try:
        deadline = time.monotonic() + 20
        while _too_slow(api) == cut_before:
            assert time.monotonic() < deadline, "the stalled subscriber was not cut off"
            await asyncio.sleep(0.1)
        msgs = []
        try:
            while True:  # well within the websocket layer's 10 s close timeout
                msgs.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        except ConnectionClosed as exc:
            return msgs, exc
    finally:
        ws.transport.abort()


async def test_cut_off_subscriber_resumes_without_loss(slow) -> None:  # noqa: ANN001
    srv, api, h1, name = slow
    msgs, _closed = await _stall_then_read(srv, api, name)
    assert msgs[0]["type"] == "hello" and msgs[0]["cursor"] == "1"
    got = [m for m in msgs[1:] if m["type"] != "heartbeat"]
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(2, 2 + len(seqs))), "what arrives is a contiguous run from the cursor"
    assert len(seqs) < BATCHES, "the subscriber was not behind: nothing was cut"
    last = seqs[-1] if seqs else 1
    async with websockets.connect(f"{srv.ws_url}/v1/graphs/{name}/deltas?cursor={last}", max_size=2**24) as ws:
        hello = json.loads(await ws.recv())
        assert (hello["cursor"], hello["head"]) == (str(last), str(BATCHES + 1))
        while not got or got[-1]["seq"] < BATCHES + 1:
            m = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if m["type"] != "heartbeat":
                got.append(m)
    assert [m["seq"] for m in got] == list(range(2, BATCHES + 2))
    mirror = h1
    for m in got:
        mirror = apply_delta(mirror, m["delta"])
    assert mirror == api.h(name)


async def test_cut_off_subscriber_that_reads_again_gets_4408(slow) -> None:  # noqa: ANN001
    srv, api, _h1, name = slow
    _msgs, closed = await _stall_then_read(srv, api, name)
    assert closed.rcvd is not None, f"no close frame: {closed!r}"
    assert (closed.rcvd.code, closed.rcvd.reason) == (4408, "subscriber too slow")
