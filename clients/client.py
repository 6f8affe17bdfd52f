"""``Client`` and ``AsyncClient``: the same methods, defined once in :class:`_Api`, over two transports.

Each method builds a :class:`~sparsewire.clients._requests.Call` and hands it to ``self._send``; the sync
client returns the result, the async client returns an awaitable of it (the redis-py pattern).  Retries,
backoff and error mapping live in :class:`_Transport`, shared by both.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx

from sparsewire.api.schemas import Params
from sparsewire.clients import _requests as rq
from sparsewire.clients._requests import ClientError, Unreachable, error_from_response

if TYPE_CHECKING:
    from sparsewire.clients.mirror import Mirror
    from sparsewire.clients.subscribe import AsyncSubscription, Subscription


class _Transport:
    """What both clients share: base URL, token, timeouts, retry policy, reply decoding."""

    def __init__(self, url: str | None, token: str | None, timeout: float, retries: int,
                 long_timeout: float) -> None:
        self.url, self.token = rq.resolve(url, token)
        self.timeout = timeout
        self.long_timeout = long_timeout
        self.retries = retries

    def _headers(self) -> dict[str, str]:
        headers = {"user-agent": "sparsewire-python"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    def _timeout(self, call: rq.Call) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, read=self.long_timeout if call.long else self.timeout)

    def _retry_delay(self, call: rq.Call, attempt: int, exc: Exception | None, status: int | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when the failure is final."""
        if attempt >= self.retries or call.retry == "never":
            return None
        if exc is not None:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            if never_sent or call.retry == "always":
                return rq.backoff(attempt)
            return None
        if status == 503 and call.retry == "always":
            return rq.backoff(attempt)
        return None

    def _unreachable(self, call: rq.Call, exc: Exception) -> Unreachable:
        return Unreachable(f"{call.method} {self.url}{call.path}: {type(exc).__name__}: {exc}")

    @staticmethod
    def _finish(call: rq.Call, status: int, content: bytes) -> Any:
        if status >= 400:
            raise error_from_response(status, content)
        if call.expect == "none":
            return call.parse(None)
        if call.expect == "text":
            return call.parse(content.decode("utf-8"))
        try:
            body = json.loads(content) if content else None
        except ValueError as exc:
            raise ClientError(f"{call.method} {call.path}: reply is not JSON ({exc})", status=status) from exc
        return call.parse(body)


