"""Delta subscriptions that survive disconnects: ``client.subscribe(name, cursor)``.

The websocket protocol (``WS /v1/graphs/{name}/deltas?cursor=C``) sends ``hello``, then ``delta``
(``seq``, ``cursor``, ``delta``), ``reset`` (the graph was replaced, e.g. by an import: re-snapshot) and
``heartbeat`` messages.  A :class:`Subscription` remembers the cursor of the last event it *handed to you*,
and after any disconnect reconnects with backoff from exactly that cursor, dropping anything at or before it:
every delta is seen once, in order.  When the service no longer holds the history after that cursor (close
code 4410), after a ``reset``, or on a gap in sequence numbers, it fetches a sparsifier snapshot and yields a
:class:`Resync` carrying it; the deltas that follow apply on top of that snapshot.

The protocol logic is :class:`_Protocol` (no I/O); :class:`Subscription` and :class:`AsyncSubscription` only
move bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from sparsewire.api.schemas import Delta, EdgeSnapshot
from sparsewire.clients._requests import (
    ClientError,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unreachable,
    backoff,
    error_from_response,
)

if TYPE_CHECKING:
    from sparsewire.clients.client import AsyncClient, Client

#: Websocket close codes of the service (``sparsewire.api.errors``).
WS_CURSOR_FUTURE, WS_UNAUTHORIZED, WS_NOT_FOUND, WS_TOO_SLOW, WS_CURSOR_TOO_OLD = 4400, 4401, 4404, 4408, 4410
MAX_MESSAGE = 256 * 2**20


@dataclass(frozen=True)
class DeltaEvent:
    """The net sparsifier change of batch ``seq``: apply ``delta.removed``, ``delta.added`` (``[u, v, w]``) and
    ``delta.reweighted`` (``[u, v, w]``, new weight) to your copy."""

    seq: int
    cursor: str
    delta: Delta


@dataclass(frozen=True)
class Resync:
    """Your copy can no longer be patched: replace it with ``snapshot`` (the sparsifier at ``cursor``).
    ``reason``: ``cursor_too_old`` (history trimmed), ``reset:<why>`` (e.g. ``reset:import``) or ``gap``."""

    snapshot: EdgeSnapshot
    cursor: str
    reason: str


@dataclass(frozen=True)
class BalanceEvent:
    """A signed graph's structural-balance verdict changed with batch ``seq`` (handed out just before that batch's
    :class:`DeltaEvent`).  Certificate: ``camp_plus``/``camp_minus`` (a bipartition with no frustrated edge) when
    ``balanced``, else ``negative_cycle`` and its ``negative_cycle_edges`` (``{source, target, weight}``), whose
    sign product is negative."""

    seq: int
    balanced: bool
    negative_cycle: list | None
    negative_cycle_edges: list | None
    camp_plus: list | None
    camp_minus: list | None


@dataclass(frozen=True)
class Heartbeat:
    """Nothing new up to ``cursor`` (only with ``heartbeats=True``)."""

    cursor: str


Event = DeltaEvent | BalanceEvent | Resync | Heartbeat


class _Protocol:
    """Cursor bookkeeping and message/close-code handling shared by both transports."""

    def __init__(self, base_url: str, token: str | None, name: str, cursor: str | int | None, heartbeats: bool,
                 max_retries: int | None) -> None:
        if cursor is not None and not str(cursor).isdigit():
            raise InvalidRequest(f"cursor must be a non-negative integer, not {cursor!r}")
        self.base_url, self.token, self.name = base_url, token, name
        self.cursor: int | None = None if cursor is None else int(cursor)
        self.heartbeats = heartbeats
        self.max_retries = max_retries
        self.resync_reason: str | None = None
        self.balance_seq = 0  # seq of the last balance event handed out (its frame is resent after a reconnect)
        self.failures = 0  # consecutive failed connections / drops since the last hello
        self.connections = 0
        self.idle_timeout = 60.0

    @property
    def reconnects(self) -> int:
        return max(self.connections - 1, 0)

    def ws_url(self) -> str:
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        query = urlencode({"cursor": str(self.cursor)}) if self.cursor is not None else ""
        host = self.base_url.split("://", 1)[1]
        return f"{scheme}://{host}/v1/graphs/{quote(self.name, safe='')}/deltas" + (f"?{query}" if query else "")

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def on_message(self, raw: str | bytes) -> Event | None:
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "hello":
            self.failures = 0
            self.connections += 1
            self.idle_timeout = 2 * float(msg.get("heartbeat_seconds", 15)) + 10
            if self.cursor is None:
                self.cursor = int(msg["cursor"])
            return None
        if kind == "heartbeat":
            return Heartbeat(str(self.cursor)) if self.heartbeats else None
        if kind == "balance":
            seq = int(msg["seq"])
            if seq <= self.balance_seq or (self.cursor is not None and seq <= self.cursor):
                return None
            self.balance_seq = seq
            return BalanceEvent(seq, bool(msg["balanced"]), msg.get("negative_cycle"),
                                msg.get("negative_cycle_edges"), msg.get("camp_plus"), msg.get("camp_minus"))
        if kind not in ("delta", "reset"):
            return None  # newer message types: ignore
        seq = int(msg["seq"])
        if self.cursor is not None and seq <= self.cursor:
            return None  # already handed out (a replay after a reconnect)
        if kind == "reset":
            self.resync_reason = f"reset:{msg.get('reason') or 'unknown'}"
            return None
        if self.cursor is not None and seq != self.cursor + 1:
            self.resync_reason = "gap"
            return None
        self.cursor = seq
        return DeltaEvent(seq, str(seq), Delta.model_validate(msg["delta"]))

    def on_closed(self, code: int | None, reason: str) -> None:
        """Decide after a close: raise for final errors, else arrange a resync or a plain reconnect."""
        if code == WS_CURSOR_TOO_OLD:
            self.resync_reason = "cursor_too_old"
            return
        if code == WS_UNAUTHORIZED:
            raise Unauthorized(f"deltas of {self.name!r}: {reason or 'unauthorized'}", status=401)
        if code == WS_NOT_FOUND:
            raise NotFound(f"deltas of {self.name!r}: {reason or 'graph not found'}", status=404)
        if code == WS_CURSOR_FUTURE:
            raise InvalidRequest(f"deltas of {self.name!r} from cursor {self.cursor}: {reason}", status=400)
        self.failed(f"connection closed ({code} {reason})".strip())

    def on_connect_error(self, exc: Exception) -> None:
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            if status < 500 and status != 429:
                raise error_from_response(status, exc.response.body or b"")
        self.failed(f"{type(exc).__name__}: {exc}")

    def failed(self, why: str) -> None:
        self.failures += 1
        if self.max_retries is not None and self.failures > self.max_retries:
            raise Unreachable(f"deltas of {self.name!r}: gave up after {self.failures} attempts: {why}")

    def delay(self) -> float:
        return backoff(self.failures - 1) if self.failures else 0.0

    def resynced(self, snap: EdgeSnapshot) -> Resync:
        reason, self.resync_reason = self.resync_reason or "resync", None
        self.cursor = int(snap.cursor)
        return Resync(snap, snap.cursor, reason)


def _close_code(exc: ConnectionClosed) -> tuple[int | None, str]:
    if exc.rcvd is not None:
        return exc.rcvd.code, exc.rcvd.reason
    return None, "connection lost"


class Subscription:
    """Iterator of :class:`DeltaEvent`, :class:`Resync` and (with ``heartbeats=True``) :class:`Heartbeat`.

    ``cursor`` is the position after the last event handed out (resume a later subscription from it);
    ``reconnects`` counts reconnections.  ``max_retries`` bounds consecutive failed attempts (None: retry
    forever), after which :class:`Unreachable` is raised.  :meth:`close` ends the iteration (from any thread);
    :meth:`drop_connection` cuts the current connection as a network failure would (the iterator resumes).
    """

    def __init__(self, client: Client, name: str, cursor: str | int | None = None, *, heartbeats: bool = False,
                 max_retries: int | None = None) -> None:
        self._client = client
        self._p = _Protocol(client.url, client.token, name, cursor, heartbeats, max_retries)
        self._ws: Any = None
        self._closed = False
        self._lock = threading.Lock()
        self._gen = self._run()

    @property
    def cursor(self) -> str | None:
        return None if self._p.cursor is None else str(self._p.cursor)

    @property
    def reconnects(self) -> int:
        return self._p.reconnects

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> Event:
        return next(self._gen)

    def _run(self):  # noqa: ANN202, C901
        from websockets.sync.client import connect  # noqa: PLC0415

        p = self._p
        while not self._closed:
            if p.resync_reason:
                try:
                    snap = self._client.sparsifier(p.name)
                except ServiceUnavailable as exc:
                    p.failed(str(exc))
                    time.sleep(p.delay())
                    continue
                yield p.resynced(snap)
                continue
            time.sleep(p.delay())
            connecting = True
            try:
                with connect(p.ws_url(), additional_headers=p.headers(), proxy=None, max_size=MAX_MESSAGE,
                             open_timeout=self._client.timeout, close_timeout=2) as ws:
                    connecting = False
                    with self._lock:
                        self._ws = ws
                    try:
                        while not self._closed:
                            event = p.on_message(ws.recv(timeout=p.idle_timeout))
                            if p.resync_reason:
                                break
                            if event is not None:
                                yield event
                    finally:
                        with self._lock:
                            self._ws = None
            except ConnectionClosed as exc:
                if not self._closed:
                    p.on_closed(*_close_code(exc))
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if connecting:
                    p.on_connect_error(exc)
                else:
                    p.failed(f"no message or heartbeat in time ({type(exc).__name__})")

    def drop_connection(self) -> bool:
        """Abort the current connection (no close handshake), as a network failure would.  True if there was
        one.  The iteration reconnects and resumes from :attr:`cursor`."""
        with self._lock:
            ws = self._ws
        if ws is None:
            return False
        with contextlib.suppress(OSError):
            ws.socket.shutdown(socket.SHUT_RDWR)
        return True

    def close(self) -> None:
        self._closed = True
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSubscription:
    """The async iterator twin of :class:`Subscription` (``async for event in client.subscribe(name)``)."""

    def __init__(self, client: AsyncClient, name: str, cursor: str | int | None = None, *,
                 heartbeats: bool = False, max_retries: int | None = None) -> None:
        self._client = client
        self._p = _Protocol(client.url, client.token, name, cursor, heartbeats, max_retries)
        self._ws: Any = None
        self._closed = False
        self._gen = self._run()

    @property
    def cursor(self) -> str | None:
        return None if self._p.cursor is None else str(self._p.cursor)

    @property
    def reconnects(self) -> int:
        return self._p.reconnects

    def __aiter__(self) -> AsyncSubscription:
        return self

    async def __anext__(self) -> Event:
        return await self._gen.__anext__()

    async def _run(self):  # noqa: ANN202
        from websockets.asyncio.client import connect  # noqa: PLC0415

        p = self._p
        while not self._closed:
            if p.resync_reason:
                try:
                    snap = await self._client.sparsifier(p.name)
                except ServiceUnavailable as exc:
                    p.failed(str(exc))
                    await asyncio.sleep(p.delay())
                    continue
                yield p.resynced(snap)
                continue
            await asyncio.sleep(p.delay())
            connecting = True
            try:
                async with connect(p.ws_url(), additional_headers=p.headers(), proxy=None, max_size=MAX_MESSAGE,
                                   open_timeout=self._client.timeout, close_timeout=2) as ws:
                    connecting = False
                    self._ws = ws
                    try:
                        while not self._closed:
                            event = p.on_message(await asyncio.wait_for(ws.recv(), p.idle_timeout))
                            if p.resync_reason:
                                break
                            if event is not None:
                                yield event
                    finally:
                        self._ws = None
            except ConnectionClosed as exc:
                if not self._closed:
                    p.on_closed(*_close_code(exc))
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if connecting:
                    p.on_connect_error(exc)
                else:
                    p.failed(f"no message or heartbeat in time ({type(exc).__name__})")

    def drop_connection(self) -> bool:
        """Abort the current connection; the iteration reconnects and resumes (see :class:`Subscription`)."""
        ws = self._ws
        if ws is None:
            return False
        ws.transport.abort()
        return True

    async def aclose(self) -> None:
        """End the iteration (a pending ``__anext__`` in another task returns ``StopAsyncIteration``)."""
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        with contextlib.suppress(RuntimeError):  # the generator is running in another task: it ends by itself
            await self._gen.aclose()


__all__ = ["AsyncSubscription", "ClientError", "DeltaEvent", "Event", "Heartbeat", "Resync", "Subscription"]
