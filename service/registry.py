"""All stored graphs of one service process: creation, lookup, deletion and start-up recovery."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sparsewire.engine.sparsifier import SparsifierParams
from sparsewire.errors import ConflictError, InvalidInputError, NotFoundError
from sparsewire.metrics import Metrics
from sparsewire.runtime import GraphRuntime
from sparsewire.settings import Settings
from sparsewire.store.redis_store import GraphStore

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
        self.graphs: dict[str, GraphRuntime] = {}
        self.ready = False
        self._create_lock = asyncio.Lock()

    def _deps(self) -> dict[str, Any]:
        return {"settings": self.settings, "metrics": self.metrics, "executor": self.executor}

    async def recover(self) -> None:
        """Load every graph from Redis (snapshot + log replay); the service is ready afterwards."""
        for name in await self.store.graph_names():
            self.graphs[name] = await GraphRuntime.load(name, self.store, **self._deps())
        self.ready = True

    async def create(self, name: str, *, directed: bool, signed: bool, node_ids: str,
                     params: SparsifierParams) -> GraphRuntime:
        check_name(name)
        if directed:
            raise InvalidInputError("stored graphs are undirected in this version; use the stateless /v1/analysis "
                                    "endpoints for directed graphs")
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
            raise NotFoundError(f"graph {name!r} not found")
        return rt

    async def delete(self, name: str) -> None:
        rt = self.get(name)
        async with rt.lock:
            await rt.retire()
            await self.store.delete(name)
            self.graphs.pop(name, None)
            self.metrics.forget_graph(name)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
