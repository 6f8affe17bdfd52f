"""Real parts for service tests: a real redis-server (embedded binary) and real uvicorn servers in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sparsewire.store.embedded import EmbeddedRedis, free_port

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def data_file(rel: str) -> Path:
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"../shared/data/{rel} not present (real-graph test data ships beside the repo in CI only)")
    return path


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as url:
        yield url


class Server:
    """A ``sparsewire serve`` process on a free port."""

    def __init__(self, redis_url: str | None, data_dir: Path, **settings: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SPARSEWIRE_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}
        self.env.pop("REDIS_URL", None)
        for key, value in settings.items():
            self.env[f"SPARSEWIRE_{key.upper()}"] = str(value)
        self.args = [sys.executable, "-m", "sparsewire.clients.cli", "serve", "--port", str(self.port),
                     "--data-dir", str(data_dir)]
        if redis_url:
            self.args += ["--redis-url", redis_url]
        self.log = data_dir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


@pytest.fixture
def server_factory(tmp_path: Path, redis_url: str) -> Iterator:
    started: list[Server] = []

    def make(*, redis: str | None = redis_url, **settings: object) -> Server:
        srv = Server(redis, tmp_path, **settings).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Server]:
    srv = Server(redis_url, tmp_path_factory.mktemp("server")).start()
    yield srv
    srv.stop()


@pytest.fixture
def graph_name() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers of the service tests (imported by the test modules as ``from .conftest import ...``).

SMALL_PARAMS = {"K": 10.0, "walkers": 64, "steps": 60, "seed": 7}


def grid_csv(rows: int = 10, cols: int = 10) -> bytes:
    """A ``rows x cols`` grid with unit weights as an edge-list CSV (0-based int ids)."""
    lines = ["u,v,w"]
    for r in range(rows):
        for c in range(cols):
            a = r * cols + c
            if c + 1 < cols:
                lines.append(f"{a},{a + 1},1.0")
            if r + 1 < rows:
                lines.append(f"{a},{a + cols},1.0")
    return ("\n".join(lines) + "\n").encode()


def edge_map(snapshot: dict) -> dict[tuple, float]:
    """``{(min(u, v), max(u, v)): w}`` of a JSON snapshot."""
    out: dict[tuple, float] = {}
    for u, v, w in snapshot["edges"]:
        out[(min(u, v), max(u, v))] = w
    return out


def apply_delta(h: dict[tuple, float], delta: dict) -> dict[tuple, float]:
    """The sparsifier after a delta message / reply delta (a new dict)."""
    h = dict(h)
    for u, v in delta["removed"]:
        del h[(min(u, v), max(u, v))]
    for u, v, w in delta["added"]:
        key = (min(u, v), max(u, v))
        assert key not in h, f"delta adds {key}, already in the sparsifier"
        h[key] = w
    for u, v, w in delta.get("reweighted", []):
        key = (min(u, v), max(u, v))
        assert key in h, f"delta reweights {key}, not in the sparsifier"
        h[key] = w
    return h


def apply_ops(g: dict[tuple, float], ops: list[dict]) -> dict[tuple, float]:
    """G after a batch, as the API defines it: insertions merge (weights add), deletions of absent edges are
    no-ops."""
    g = dict(g)
    for op in ops:
        key = (min(op["u"], op["v"]), max(op["u"], op["v"]))
        if op["op"] == "insert":
            g[key] = g[key] + op["w"] if key in g else op["w"]
        else:
            g.pop(key, None)
    return g


def random_ops(rng, g: dict[tuple, float], n: int, count: int, delete_share: float = 0.3) -> list[dict]:
    """A batch of insertions between random vertices and deletions of current edges of ``g`` (G before)."""
    ops: list[dict] = []
    edges = sorted(g)
    for _ in range(count):
        if edges and rng.random() < delete_share:
            u, v = edges.pop(int(rng.integers(len(edges))))
            ops.append({"op": "delete", "u": u, "v": v})
        else:
            u, v = (int(x) for x in rng.choice(n, 2, replace=False))
            ops.append({"op": "insert", "u": u, "v": v, "w": float(rng.integers(1, 8)) / 2})
    return ops


class Api:
    """A thin httpx client of one server."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 120.0) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def create(self, name: str, params: dict | None = None, **extra: object) -> dict:
        r = self.http.post("/v1/graphs", json={"name": name, "params": params or SMALL_PARAMS, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def import_(self, name: str, body: bytes) -> dict:
        r = self.http.post(f"/v1/graphs/{name}/import", content=body)
        assert r.status_code == 200, r.text
        return r.json()

    def small_graph(self, name: str, rows: int = 10, cols: int = 10, params: dict | None = None) -> dict:
        self.create(name, params)
        return self.import_(name, grid_csv(rows, cols))

    def update(self, name: str, ops: list[dict], **headers: str) -> dict:
        r = self.http.post(f"/v1/graphs/{name}/updates", json={"ops": ops}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    def info(self, name: str) -> dict:
        r = self.http.get(f"/v1/graphs/{name}")
        assert r.status_code == 200, r.text
        return r.json()

    def snap(self, name: str, which: str = "sparsifier") -> dict:
        r = self.http.get(f"/v1/graphs/{name}/{which}")
        assert r.status_code == 200, r.text
        return r.json()

    def h(self, name: str) -> dict[tuple, float]:
        return edge_map(self.snap(name, "sparsifier"))

    def g(self, name: str) -> dict[tuple, float]:
        return edge_map(self.snap(name, "edges"))

    def metrics(self) -> str:
        r = self.http.get("/metrics")
        assert r.status_code == 200
        return r.text

    def metric_samples(self) -> dict[tuple, float]:
        """Every sample of ``/metrics`` by ``(name, sorted label items)``; read with :func:`metric_value`."""
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(self.metrics()) for s in family.samples}

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()


def metric_value(samples: dict[tuple, float], name: str, **labels: str) -> float:
    """One sample of :meth:`Api.metric_samples` (0 when absent, as for a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
