"""Transport-free half of the SDK: typed errors, and every ``/v1`` call described once as a :class:`Call`
(method, path, params, body, expected model, post-processing, retry policy).

:mod:`sparsewire.clients.client` sends a :class:`Call` over a synchronous or an asynchronous httpx client;
nothing here does I/O, so the sync and async clients cannot drift apart.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from sparsewire.api.schemas import (
    EdgeSnapshot,
    GraphCreate,
    GraphInfo,
    GraphList,
    Operation,
    Params,
    Quality,
    UpdateBatch,
    UpdateReply,
)

DEFAULT_URL = "http://127.0.0.1:8000"
CHUNK = 256 * 1024

# ----------------------------------------------------------------------------------------------- errors


class ClientError(Exception):
    """Root of the SDK's errors.  ``status`` is the HTTP status (None for transport failures), ``code`` the
    service's machine-readable error code, ``details`` its structured details (e.g. per-operation errors)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class InvalidRequest(ClientError):
    """422/400: the request can never succeed as sent (bad parameters, malformed file, bad operation)."""


class Unauthorized(ClientError):
    """401: missing or unknown bearer token (websocket close 4401)."""


class Forbidden(Unauthorized):
    """403: the token's role is too weak for the route (read < write < admin)."""


class NotFound(ClientError):
    """404: no such graph (websocket close 4404)."""


class Conflict(ClientError):
    """409: e.g. a graph name that exists, or an import into a non-empty graph."""


class TooLarge(ClientError):
    """413: request body, batch or graph over a service limit."""


class ServiceUnavailable(ClientError):
    """503, or the service cannot be reached at all (see :class:`Unreachable`); retryable."""


class Unreachable(ServiceUnavailable):
    """The connection failed or dropped before a reply (``status`` is None)."""


class ServerError(ClientError):
    """Any other 5xx: a bug in the service."""


_BY_STATUS: dict[int, type[ClientError]] = {
    400: InvalidRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: TooLarge,
    422: InvalidRequest, 503: ServiceUnavailable,
}


def error_from_response(status: int, body: bytes) -> ClientError:
    """Map a non-2xx reply to a typed error.  The service's own errors carry
    ``{"error": {"code", "message", "details"}}``; auth failures and unknown routes carry FastAPI's
    ``{"detail": ...}``; a proxy may send anything."""
    code = message = details = None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        code, message, details = err.get("code"), err.get("message"), err.get("details")
    elif isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        message = detail if isinstance(detail, str) else None
        details = None if isinstance(detail, str) else detail
    if not message:
        text = body[:300].decode("utf-8", "replace").strip() if body else ""
        message = f"HTTP {status}" + (f": {text}" if text else "")
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ClientError)
    return cls(message, status=status, code=code, details=details)


# ------------------------------------------------------------------------------------------ call specs

Retry = Literal["never", "connect", "always"]


@dataclass
class Upload:
    """A request body to stream in chunks, with an optional ``progress(sent_bytes, total_bytes)`` callback."""

    source: str | os.PathLike | bytes
    progress: Callable[[int, int | None], None] | None = None

    @property
    def size(self) -> int | None:
        if isinstance(self.source, (bytes, bytearray, memoryview)):
            return len(self.source)
        return Path(self.source).stat().st_size

    def chunks(self) -> Iterable[bytes]:
        total, sent = self.size, 0
        if self.progress:
            self.progress(0, total)
        if isinstance(self.source, (bytes, bytearray, memoryview)):
            data = memoryview(self.source)
            pieces: Iterable[bytes] = (bytes(data[i:i + CHUNK]) for i in range(0, len(data), CHUNK))
        else:
            pieces = _file_chunks(Path(self.source))
        for piece in pieces:
            sent += len(piece)
            yield piece
            if self.progress:
                self.progress(sent, total)


def _file_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as fh:
        while piece := fh.read(CHUNK):
            yield piece


