"""Edge updates: one atomic, durable batch per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from sparsewire.api.deps import GraphDep, require
from sparsewire.api.schemas import UpdateBatch, UpdateReply
from sparsewire.errors import InvalidInputError
from sparsewire.runtime import Op, body_hash

router = APIRouter(prefix="/v1/graphs", tags=["updates"])


@router.post("/{name}/updates", response_model=UpdateReply, dependencies=[require("write")])
async def post_updates(graph: GraphDep, batch: UpdateBatch,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> dict:
    """Apply a batch of insertions/deletions atomically; the reply comes once the batch is durable.

    With an ``Idempotency-Key`` a retry returns the stored reply and applies nothing twice; the same key with
    a different body is rejected (422).
    """
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInputError("Idempotency-Key must not be empty")
    ops = [Op(o.op, o.u, o.v, 1.0 if (o.op == "insert" and o.w is None) else o.w) for o in batch.ops]
    return await graph.apply(ops, idempotency_key=idempotency_key,
                             request_hash=body_hash(batch.model_dump()) if idempotency_key else None)
