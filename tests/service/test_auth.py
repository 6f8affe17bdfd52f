"""Bearer tokens and roles on a real server; no tokens means loopback only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from .conftest import SMALL_PARAMS, free_port, grid_csv


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory, redis_url: str):  # noqa: ANN201
    from .conftest import Server  # noqa: PLC0415

    srv = Server(redis_url, tmp_path_factory.mktemp("auth"), tokens="r:read,w:write,a:admin").start()
    yield srv
    srv.stop()


def test_roles(auth_server, graph_name: str) -> None:  # noqa: ANN001
    import httpx  # noqa: PLC0415

    base = auth_server.url
    hdr = {role: {"authorization": f"Bearer {tok}"} for role, tok in (("read", "r"), ("write", "w"), ("admin", "a"))}
    with httpx.Client(base_url=base, timeout=60) as c:
        # no token / unknown token / malformed header: 401 on every /v1 route
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "r"}, {"authorization": "Basic r"}):
            assert c.get("/v1/graphs", headers=headers).status_code == 401
            assert c.post("/v1/graphs", json={"name": graph_name}, headers=headers).status_code == 401
        r = c.get("/v1/graphs")
        assert r.headers.get("www-authenticate") == "Bearer"
        # ops endpoints stay open for probes and scrapers
        assert c.get("/livez").status_code == 200 and c.get("/metrics").status_code == 200

        assert c.post("/v1/graphs", json={"name": graph_name}, headers=hdr["read"]).status_code == 403
        r = c.post("/v1/graphs", json={"name": graph_name, "params": SMALL_PARAMS}, headers=hdr["write"])
        assert r.status_code == 201
        assert c.post(f"/v1/graphs/{graph_name}/import", content=grid_csv(4, 4), headers=hdr["read"]).status_code \
            == 403
        assert c.post(f"/v1/graphs/{graph_name}/import", content=grid_csv(4, 4), headers=hdr["write"]).status_code \
            == 200
        for role in ("read", "write", "admin"):
            assert c.get(f"/v1/graphs/{graph_name}", headers=hdr[role]).status_code == 200
            assert c.get(f"/v1/graphs/{graph_name}/sparsifier", headers=hdr[role]).status_code == 200
        ops = {"ops": [{"op": "insert", "u": 0, "v": 15, "w": 1.0}]}
        assert c.post(f"/v1/graphs/{graph_name}/updates", json=ops, headers=hdr["read"]).status_code == 403
        assert c.get(f"/v1/graphs/{graph_name}", headers=hdr["read"]).json()["seq"] == 1
        r = c.post(f"/v1/graphs/{graph_name}/updates", json=ops, headers=hdr["write"])
        assert r.status_code == 200 and r.json()["seq"] == 2
        assert c.delete(f"/v1/graphs/{graph_name}", headers=hdr["write"]).status_code == 403
        assert c.delete(f"/v1/graphs/{graph_name}", headers=hdr["read"]).status_code == 403
        assert c.get(f"/v1/graphs/{graph_name}", headers=hdr["read"]).status_code == 200
        assert c.delete(f"/v1/graphs/{graph_name}", headers=hdr["admin"]).status_code == 204
        assert c.get(f"/v1/graphs/{graph_name}", headers=hdr["admin"]).status_code == 404


async def _close_code(url: str, **kwargs: object) -> tuple[int, str]:
    async with websockets.connect(url, open_timeout=30, **kwargs) as ws:
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            assert exc.rcvd is not None
            return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError("not closed")


async def test_websocket_needs_token(auth_server, graph_name: str) -> None:  # noqa: ANN001
    url = f"{auth_server.ws_url}/v1/graphs/{graph_name}/deltas"
    assert await _close_code(url) == (4401, "missing or unknown bearer token")
    assert (await _close_code(url, additional_headers={"authorization": "Bearer wrong"}))[0] == 4401
    # a valid token gets past auth (the graph does not exist: 4404)
    assert (await _close_code(url, additional_headers={"authorization": "Bearer r"}))[0] == 4404
    assert (await _close_code(url + "?token=r"))[0] == 4404


def test_open_bind_refused_without_tokens(tmp_path) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARSEWIRE_") and k != "REDIS_URL"}
    proc = subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--host", "0.0.0.0",
                           "--port", str(free_port()), "--data-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "refusing to bind 0.0.0.0 without tokens" in proc.stderr
    # the same via the environment
    proc = subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--port", str(free_port()),
                           "--data-dir", str(tmp_path)], env={**env, "SPARSEWIRE_HOST": "0.0.0.0"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "refusing to bind" in proc.stderr
    # a malformed token list is refused too
    proc = subprocess.run([sys.executable, "-m", "sparsewire.clients.cli", "serve", "--tokens", "x:root",
                           "--port", str(free_port()), "--data-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "bad token entry" in proc.stderr
