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
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sparsewire.api.deps import websocket_allowed
from sparsewire.api.errors import WS_NOT_FOUND, WS_UNAUTHORIZED, error_body
from sparsewire.api.schemas import Operation
from sparsewire.errors import SparsewireError
from sparsewire.runtime import GraphRuntime, Op, body_hash

router = APIRouter(tags=["ingest"])

WINDOW = 16
_DONE = object()


class IngestFrame(BaseModel):
    """One batch on an ingest stream; ``id`` is the producer's batch id (its idempotency key)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., min_length=1, max_length=200)
    ops: list[Operation] = Field(..., max_length=1_000_000)


def _ops(frame: IngestFrame) -> list[Op]:
    return [Op(o.op, o.u, o.v, 1.0 if (o.op == "insert" and o.w is None) else o.w) for o in frame.ops]


async def apply_frame(graph: GraphRuntime, raw: str | bytes, metrics: Any) -> str:
    """Parse, apply and acknowledge one frame (JSON text); errors become ``{"id", "error"}`` and never end the
    stream."""
    try:
        frame = IngestFrame.model_validate_json(raw)
    except ValidationError as exc:
        metrics.ingest_frames.labels("invalid").inc()
        return json.dumps({"id": _frame_id(raw), **error_body(
            "invalid_request", f"bad frame: {str(exc).splitlines()[0]}",
            json.loads(json.dumps(exc.errors(include_url=False), default=str)))})
    try:
        reply = await graph.apply(_ops(frame), idempotency_key=f"ingest:{frame.id}",
                                  request_hash=body_hash(frame.model_dump_json()))
    except SparsewireError as exc:
        metrics.ingest_frames.labels("rejected").inc()
        return json.dumps({"id": frame.id, **error_body(exc.code, exc.message, exc.details)})
    metrics.ingest_frames.labels("applied").inc()
    return f'{{"id":{json.dumps(frame.id)},{reply[1:]}'


def _frame_id(raw: str | bytes) -> object:
    """The id of a frame that failed validation, when it has one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data.get("id") if isinstance(data, dict) else None


async def ndjson_acks(graph: GraphRuntime, lines: AsyncIterator[bytes], metrics: Any) -> AsyncIterator[bytes]:
    """Acknowledgements for an NDJSON body, one line each, produced as the body streams in."""
    buffer = b""
    async for chunk in lines:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if line.strip():
                yield (await apply_frame(graph, line, metrics)).encode() + b"\n"
    if buffer.strip():
        yield (await apply_frame(graph, buffer, metrics)).encode() + b"\n"


@router.websocket("/v1/graphs/{name}/ingest")
async def ingest(ws: WebSocket, name: str) -> None:
    app = ws.app
    registry, metrics = app.state.registry, app.state.metrics
    await ws.accept()
    if not websocket_allowed(ws, "write"):
        await ws.close(WS_UNAUTHORIZED, "missing or unknown bearer token (ingest needs the write role)")
        return
    graph = registry.graphs.get(name)
    if graph is None:
        await ws.close(WS_NOT_FOUND, f"graph {name!r} not found")
        return
    await ws.send_text(json.dumps({"type": "hello", "graph": name, "window": WINDOW, "cursor": str(graph.seq)}))
    pending: asyncio.Queue[object] = asyncio.Queue(maxsize=WINDOW)

    async def read() -> None:
        try:
            while True:
                raw = await ws.receive_text()
                metrics.ingest_inflight.inc()
                await pending.put((time.perf_counter(), raw))  # blocks when W frames are unacknowledged
        except WebSocketDisconnect:
            pass
        finally:
            await pending.put(_DONE)

    reader = asyncio.create_task(read())
    try:
        while (item := await pending.get()) is not _DONE:
            read_at, raw = item  # type: ignore[misc]
            try:
                await ws.send_text(await apply_frame(graph, raw, metrics))
            finally:
                metrics.ingest_inflight.dec()
                metrics.ingest_lag.observe(time.perf_counter() - read_at)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        while not pending.empty():  # frames read but never applied (the peer left)
            if pending.get_nowait() is not _DONE:
                metrics.ingest_inflight.dec()
