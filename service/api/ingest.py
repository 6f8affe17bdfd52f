"""Streaming ingestion: many batches over one connection, acknowledged in order once durable.

* ``WS /v1/graphs/{name}/ingest``: the server announces a window W in its ``hello`` frame; the client sends
  ``{"id", "ops"}`` frames; each is answered with ``{"id", "seq", "cursor", "results", "delta", "stats"}`` once
  committed (or ``{"id", "error"}``), in order.  At most W batches are accepted but unacknowledged: past that the
  server stops reading the socket, so a fast producer is slowed by TCP, never buffered without bound.
* ``POST /v1/graphs/{name}/updates`` with ``Content-Type: application/x-ndjson``: one frame per line in, one
  acknowledgement per line out, streamed.

A frame id works as an idempotency key (``ingest:<id>``): a resent frame is answered from the stored reply and
never applied twice, so a producer can reconnect and resend everything not yet acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError

from sparsewire.api.deps import websocket_role
from sparsewire.api.errors import WS_FORBIDDEN, WS_NOT_FOUND, WS_STORE_UNAVAILABLE, WS_UNAUTHORIZED, error_body
from sparsewire.api.parsing import parse_checked
from sparsewire.api.schemas import Operation
from sparsewire.errors import SparsewireError, StoreUnavailableError
from sparsewire.runtime import GraphRuntime
from sparsewire.settings import ROLES

router = APIRouter(tags=["ingest"])

WINDOW = 16
_DONE = object()


class IngestFrame(BaseModel):
    """One batch on an ingest stream; ``id`` is the producer's batch id (its idempotency key)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., min_length=1, max_length=200)
    ops: list[Operation] = Field(..., min_length=1, max_length=1_000_000)


async def frame_ack(graph: GraphRuntime, raw: str | bytes, metrics: Any) -> str:
    """Parse and apply one frame; its acknowledgement (JSON text) once the batch is durable.  Errors become
    ``{"id", "error"}`` acknowledgements and never end the stream.

    Run as a task per frame, started in frame order: the parse is synchronous and the first suspension is on the
    graph's writer lock (first come, first served), so frames apply in order while the next frame is parsed and
    the previous one commits.
    """
    try:
        ops, fields = parse_checked(raw, IngestFrame, max_ops=graph.settings.max_ops_per_batch,
                                    check=graph.invalid_ops)
    except ValidationError as exc:
        metrics.ingest_frames.labels("invalid").inc()
        return json.dumps({"id": _frame_id(raw), **error_body(
            "invalid_request", f"bad frame: {str(exc).splitlines()[0]}",
            json.loads(json.dumps(exc.errors(include_url=False, include_input=False), default=str)))})
    except SparsewireError as exc:  # too many ops (too_large), or bad ops, each named by index (invalid_request)
        metrics.ingest_frames.labels("invalid").inc()
        return json.dumps({"id": _frame_id(raw), **error_body(exc.code, exc.message, exc.details)})
    frame_id: str = fields["id"]
    try:
        key = f"ingest:{frame_id}"
        reply = await (await graph.submit(ops, idempotency_key=key, request_hash=ops.fingerprint(),
                                          prefetched=graph.prefetch_key(key)))
    except SparsewireError as exc:
        metrics.ingest_frames.labels("rejected").inc()
        return _error_ack(frame_id, exc)
    except RedisError as exc:  # e.g. reloading after a failed commit while Redis is still down
        metrics.ingest_frames.labels("rejected").inc()
        metrics.redis_errors.inc()
        return _error_ack(frame_id, StoreUnavailableError(f"Redis unavailable: {exc}"))
    metrics.ingest_frames.labels("applied").inc()
    return f'{{"id":{json.dumps(frame_id)},{reply[1:]}'


def _ready(loop: asyncio.AbstractEventLoop, text: str) -> asyncio.Future[str]:
    done: asyncio.Future[str] = loop.create_future()
    done.set_result(text)
    return done


def _error_ack(frame_id: str, exc: SparsewireError) -> str:
    return json.dumps({"id": frame_id, **error_body(exc.code, exc.message, exc.details)})


