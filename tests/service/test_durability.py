"""Durability at start-up and the embedded-Redis default, with real processes.

* ``GraphStore.check_durability``: a Redis that cannot make an acknowledged update durable (no AOF; or AOF with
  ``appendfsync`` other than ``always`` before Redis 7.2, which has no WAITAOF) is refused with a clear error,
  unless the service runs with ``--durability relaxed``.
* Without ``REDIS_URL``, ``sparsewire serve --data-dir D`` runs its own redis-server with AOF in ``D/redis``,
  keeps acknowledged updates across restarts, and leaves no redis-server behind when it stops (or is killed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from sparsewire.errors import StoreUnavailableError
from sparsewire.store.embedded import EmbeddedRedis, free_port

from .conftest import Api, Server

LOST = "acknowledged updates could be lost"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SPARSEWIRE_") and k != "REDIS_URL"}


def _serve_expecting_failure(url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--port", str(free_port()),
                           "--data-dir", str(data_dir), "--redis-url", url],
                          env=_env(), capture_output=True, text=True, timeout=120)


def _version(url: str) -> tuple[int, int]:
    client = redis.Redis.from_url(url)
    try:
        return tuple(int(x) for x in client.info("server")["redis_version"].split(".")[:2])  # type: ignore[return-value]
    finally:
        client.close()


def _ready(srv: Server) -> dict:
    r = httpx.get(f"{srv.url}/readyz", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_redis_without_aof_is_refused_unless_relaxed(tmp_path: Path, graph_name: str) -> None:
    with EmbeddedRedis(tmp_path / "redis") as url:
        client = redis.Redis.from_url(url)
        client.config_set("appendonly", "no")
        client.close()
        proc = _serve_expecting_failure(url, tmp_path / "strict")
        assert proc.returncode != 0
        assert f"has appendonly=no appendfsync=always: {LOST}" in proc.stderr, proc.stderr[-3000:]
        assert "or start with --durability relaxed" in proc.stderr
        assert "Application startup failed" in proc.stderr

        srv = Server(url, tmp_path / "relaxed", durability="relaxed").start()
        try:
            assert _ready(srv)["fsync"] == "relaxed"
            api = Api(srv.url)
            api.create(graph_name)
            assert api.update(graph_name, [{"op": "insert", "u": 0, "v": 1, "w": 1.0}])["seq"] == 1
            api.close()
        finally:
            srv.stop()


def test_appendfsync_everysec_needs_waitaof(tmp_path: Path) -> None:
    """AOF with ``appendfsync everysec``: durable only through WAITAOF (Redis >= 7.2); refused before."""
    with EmbeddedRedis(tmp_path / "redis", appendfsync="everysec") as url:
        if _version(url) >= (7, 2):
            srv = Server(url, tmp_path / "srv").start()
            try:
                assert _ready(srv)["fsync"] == "waitaof"
            finally:
                srv.stop()
        else:
            proc = _serve_expecting_failure(url, tmp_path / "srv")
            assert proc.returncode != 0
            assert f"has appendonly=yes appendfsync=everysec: {LOST}" in proc.stderr, proc.stderr[-3000:]


def _embedded_redis_of(srv: Server) -> psutil.Process:
    assert srv.proc is not None
    kids = [p for p in psutil.Process(srv.proc.pid).children() if "redis-server" in p.name()]
    assert len(kids) == 1, kids
    return kids[0]


def _gone(proc: psutil.Process, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_embedded_redis_default(tmp_path: Path, graph_name: str) -> None:
    data = tmp_path / "state"
    srv = Server(None, data)
    srv.env.pop("SPARSEWIRE_REDIS_URL", None)
    assert "--redis-url" not in srv.args
    srv.start()
    try:
        ready = _ready(srv)
        assert ready["redis"] is True and ready["recovered"] is True
        assert ready["fsync"] in ("appendfsync-always", "waitaof")
        child = _embedded_redis_of(srv)
        (addr,) = {c.laddr for c in child.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        assert addr.ip == "127.0.0.1"
        client = redis.Redis(host=addr.ip, port=addr.port, decode_responses=True)
        conf = {k: v for key in ("dir", "appendonly", "appendfsync") for k, v in client.config_get(key).items()}
        client.close()
        assert conf == {"dir": str(data / "redis"), "appendonly": "yes", "appendfsync": "always"}

        # one redis-server per data directory: a second one refuses to start on it
        with pytest.raises(StoreUnavailableError, match=f"is in use by sparsewire pid {srv.proc.pid}"):
            EmbeddedRedis(data / "redis").start()

        api = Api(srv.url)
        api.small_graph(graph_name, 4, 4)
        reply = api.update(graph_name, [{"op": "insert", "u": 0, "v": 15, "w": 2.5},
                                        {"op": "delete", "u": 0, "v": 1}])
        assert reply["seq"] == 2
        g, h, info = api.g(graph_name), api.h(graph_name), api.info(graph_name)
        assert g[(0, 15)] == 2.5 and (0, 1) not in g
        assert any((data / "redis").glob("appendonly*")), "no AOF in the data directory"

        # a graceful stop takes the embedded redis-server with it; a restart on the data dir has everything
        srv.stop()
        assert srv.proc is not None and srv.proc.returncode is not None
        assert _gone(child), "the embedded redis-server outlived the service"
        srv.start()
        assert (api.g(graph_name), api.h(graph_name), api.info(graph_name)) == (g, h, info)

        # kill -9 of the service: its redis-server goes too (it would otherwise keep the AOF open), and the
        # next start on the same data directory recovers the same state
        child = _embedded_redis_of(srv)
        srv.kill()
        assert _gone(child), "the embedded redis-server outlived a killed service"
        srv.start()
        assert (api.g(graph_name), api.h(graph_name), api.info(graph_name)) == (g, h, info)
        api.close()
    finally:
        srv.stop()