class _Api:
    """Every ``/v1`` call of the service.  ``self._send(call)`` is the result (sync) or an awaitable of it."""

    _send: Callable[[rq.Call], Any]

    def create_graph(self, name: str, *, params: Params | Mapping[str, Any] | None = None, directed: bool = False,
                     signed: bool = False, node_ids: Literal["int", "str"] = "int", **param_kw: Any) -> Any:
        """Create an empty graph; dyGRASS parameters as ``params=Params(...)``/a dict or keywords (``K=33``).
        Returns :class:`GraphInfo`.  Raises :class:`Conflict` when the name exists."""
        return self._send(rq.create_graph(name, params=params, directed=directed, signed=signed,
                                          node_ids=node_ids, **param_kw))

    def list_graphs(self) -> Any:
        """All graphs, as a list of :class:`GraphInfo`."""
        return self._send(rq.list_graphs())

    def get_graph(self, name: str) -> Any:
        """:class:`GraphInfo` of one graph (sizes, parameters, last ``seq``/``cursor``)."""
        return self._send(rq.get_graph(name))

    def delete_graph(self, name: str) -> Any:
        """Delete a graph and its history (needs the ``admin`` role)."""
        return self._send(rq.delete_graph(name))

    def import_file(self, name: str, path_or_bytes: str | os.PathLike | bytes, *, format: str = "auto",  # noqa: A002
                    progress: Callable[[int, int | None], None] | None = None) -> Any:
        """Stream a Matrix Market (``.mtx``/``.mtx.gz``) or edge-list CSV file into an empty graph and build its
        initial sparsifier.  ``progress(sent_bytes, total_bytes)`` is called as chunks go out.  Returns
        :class:`GraphInfo`."""
        return self._send(rq.import_file(name, path_or_bytes, format=format, progress=progress))

    def updates(self, name: str, ops: Iterable[rq.OpLike], *, idempotency_key: str | None = "auto") -> Any:
        """Apply one atomic, durable batch.  ``ops``: :class:`Operation`, dicts or tuples
        ``("insert", u, v, w)`` / ``("delete", u, v)``.  With ``idempotency_key="auto"`` (a uuid4 per call)
        or your own key, dropped connections and 503s are retried with backoff — the service applies a keyed
        batch at most once.  ``None`` disables the key (then only never-sent requests are retried).
        Returns :class:`UpdateReply`."""
        return self._send(rq.updates(name, ops, idempotency_key=idempotency_key))

    def sparsifier(self, name: str, as_: rq.As = "edges", *, base: int | None = None) -> Any:
        """The sparsifier H: an :class:`EdgeSnapshot` (``as_="edges"``: ``cursor``, ``nodes``,
        ``edges=[[u, v, w], ...]``), a symmetric ``scipy.sparse.csr_array`` (``"scipy"``; row = node id −
        ``base``, inferred when None) or a ``networkx.Graph`` (``"networkx"``)."""
        return self._send(rq.snapshot(name, "sparsifier", as_, base=base))

    def edges(self, name: str, as_: rq.As = "edges", *, base: int | None = None) -> Any:
        """The whole graph G, in the same shapes as :meth:`sparsifier`."""
        return self._send(rq.snapshot(name, "edges", as_, base=base))

    def export(self, name: str, format: Literal["mtx", "csv", "json"] = "mtx", *,  # noqa: A002
               sparsifier: bool = False) -> Any:
        """G (or H with ``sparsifier=True``) as the text of a Matrix Market, CSV or JSON file."""
        return self._send(rq.export(name, "sparsifier" if sparsifier else "edges", format))

    def quality(self, name: str, *, kappa: bool = True) -> Any:
        """:class:`Quality`: κ(L_G, L_H) (None with ``kappa=False``; can take minutes on big graphs), density
        and component counts."""
        return self._send(rq.quality(name, kappa=kappa))

    def ready(self) -> Any:
        """The service's ``/readyz`` report (raises :class:`ServiceUnavailable` when it is not ready)."""
        return self._send(rq.ready())

    def analyze(self, check: str, edges: Any, *, nodes: Any = None, directed: bool = True,
                options: dict[str, Any] | None = None) -> Any:
        """Stateless check (``balance``, ``consensus``, ``observability``, ``perturbation``, ``chordal``,
        ``verify-peo``, ``chordal-completion``, ``cliques``) with its certificate, as a dict (docs/analysis.md)."""
        return self._send(rq.analyze(check, edges, nodes=nodes, directed=directed, options=options))

    def graph_analysis(self, name: str, check: str, *, target: str = "graph", options: dict[str, Any] | None = None,
                       **params: Any) -> Any:
        """A check on stored graph ``name`` (``target="graph"`` or ``"sparsifier"``), as a dict: ``balance``,
        ``chordal``, ``chordal-completion``, ``cliques``, ``consensus``, ``observability``, ``perturbation``,
        ``verify-peo``.  Keywords are query options; ``options={...}`` posts them as JSON instead (``consensus``
        with ``initial_state``, ``perturbation`` with ``allowed_pairs``); ``verify-peo`` takes ``ordering=[...]``."""
        return self._send(rq.graph_analysis(name, check, target=target,  # type: ignore[arg-type]
                                            options=options, **params))


