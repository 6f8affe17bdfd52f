"""Edge updates: one atomic, durable batch per request (JSON), or a stream of batches (NDJSON)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from sparsewire.api.deps import GraphDep, require
from sparsewire.api.ingest import IngestFrame, ndjson_acks
from sparsewire.api.parsing import parse_checked
from sparsewire.api.schemas import UpdateBatch, UpdateReply
from sparsewire.errors import InvalidInputError, UnsupportedMediaTypeError

router = APIRouter(prefix="/v1/graphs", tags=["updates"])

#: Bodies up to this size are parsed on the event loop (~1 ms per 64 KB); larger ones in a worker thread.
INLINE_PARSE_BYTES = 256 * 1024


class DuplexStreamingResponse(StreamingResponse):
    """Streams while the request body is still being read (NDJSON in, NDJSON out).

    Starlette's StreamingResponse listens for a disconnect by reading ``receive`` during the response on ASGI
    servers older than spec 2.4, which would steal the request body's chunks; the body reader here sees the
    disconnect itself.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError as exc:
            raise ClientDisconnect() from exc

_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/UpdateBatch"}},
    "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/IngestFrame"},
                             "description": "one IngestFrame per line; the reply has one acknowledgement per line"},
}}}


@router.post("/{name}/updates", response_model=UpdateReply, dependencies=[require("write")], openapi_extra=_BODY,
             responses={200: {"content": {"application/x-ndjson": {}}},
                        415: {"description": "a body type other than JSON or NDJSON"}})
async def post_updates(graph: GraphDep, request: Request,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None):  # noqa: ANN201
    """Apply a batch of insertions/deletions atomically; the reply comes once the batch is durable.

    With an ``Idempotency-Key`` a retry returns the stored reply and applies nothing twice; the same key with
    a different body is rejected (422).  With ``Content-Type: application/x-ndjson`` the body is a stream of
    ``{"id", "ops"}`` frames, acknowledged line by line (see ``docs/websocket.md``).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/x-ndjson":
        settings = request.app.state.settings
        return DuplexStreamingResponse(ndjson_acks(graph, request.stream(), request.app.state.metrics,
                                                   max_line_bytes=settings.max_body_bytes),
                                       media_type="application/x-ndjson")
    if ctype not in ("", "application/json") and not ctype.endswith("+json"):
        # text/plain and form bodies are what a foreign web page can send without a CORS preflight
        raise UnsupportedMediaTypeError(f"Content-Type {ctype!r} is not accepted: send application/json (one batch) "
                                        "or application/x-ndjson (a stream of frames)")
    body = await request.body()
    # over the ops limit: 413; a bad op: 422 naming every bad op (schema and graph checks) by index
    parse = partial(parse_checked, body, UpdateBatch, max_ops=graph.settings.max_ops_per_batch,
                    check=graph.invalid_ops)
    try:  # a large batch is parsed in a worker thread: a 40 MB body must not stall every other request
        if len(body) > INLINE_PARSE_BYTES:
            ops, _ = await asyncio.to_thread(parse)
        else:
            ops, _ = parse()
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from exc
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInputError("Idempotency-Key must not be empty")
    reply = await graph.apply(ops, idempotency_key=f"http:{idempotency_key}" if idempotency_key else None,
                              request_hash=ops.fingerprint() if idempotency_key else None)
    return Response(reply, media_type="application/json")


__all__ = ["IngestFrame", "router"]
