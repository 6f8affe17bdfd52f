"""Start-up recovery runs after the server starts answering: liveness at once, readiness (and each graph) only once
its state is loaded from Redis, and no update reaches a graph before that."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import websockets
from websockets.exceptions import ConnectionClosed

from sparsewire.store.embedded import EmbeddedRedis, free_port

from .conftest import Api, Server, grid_csv


def _log_batches(api: Api, name: str, n: int, batches: int, size: int) -> None:
    """Many logged batches (replayed one by one at start-up), sent as one NDJSON stream."""
    rng = np.random.default_rng(5)
    lines = []
    for i in range(batches):
        ops = [{"op": "insert", "u": int(a), "v": int(b), "w": 1.0} for a, b in rng.integers(0, n, (size, 2)) if a != b]
        lines.append(json.dumps({"id": f"{name}-{i}", "ops": ops}))
    r = api.http.post(f"/v1/graphs/{name}/updates", content="\n".join(lines) + "\n",
                      headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and r.text.count('"seq"') == batches, r.text[-500:]


async def _ingest_close(url: str) -> tuple[int | None, str]:
    async with websockets.connect(url, open_timeout=30) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
    raise AssertionError("the ingest socket of a graph under recovery was not closed")


def test_probes_answer_while_graphs_recover(tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "private-redis", port=free_port())
    redis.start()
    first = second = None
    try:
        first = Server(redis.url, tmp_path, snapshot_every_ops=10**9).start()
        api = Api(first.url)
        big, probe = "rec-0-big", "rec-1-probe"  # recovered in name order: the probe waits for the big one
        api.create(big, {"K": 10.0, "walkers": 16, "steps": 20, "seed": 1})
        api.import_(big, grid_csv(100, 100))
        _log_batches(api, big, 10_000, 400, 150)
        api.small_graph(probe, 4, 4)
        before = {name: api.info(name) for name in (big, probe)}
        api.close()
        first.stop()

        second = Server(redis.url, tmp_path)
        with second.log.open("ab") as log:
            second.proc = subprocess.Popen(second.args, env=second.env, stdout=log, stderr=subprocess.STDOUT)
        http = httpx.Client(base_url=second.url, timeout=30)
        deadline = time.monotonic() + 120
        while True:  # the first answer of the new process
            assert second.proc.poll() is None and time.monotonic() < deadline, second.log.read_text()[-3000:]
            try:
                live = http.get("/livez")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        # the graph still queued behind the big one: 503 with Retry-After, never 404 or an empty graph
        got = http.get(f"/v1/graphs/{probe}")
        assert got.status_code == 503, got.text
        assert got.json()["error"]["code"] == "recovering" and got.headers["retry-after"] == "2"
        write = http.post(f"/v1/graphs/{probe}/updates", json={"ops": [{"op": "insert", "u": 0, "v": 15}]})
        assert write.status_code == 503 and write.json()["error"]["code"] == "recovering", write.text
        assert http.get("/v1/graphs").status_code == 503
        assert http.delete(f"/v1/graphs/{probe}").status_code == 503
        code, reason = asyncio.run(_ingest_close(f"{second.ws_url}/v1/graphs/{probe}/ingest"))
        assert code == 4503 and "recovered" in reason
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "recovering", ready.text
        recovery = ready.json()["recovery"]
        assert recovery["done"] is False and probe in recovery["pending"], recovery
        assert recovery["pending_count"] == len(recovery["pending"])
        assert recovery["loaded"] + recovery["pending_count"] == 2
        assert http.get(f"/v1/graphs/{probe}-none").status_code == 404  # unknown names stay 404
        # ... until recovery is done; /livez answers all along
        while (ready := http.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, second.log.read_text()[-3000:]
            assert http.get("/livez").status_code == 200
            time.sleep(0.1)
        assert ready.json()["recovery"] == {"done": True, "loaded": 2, "pending": [], "pending_count": 0,
                                            "failed": {}, "error": None}
        # the refused write was never applied: both graphs are exactly as acknowledged before the restart
        for name, info in before.items():
            now = http.get(f"/v1/graphs/{name}").json()
            assert {k: now[k] for k in ("seq", "nodes", "edges", "sparsifier_edges")} == \
                {k: info[k] for k in ("seq", "nodes", "edges", "sparsifier_edges")}
        assert before[big]["seq"] == 401 and before[probe]["seq"] == 1
        assert http.get("/v1/graphs").json()["count"] == 2
        http.close()
    finally:
        for srv in (first, second):
            if srv is not None:
                srv.stop()
        redis.stop()