@dataclass
class Call:
    """One HTTP call, independent of the transport.  ``parse`` turns the decoded reply (JSON, text, or None
    for 204) into the return value; ``retry`` says when a failed attempt may be sent again:
    ``connect`` only when the request never reached the service, ``always`` also after a dropped
    connection or a 503 (reads, and updates carrying an Idempotency-Key)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    upload: Upload | None = None
    headers: dict[str, str] = field(default_factory=dict)
    parse: Callable[[Any], Any] = lambda body: body
    expect: Literal["json", "text", "none"] = "json"
    retry: Retry = "always"
    long: bool = False  # may legitimately take minutes on the server (import, kappa)


def _graph_path(name: str, suffix: str = "") -> str:
    return f"/v1/graphs/{quote(name, safe='')}{suffix}"


def _model(model: type[BaseModel]) -> Callable[[Any], Any]:
    def parse(body: Any) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise ClientError(f"unexpected {model.__name__} reply from the service: {exc}") from exc

    return parse


def create_graph(name: str, *, params: Params | Mapping[str, Any] | None = None, directed: bool = False,
                 signed: bool = False, node_ids: Literal["int", "str"] = "int", **param_kw: Any) -> Call:
    merged = params.model_dump() if isinstance(params, Params) else dict(params or {})
    merged.update(param_kw)
    try:
        body = GraphCreate(name=name, directed=directed, signed=signed, node_ids=node_ids,
                           params=Params.model_validate(merged))
    except ValidationError as exc:
        raise InvalidRequest(f"invalid graph: {exc}") from exc
    return Call("POST", "/v1/graphs", json=body.model_dump(mode="json"), parse=_model(GraphInfo), retry="connect")


def list_graphs() -> Call:
    return Call("GET", "/v1/graphs", parse=lambda body: _model(GraphList)(body).data)


def get_graph(name: str) -> Call:
    return Call("GET", _graph_path(name), parse=_model(GraphInfo))


def delete_graph(name: str) -> Call:
    return Call("DELETE", _graph_path(name), expect="none", retry="connect", parse=lambda _body: None)


def import_file(name: str, source: str | os.PathLike | bytes, *, format: str = "auto",  # noqa: A002
                progress: Callable[[int, int | None], None] | None = None) -> Call:
    upload = Upload(source, progress)
    headers = {"content-type": "application/octet-stream"}
    size = upload.size
    if size is not None:
        headers["content-length"] = str(size)  # lets the service refuse an oversized body (413) up front
    return Call("POST", _graph_path(name, "/import"), params={"format": format}, upload=upload, headers=headers,
                parse=_model(GraphInfo), retry="connect", long=True)


OpLike = Operation | Mapping[str, Any] | tuple


def _operation(op: OpLike) -> Operation:
    if isinstance(op, Operation):
        return op
    if isinstance(op, Mapping):
        return Operation.model_validate(op)
    kind, u, v, *rest = op
    return Operation(op=kind, u=u, v=v, w=rest[0] if rest else None)


def updates(name: str, ops: Iterable[OpLike], *, idempotency_key: str | None = "auto") -> Call:
    """``ops``: :class:`Operation` models, dicts ``{"op", "u", "v", "w"}`` or tuples ``("insert", u, v[, w])``.
    ``idempotency_key="auto"`` draws one uuid4 for this call; every retry of the call reuses it."""
    try:
        batch = UpdateBatch(ops=[_operation(o) for o in ops])
    except (ValidationError, ValueError, TypeError) as exc:
        raise InvalidRequest(f"invalid operations: {exc}") from exc
    headers = {}
    if idempotency_key == "auto":
        idempotency_key = str(uuid.uuid4())
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    return Call("POST", _graph_path(name, "/updates"), json=batch.model_dump(mode="json", exclude_none=True),
                headers=headers, parse=_model(UpdateReply), retry="always" if idempotency_key else "connect")


As = Literal["edges", "scipy", "networkx"]


def snapshot(name: str, which: Literal["sparsifier", "edges"], as_: As = "edges", *,
             base: int | None = None) -> Call:
    if as_ not in ("edges", "scipy", "networkx"):
        raise ValueError(f"as_ must be 'edges', 'scipy' or 'networkx', not {as_!r}")

    def parse(body: Any) -> Any:
        snap = _model(EdgeSnapshot)(body)
        if as_ == "scipy":
            return to_scipy(snap, base=base)
        if as_ == "networkx":
            return to_networkx(snap, base=base)
        return snap

    return Call("GET", _graph_path(name, f"/{which}"), params={"format": "json"}, parse=parse)


def export(name: str, which: Literal["sparsifier", "edges"], format: Literal["mtx", "csv", "json"]) -> Call:  # noqa: A002
    if format == "json":
        return Call("GET", _graph_path(name, f"/{which}"), params={"format": "json"},
                    parse=lambda body: json.dumps(body) + "\n")
    return Call("GET", _graph_path(name, f"/{which}"), params={"format": format}, expect="text")


def quality(name: str, *, kappa: bool = True) -> Call:
    return Call("GET", _graph_path(name, "/quality"), params={"kappa": str(kappa).lower()}, parse=_model(Quality),
                long=kappa)


def ready() -> Call:
    return Call("GET", "/readyz")


ANALYSES = ("balance", "consensus", "observability", "perturbation", "chordal", "verify-peo",
            "chordal-completion", "cliques")
STORED_ANALYSES = ("balance", "chordal", "chordal-completion", "cliques", "consensus", "observability",
                   "perturbation", "verify-peo")
#: Stored checks that also take their options as a JSON body (``POST``); verify-peo only so (its ordering).
STORED_BODY_ANALYSES = ("consensus", "perturbation", "verify-peo")


def analyze(check: str, edges: Iterable[Any], *, nodes: Iterable[Any] | None = None, directed: bool = True,
            options: dict[str, Any] | None = None) -> Call:
    """Stateless agreement / chordality check on a graph given in the call.  ``edges``: dicts
    ``{"source", "target", "weight" | "log_odds"}`` or tuples ``(source, target[, weight])``."""
    if check not in ANALYSES:
        raise ValueError(f"unknown analysis {check!r}; expected one of {', '.join(ANALYSES)}")
    body: dict[str, Any] = {"edges": [_edge(e) for e in edges], "directed": directed, "options": options or {}}
    if nodes is not None:
        body["nodes"] = list(nodes)
    return Call("POST", f"/v1/analysis/{check}", json=body, retry="always")


def graph_analysis(name: str, check: str, *, target: Literal["graph", "sparsifier"] = "graph",
                   options: dict[str, Any] | None = None, **params: Any) -> Call:
    """The same checks on a stored graph or its sparsifier (cached by the service per sequence number).

    Keyword ``params`` go into the query string (``GET``).  ``options`` (a dict: the stateless check's options
    without the graph options) is sent as a JSON body (``POST``) instead, for ``consensus`` and ``perturbation``;
    that is how ``initial_state`` and ``allowed_pairs`` travel.  ``verify-peo`` always posts: pass
    ``ordering=[...]`` as a keyword or in ``options``."""
    if check not in STORED_ANALYSES:
        raise ValueError(f"unknown stored-graph analysis {check!r}; expected one of {', '.join(STORED_ANALYSES)}")
    path = _graph_path(name, f"/analysis/{check}")
    if check == "verify-peo" and options is None:
        options, params = dict(params), {}
    if options is None:
        return Call("GET", path, params={"target": target, **params}, long=True)
    if check not in STORED_BODY_ANALYSES:
        raise ValueError(f"stored-graph {check!r} takes query options only; JSON options: "
                         f"{', '.join(STORED_BODY_ANALYSES)}")
    if params:
        raise ValueError(f"give options= or query keywords ({', '.join(params)}), not both")
    return Call("POST", path, params={"target": target}, json=options, long=True)


def _edge(e: Any) -> dict[str, Any]:
    if isinstance(e, dict):
        return e
    source, target, *rest = e
    return {"source": source, "target": target, "weight": rest[0] if rest else 1.0}


# ------------------------------------------------------------------------------------------ conversions


def infer_base(snap: EdgeSnapshot) -> int:
    """Offset between integer node ids and matrix rows: 1 when an id equals ``nodes`` (a 1-based Matrix Market
    import), else 0.  The service does not report the base (an isolated last vertex makes a 1-based graph
    look 0-based; rows are then indexed by id, which still fits)."""
    top = max((max(e[0], e[1]) for e in snap.edges), default=-1)
    return 1 if top >= snap.nodes else 0


def to_scipy(snap: EdgeSnapshot, *, base: int | None = None) -> Any:
    """Symmetric weighted adjacency matrix (``scipy.sparse.csr_array``, ``nodes × nodes``) of an integer-id
    snapshot; row ``i`` is node id ``i + base``."""
    import numpy as np  # noqa: PLC0415
    import scipy.sparse as sp  # noqa: PLC0415

    if snap.edges and not isinstance(snap.edges[0][0], int):
        raise TypeError("scipy matrices need integer node ids; this graph has string ids (use as_='networkx')")
    b = infer_base(snap) if base is None else base
    arr = np.asarray(snap.edges, dtype=np.float64).reshape(-1, 3)
    u = arr[:, 0].astype(np.int64) - b
    v = arr[:, 1].astype(np.int64) - b
    n = max(snap.nodes, int(max(u.max(initial=-1), v.max(initial=-1))) + 1)
    rows, cols = np.concatenate([u, v]), np.concatenate([v, u])
    return sp.csr_array((np.concatenate([arr[:, 2], arr[:, 2]]), (rows, cols)), shape=(n, n))


def to_networkx(snap: EdgeSnapshot, *, base: int | None = None) -> Any:
    """``networkx.Graph`` keyed by the service's node ids, edge attribute ``weight``; ``graph.graph["cursor"]``
    is the snapshot's cursor.  Integer-id graphs get all ``nodes`` vertices (isolated ones included)."""
    import networkx as nx  # noqa: PLC0415

    g = nx.Graph(cursor=snap.cursor, seq=snap.seq)
    if not snap.edges or isinstance(snap.edges[0][0], int):
        b = infer_base(snap) if base is None else base
        g.add_nodes_from(range(b, b + snap.nodes))
    g.add_weighted_edges_from((u, v, w) for u, v, w in snap.edges)
    return g


# ------------------------------------------------------------------------------------------ environment


def resolve(url: str | None, token: str | None) -> tuple[str, str | None]:
    url = (url or os.environ.get("SPARSEWIRE_URL") or DEFAULT_URL).rstrip("/")
    token = token if token is not None else (os.environ.get("SPARSEWIRE_TOKEN") or None)
    return url, token


def backoff(attempt: int, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Full-jitter exponential backoff: a random delay in ``[0, min(cap, base·2^attempt)]`` (at least 10 ms)."""
    return max(0.01, random.uniform(0, min(cap, base * 2 ** attempt)))