class Client(_Transport, _Api):
    """Synchronous client.  ``url`` defaults to ``$SPARSEWIRE_URL`` (else http://127.0.0.1:8000), ``token`` to
    ``$SPARSEWIRE_TOKEN``.  ``timeout`` bounds each request (``long_timeout`` the read of imports and κ);
    ``retries`` bounds retried attempts.  Use as a context manager or call :meth:`close`."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 retries: int = 5, long_timeout: float = 900.0) -> None:
        super().__init__(url, token, timeout, retries, long_timeout)
        self._http = httpx.Client(base_url=self.url, headers=self._headers(), timeout=timeout)

    def _send(self, call: rq.Call) -> Any:
        attempt = 0
        while True:
            try:
                resp = self._http.request(call.method, call.path, params=call.params, json=call.json,
                                          content=call.upload.chunks() if call.upload else None,
                                          headers=call.headers, timeout=self._timeout(call))
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, exc, None)
                if delay is None:
                    raise self._unreachable(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, None, resp.status_code)
                if delay is None:
                    return self._finish(call, resp.status_code, resp.content)
            time.sleep(delay)
            attempt += 1

    def subscribe(self, name: str, cursor: str | int | None = None, *, heartbeats: bool = False,
                  max_retries: int | None = None) -> Subscription:
        """Iterator of :class:`DeltaEvent` / :class:`Resync` (/ :class:`Heartbeat`) from ``cursor`` (None: from
        now) that reconnects and resumes by itself; see :class:`~sparsewire.clients.subscribe.Subscription`."""
        from sparsewire.clients.subscribe import Subscription  # noqa: PLC0415

        return Subscription(self, name, cursor, heartbeats=heartbeats, max_retries=max_retries)

    def ingest(self, name: str, batches: Any, *, window: int | None = None) -> Any:
        """Stream ``batches`` (lists of ops) over the ingest websocket; an iterator of acknowledgements in order
        (``{"id", "seq", "cursor", "results", "delta", "stats"}`` or ``{"id", "error"}``).  Resends after a
        dropped connection are applied once; see :mod:`sparsewire.clients.ingest`."""
        from sparsewire.clients.ingest import ingest  # noqa: PLC0415

        return ingest(self, name, batches, window=window)

    def mirror(self, name: str) -> Mirror:
        """A :class:`~sparsewire.clients.mirror.Mirror` of ``name``'s sparsifier."""
        from sparsewire.clients.mirror import Mirror  # noqa: PLC0415

        return Mirror(self, name)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Transport, _Api):
    """Asynchronous client: the methods of :class:`Client`, awaited (``await client.get_graph("g")``)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 retries: int = 5, long_timeout: float = 900.0) -> None:
        super().__init__(url, token, timeout, retries, long_timeout)
        self._http = httpx.AsyncClient(base_url=self.url, headers=self._headers(), timeout=timeout)

    async def _send(self, call: rq.Call) -> Any:  # type: ignore[override]
        attempt = 0
        while True:
            try:
                resp = await self._http.request(call.method, call.path, params=call.params, json=call.json,
                                                content=_aiter(call.upload.chunks()) if call.upload else None,
                                                headers=call.headers, timeout=self._timeout(call))
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, exc, None)
                if delay is None:
                    raise self._unreachable(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, None, resp.status_code)
                if delay is None:
                    return self._finish(call, resp.status_code, resp.content)
            await asyncio.sleep(delay)
            attempt += 1

    def subscribe(self, name: str, cursor: str | int | None = None, *, heartbeats: bool = False,
                  max_retries: int | None = None) -> AsyncSubscription:
        """Async iterator twin of :meth:`Client.subscribe` (``async for event in client.subscribe(...)``)."""
        from sparsewire.clients.subscribe import AsyncSubscription  # noqa: PLC0415

        return AsyncSubscription(self, name, cursor, heartbeats=heartbeats, max_retries=max_retries)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _aiter(chunks: Iterable[bytes]):  # noqa: ANN202
    for piece in chunks:
        yield piece
