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
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
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