def _frame_id(raw: str | bytes) -> object:
    """The id of a frame that failed validation, when it has one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data.get("id") if isinstance(data, dict) else None


async def ndjson_acks(graph: GraphRuntime, lines: AsyncIterator[bytes], metrics: Any, *,
                      max_line_bytes: int) -> AsyncIterator[bytes]:
    """Acknowledgements for an NDJSON body, one line each and in order, produced as the body streams in; up to
    :data:`WINDOW` batches are applied ahead of their acknowledgement (their commits overlap).  A line longer
    than ``max_line_bytes`` is answered with a ``too_large`` error and skipped."""
    outstanding: deque[asyncio.Future[str]] = deque()
    loop = asyncio.get_running_loop()

    async def frames() -> AsyncIterator[bytes | None]:
        buffer = bytearray()
        skipping = False  # inside an over-long line: drop bytes until its newline
        async for chunk in lines:
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                if not skipping:
                    buffer += chunk[start:end]
                    yield None if len(buffer) > max_line_bytes else bytes(buffer)
                buffer.clear()
                skipping = False
                start = end + 1
            if not skipping:
                buffer += chunk[start:]
                if len(buffer) > max_line_bytes:
                    yield None
                    buffer.clear()
                    skipping = True
        if buffer.strip() and not skipping:
            yield bytes(buffer)

    async for line in frames():
        if line is None:
            metrics.ingest_frames.labels("invalid").inc()
            ack = json.dumps({"id": None, **error_body("too_large", f"NDJSON line exceeds {max_line_bytes} bytes")})
            outstanding.append(_ready(loop, ack))
        elif line.strip():
            outstanding.append(asyncio.ensure_future(frame_ack(graph, line, metrics)))
        while outstanding and (outstanding[0].done() or len(outstanding) >= WINDOW):
            yield (await outstanding.popleft()).encode() + b"\n"
    while outstanding:
        yield (await outstanding.popleft()).encode() + b"\n"


@router.websocket("/v1/graphs/{name}/ingest")
async def ingest(ws: WebSocket, name: str) -> None:
    app = ws.app
    registry, metrics = app.state.registry, app.state.metrics
    await ws.accept()
    role = websocket_role(ws)
    if role is None:
        await ws.close(WS_UNAUTHORIZED, "missing or unknown bearer token (ingest needs the write role)")
        return
    if ROLES.index(role) < ROLES.index("write"):
        await ws.close(WS_FORBIDDEN, "this channel needs the 'write' role")
        return
    graph = registry.graphs.get(name)
    if graph is None:
        if name in registry.pending or name in registry.failed:  # never written before its recovery is done
            await ws.close(WS_STORE_UNAVAILABLE, f"graph {name!r} is still being recovered; retry shortly")
        else:
            await ws.close(WS_NOT_FOUND, f"graph {name!r} not found")
        return
    await ws.send_text(json.dumps({"type": "hello", "graph": name, "window": WINDOW,
                                   "cursor": str(graph.durable_seq)}))
    window = asyncio.Semaphore(WINDOW)  # frames read but not yet acknowledged
    acks: asyncio.Queue[object] = asyncio.Queue()

    async def read_and_apply() -> None:
        """Read frames (at most WINDOW unacknowledged: past that the socket is not read) and apply them in
        order; their acknowledgements are queued as futures that complete once durable."""
        try:
            while True:
                await window.acquire()
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text")
                if raw is None:  # a binary frame: take it as UTF-8 JSON if it is, else it gets an error ack
                    raw = (message.get("bytes") or b"").decode("utf-8", "replace")
                metrics.ingest_inflight.inc()
                await acks.put((time.perf_counter(), asyncio.ensure_future(frame_ack(graph, raw, metrics))))
        except WebSocketDisconnect:
            pass
        finally:
            await acks.put(_DONE)

    reader = asyncio.create_task(read_and_apply())
    try:
        while (item := await acks.get()) is not _DONE:
            read_at, ack = item  # type: ignore[misc]
            try:
                await ws.send_text(await ack)
            finally:
                window.release()
                metrics.ingest_inflight.dec()
                metrics.ingest_lag.observe(time.perf_counter() - read_at)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        while not acks.empty():  # frames applied but never acknowledged (the peer left)
            if acks.get_nowait() is not _DONE:
                metrics.ingest_inflight.dec()
