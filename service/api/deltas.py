"""``WS /v1/graphs/{name}/deltas``: the sparsifier's delta log, from a cursor, with heartbeats.

Each subscriber reads the committed log (a Redis Stream) at its own pace, so the server holds no per-subscriber
backlog; a subscriber that does not take a message within ``subscriber_send_timeout_seconds`` is disconnected
(4408) and resumes from its last cursor.  Protocol: ``docs/websocket.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from sparsewire.api.deps import websocket_allowed
from sparsewire.api.errors import (
    WS_CURSOR_FUTURE,
    WS_CURSOR_TOO_OLD,
    WS_NOT_FOUND,
    WS_STORE_UNAVAILABLE,
    WS_TOO_SLOW,
    WS_UNAUTHORIZED,
)
from sparsewire.runtime import GraphRuntime

router = APIRouter(tags=["deltas"])

class _Position:
    """Where one subscriber stands: the cursor it was last sent and the log head, for the lag metrics.  The head is
    the graph's durable sequence number when the graph lives in this process (``local``, read at no cost), else the
    head read from Redis once per log read."""

    __slots__ = ("after", "head", "local")

    def __init__(self, after: int, head: int, local: GraphRuntime | None) -> None:
        self.after, self.head, self.local = after, head, local

    def current_head(self) -> int:
        rt = self.local
        return self.head if rt is None or rt.deleted else max(rt.durable_seq, self.head)

    def lag(self) -> int:
        return max(self.current_head() - self.after, 0)


def delta_frames(seq: int, fields: dict[bytes, bytes]) -> list[str]:
    """The frames of one log entry, in order.  A ``balance`` frame (a signed graph's verdict changed) comes first
    and carries the cursor *before* the entry, so a subscriber cut off between the two frames gets both again
    and never loses one."""
    frames = []
    if b"balance" in fields:
        frames.append(f'{{"type":"balance","seq":{seq},"cursor":"{seq - 1}",{fields[b"balance"].decode()[1:]}')
    kind = fields.get(b"type", b"batch").decode()
    if kind == "reset":
        frames.append(json.dumps({"type": "reset", "seq": seq, "cursor": str(seq),
                                  "reason": fields.get(b"reason", b"").decode()}))
    else:
        # the stored delta is already JSON: splice it in rather than decode and re-encode it
        frames.append(f'{{"type":"delta","seq":{seq},"cursor":"{seq}","delta":{fields[b"delta"].decode()}}}')
    return frames


async def _send(ws: WebSocket, text: str, timeout: float) -> None:
    await asyncio.wait_for(ws.send_text(text), timeout)


@router.websocket("/v1/graphs/{name}/deltas")
async def deltas(ws: WebSocket, name: str, cursor: str | None = None) -> None:
    app = ws.app
    settings, registry, metrics = app.state.settings, app.state.registry, app.state.metrics
    await ws.accept()
    if not websocket_allowed(ws):
        await ws.close(WS_UNAUTHORIZED, "missing or unknown bearer token")
        return
    store = registry.store
    # the committed state lives in Redis: a graph created or written by another process sharing the Redis is
    # as visible here as one of this process (the in-memory registry only knows graphs loaded at start-up or
    # created here, and their in-memory seq is not advanced by other processes' commits)
    try:
        meta = await store.meta(name)
    except RedisError:
        metrics.redis_errors.inc()
        await ws.close(WS_STORE_UNAVAILABLE, "store unavailable")
        return
    if meta is None:
        await ws.close(WS_NOT_FOUND, f"graph {name!r} not found")
        return
    head = meta["seq"]
    incarnation = meta["info"].get("incarnation")
    if cursor is None:
        after = head
    elif not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 19):
        await ws.close(WS_CURSOR_FUTURE, "cursor must be a non-negative integer")
        return
    else:
        after = int(cursor)
        if after > head:
            await ws.close(WS_CURSOR_FUTURE, "cursor from the future")
            return
        first = await store.first_seq(name)
        if after < head and (first is None or after < first - 1):
            metrics.subscriber_disconnects.labels("cursor_too_old").inc()
            await ws.close(WS_CURSOR_TOO_OLD, "cursor too old")
            return
    local = registry.graphs.get(name)
    if local is not None and local.info.get("incarnation") != incarnation:
        local = None
    position = _Position(after, head, local)
    metrics.subscribers.inc()
    metrics.track_subscriber(name, position, position.lag)
    timeout = settings.subscriber_send_timeout_seconds

    async def same_graph() -> bool:
        now = await store.meta(name)
        return now is not None and now["info"].get("incarnation") == incarnation

    async def pump(after: int, head: int) -> None:
        await _send(ws, json.dumps({"type": "hello", "graph": name, "cursor": str(after), "head": str(head),
                                    "heartbeat_seconds": settings.heartbeat_seconds}), timeout)
        block_ms = int(settings.heartbeat_seconds * 1000)
        while True:
            entries = await store.read_blocking(name, after, block_ms=block_ms, count=100)
            if not entries:
                if not await same_graph():
                    await ws.close(WS_NOT_FOUND, f"graph {name!r} was deleted")
                    return
                await _send(ws, json.dumps({"type": "heartbeat", "cursor": str(after)}), timeout)
                continue
            if entries[0][0] != after + 1:  # history after the cursor was trimmed while we were away ...
                if not await same_graph():  # ... or the graph was deleted (and maybe re-created)
                    await ws.close(WS_NOT_FOUND, f"graph {name!r} was deleted")
                    return
                metrics.subscriber_disconnects.labels("cursor_too_old").inc()
                await ws.close(WS_CURSOR_TOO_OLD, "cursor too old")
                return
            # the real head, not just the newest entry of this read (a read returns at most `count` entries)
            if position.local is None or position.local.deleted:
                position.head = max(position.head, await store.head_seq(name) or 0)
            head = position.head = max(position.current_head(), entries[-1][0])
            for seq, fields in entries:
                metrics.delta_lag.observe(max(head - seq, 0))
                for frame in delta_frames(seq, fields):
                    await _send(ws, frame, timeout)
                after = position.after = seq

    async def until_disconnect() -> None:
        """Subscribers send nothing; reading anyway notices a closed connection at once instead of at the
        next heartbeat (the pump may be blocked in Redis for that long)."""
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(pump(after, head)), asyncio.create_task(until_disconnect())]
    too_slow = False
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    except TimeoutError:
        metrics.subscriber_disconnects.labels("too_slow").inc()
        too_slow = True
    except (WebSocketDisconnect, RuntimeError):
        pass
    except RedisError:
        metrics.redis_errors.inc()
        await ws.close(WS_STORE_UNAVAILABLE, "store unavailable")
    finally:
        for task in tasks:
            task.cancel()
        metrics.subscribers.dec()
        metrics.untrack_subscriber(name, position)
    if too_slow:
        # The subscription is released (no more reads, gauges down); the close frame queues behind the data the
        # peer has not read, so it reaches a peer that reads again, and the websocket layer aborts the
        # connection after its close timeout otherwise.  It must be sent from this handler: once the handler
        # returns, the server drops the connection without a close frame (the peer would see 1006).
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close(WS_TOO_SLOW, "subscriber too slow")
