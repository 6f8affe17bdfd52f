"""All stored graphs of one service process: creation, lookup, deletion and start-up recovery."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from redis.exceptions import RedisError

from sparsewire.engine.sparsifier import SparsifierParams
from sparsewire.errors import ConflictError, InvalidInputError, NotFoundError, RecoveringError, StoreUnavailableError
from sparsewire.metrics import Metrics
from sparsewire.runtime import GraphRuntime
from sparsewire.settings import Settings
from sparsewire.store.redis_store import GraphStore

log = logging.getLogger("uvicorn.error")

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise InvalidInputError(f"bad graph name {name!r}: use 1-128 of [A-Za-z0-9_.-], starting with a letter "
                                "or digit, without '..'")
    return name


class Registry:
    def __init__(self, store: GraphStore, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="engine")
        #: id mapping and reply encoding beside the engine threads (never wait on anything: no deadlock)
        self.helpers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="encode")
        self.graphs: dict[str, GraphRuntime] = {}
        self.ready = False
        #: graphs stored in Redis but not loaded yet (start-up recovery runs while the server already answers)
        self.pending: set[str] = set()
        #: graphs whose recovery failed for good, with the reason
        self.failed: dict[str, str] = {}
        #: the last transient error of the recovery (it is retried), None once it went through
        self.recovery_error: str | None = None
        self._create_lock = asyncio.Lock()

    def _deps(self) -> dict[str, Any]:
        return {"settings": self.settings, "metrics": self.metrics, "executor": self.executor,
                "helpers": self.helpers}

    async def list_stored(self) -> None:
        """Mark every graph stored in Redis as pending recovery (before the server answers: until
        :meth:`recover` loads it, a request for it gets 503, never 404)."""
        self.pending = set(await self.store.graph_names()) - self.graphs.keys()

    async def recover(self, *, retry_seconds: float = 1.0) -> None:
        """Load every pending graph from Redis (snapshot + log replay), one after the other; each answers requests
        as soon as it is loaded.  Redis errors are retried (with backoff, up to 10 s apart); a graph that cannot
        be loaded otherwise stays unavailable (503) and is listed in ``failed``."""
        delay = retry_seconds
        while self.pending:
            name = min(self.pending)
            try:
                rt = await GraphRuntime.load(name, self.store, **self._deps())
            except NotFoundError:  # deleted meanwhile by another process sharing the Redis
                self.pending.discard(name)
                continue
            except (StoreUnavailableError, RedisError, OSError) as exc:
                self.recovery_error = f"graph {name!r}: {type(exc).__name__}: {exc}"
                log.warning("sparsewire: recovery of %r failed, retrying in %.0f s: %s", name, delay, exc)
                self.metrics.redis_errors.inc()
                await asyncio.sleep(delay)
                delay = min(2 * delay, 10.0)
                continue
            except Exception as exc:  # noqa: BLE001 - a corrupt graph must not keep the others down
                log.exception("sparsewire: graph %r cannot be recovered", name)
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                self.pending.discard(name)
                continue
            self.graphs[name] = rt
            self.pending.discard(name)
            delay = retry_seconds
        self.recovery_error = None

    def recovery(self) -> dict[str, Any]:
        """Progress of the start-up recovery (for ``/readyz``)."""
        pending = sorted(self.pending)
        return {"done": self.ready, "loaded": len(self.graphs), "pending": pending[:100], "pending_count": len(pending),
                "failed": dict(sorted(self.failed.items())[:100]), "error": self.recovery_error}

    async def create(self, name: str, *, directed: bool, signed: bool, node_ids: str,
                     params: SparsifierParams) -> GraphRuntime:
        check_name(name)
        info = {"directed": directed, "signed": signed, "node_ids": node_ids, "params": params.to_dict(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "incarnation": uuid.uuid4().hex}
        async with self._create_lock:
            if name in self.graphs or not await self.store.create(name, info):
                raise ConflictError(f"graph {name!r} already exists")
            rt = GraphRuntime.empty(name, info, store=self.store, **self._deps())
            self.graphs[name] = rt
            return rt

    def get(self, name: str) -> GraphRuntime:
        rt = self.graphs.get(name)
        if rt is None:
            self.check_recovered(name)
            raise NotFoundError(f"graph {name!r} not found")
        return rt

    def check_recovered(self, name: str) -> None:
        """Raise :class:`RecoveringError` (503) for a stored graph not loaded (yet) since start-up."""
        if name in self.pending:
            raise RecoveringError(f"graph {name!r} is still being recovered after a restart; retry shortly")
        if name in self.failed:
            raise RecoveringError(f"graph {name!r} could not be recovered: {self.failed[name]}")

    async def delete(self, name: str) -> None:
        if name in self.failed and name not in self.graphs:  # unloadable: dropping it is all an admin can do
            await self.store.delete(name)
            self.failed.pop(name, None)
            return
        rt = self.get(name)
        async with rt.lock:
            await rt.retire()
            await self.store.delete(name)
            self.graphs.pop(name, None)
            self.metrics.forget_graph(name)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.helpers.shutdown(wait=True, cancel_futures=True)
