"""The application factory: settings, Redis (embedded or external), durability check, recovery, routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sparsewire import __version__
from sparsewire.api import analysis, deltas, errors, graphs, ingest, ops, updates
from sparsewire.api.origin import OriginGuard
from sparsewire.engine.backend import select_backend
from sparsewire.engine.pipeline import warm_up
from sparsewire.errors import StoreUnavailableError, TooLargeError
from sparsewire.metrics import Metrics
from sparsewire.registry import Registry
from sparsewire.settings import Settings
from sparsewire.store.embedded import EmbeddedRedis
from sparsewire.store.redis_store import GraphStore

#: ``sys.setswitchinterval`` of the service process (Python's default is 5 ms).
GIL_SWITCH_SECONDS = 0.0005

log = logging.getLogger("uvicorn.error")  # configured by uvicorn, so start-up lines reach the console


class BodyLimit:
    """Reject requests whose declared ``Content-Length`` exceeds the limit with 413 before reading them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.limit):
                body = b'{"error":{"code":"too_large","message":"request body exceeds %d bytes"}}' % self.limit
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if length is None and ctype != b"application/x-ndjson":
                # a chunked body declares no length: count what is read (NDJSON update streams are long-lived
                # by design and are not counted here)
                receive = self._counting(receive)
        await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLargeError(f"request body exceeds {self.limit} bytes")
            return message

        return counted


async def _wait_for_redis(redis: Redis, deadline_seconds: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            await redis.ping()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if time.monotonic() > deadline:
                raise StoreUnavailableError(f"Redis not reachable after {deadline_seconds} s: {exc}") from exc
            log.info("waiting for Redis: %s", exc)
            await asyncio.sleep(0.5)


async def _recover(registry: Registry, backend: str, fsync_mode: str) -> None:
    """Start-up work done while the server already answers: load the stored graphs, then compile (or load from
    numba's cache) every kernel, then take everything start-up created (modules, compiler state: ~10^5 objects)
    out of the cyclic collector's sight (a full collection over them stalled the event loop for 60 ms every few
    batches).  The service is ready afterwards."""
    t0 = time.perf_counter()
    await registry.recover()
    try:
        await asyncio.get_running_loop().run_in_executor(registry.executor, warm_up, backend)
    except Exception as exc:  # the service stays up but never ready: /readyz says why
        log.exception("sparsewire: kernel warm-up failed")
        registry.recovery_error = f"kernel warm-up failed: {type(exc).__name__}: {exc}"
        return
    gc.collect()
    gc.freeze()
    registry.ready = True
    log.info("sparsewire: ready after %.1f s, %d graph(s) recovered%s, durability %s (%s), backend %s",
             time.perf_counter() - t0, len(registry.graphs),
             f", {len(registry.failed)} failed" if registry.failed else "", registry.settings.durability, fsync_mode,
             backend)


def _install_openapi(app: FastAPI) -> None:
    """Add the request models that routes parse by content type themselves (JSON or NDJSON) to the schema."""
    from fastapi.openapi.utils import get_openapi  # noqa: PLC0415

    from sparsewire.api.ingest import IngestFrame  # noqa: PLC0415
    from sparsewire.api.schemas import UpdateBatch  # noqa: PLC0415

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (UpdateBatch, IngestFrame):
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in js.pop("$defs", {}).items():
                comps.setdefault(name, definition)
            comps[model.__name__] = js
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = select_backend(settings.backend)
        embedded = None
        url = settings.redis_url
        if url is None:
            embedded = EmbeddedRedis(settings.data_dir / "redis")
            # started from the main thread on purpose: the child is tied to its creator's thread (it dies with it)
            url = embedded.start()
            log.info("sparsewire: embedded redis-server at %s, append-only data in %s", url, embedded.data_dir)
        # socket_timeout must outlast the subscribers' XREAD BLOCK (one heartbeat interval)
        redis = Redis.from_url(url, retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), 3),
                               retry_on_error=[RedisConnectionError, RedisTimeoutError], health_check_interval=30,
                               max_connections=512, socket_connect_timeout=10,
                               socket_timeout=settings.heartbeat_seconds + 30)
        try:
            await _wait_for_redis(redis)
            store = GraphStore(redis, durability=settings.durability,
                               idempotency_ttl_seconds=settings.idempotency_ttl_seconds)
            await store.check_durability()
            metrics = Metrics(backend.name)
            registry = Registry(store, settings, metrics)
            app.state.settings, app.state.metrics, app.state.registry = settings, metrics, registry
            app.state.redis_url = url
            # the engine thread hands the GIL back and forth around its nogil kernels while the event loop parses
            # and encodes; at the default 5 ms switch interval each handover could stall the engine that long
            sys.setswitchinterval(GIL_SWITCH_SECONDS)
            # recovery runs after the server starts answering: /livez at once, /readyz 503 (and 503 for each graph
            # not loaded yet) until it is done; the stored names are known before the first request
            await registry.list_stored()
            log.info("sparsewire: recovering %d graph(s) in the background", len(registry.pending))
            recovery = asyncio.create_task(_recover(registry, backend.name, store.fsync_mode), name="recovery")
            try:
                yield
            finally:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery
                registry.close()
        finally:
            await redis.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    app = FastAPI(title="sparsewire", version=__version__, lifespan=lifespan,
                  description="Streaming spectral graph sparsification (dyGRASS) as a service.",
                  generate_unique_id_function=lambda route: f"{route.tags[0]}-{route.name}" if route.tags
                  else route.name)
    errors.install(app)
    _install_openapi(app)
    for module in (graphs, updates, ingest, deltas, ops, analysis):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(OriginGuard, allowed=frozenset(filter(None, (o.strip() for o in
                                                                settings.allowed_origins.split(",")))))
    return app
