"""Agreement checks over HTTP (spec ``agreement.md`` §2).

* Stateless: ``POST /v1/analysis/{balance,consensus,observability,perturbation,chordal,verify-peo,
  chordal-completion,cliques}`` with the graph in the body.
* Stored graphs: ``GET /v1/graphs/{name}/analysis/{balance,chordal,chordal-completion,cliques,consensus,
  observability,perturbation}`` with ``?target=graph|sparsifier`` and the options as query parameters;
  ``POST`` to ``.../analysis/{consensus,perturbation,verify-peo}`` (``target`` still in the query) takes the
  options as a JSON object instead, for the list-valued ones a URL cannot carry: ``initial_state``,
  ``allowed_pairs`` and the ``ordering`` that verify-peo needs (so verify-peo is ``POST`` only).

The event loop never does the work: the JSON body is parsed and validated, the graph is built, the analysis runs
and the reply is serialised in a worker thread (a 10^6-edge body takes about a second to validate).  The stored-
graph routes hold the graph's writer lock only while they copy the edge arrays (``GraphRuntime.read``), compute
outside it, and cache the serialised reply per ``(target, check, options)`` at the graph's sequence number, so a
repeated call at the same sequence number is a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, Literal, Required

import numpy as np
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions.TypedDict before 3.12

from sparsewire.analysis.balance import structural_balance
from sparsewire.analysis.chordal import chordal_check, chordal_completion, maximal_cliques, verify_peo
from sparsewire.analysis.consensus import consensus
from sparsewire.analysis.graph import DEFAULT_MAX_DENSE_NODES, SignedGraph
from sparsewire.analysis.observability import observability
from sparsewire.analysis.perturbation import MAX_NODES as PERTURBATION_MAX_NODES
from sparsewire.analysis.perturbation import suggest_perturbations
from sparsewire.api.deps import GraphDep, require
from sparsewire.api.schemas import ErrorBody
from sparsewire.errors import InvalidInputError, TooLargeError
from sparsewire.runtime import GraphRuntime

router = APIRouter(tags=["analysis"])

# ---------------------------------------------------------------------------------------------------- models
NodeId = StrictInt | Annotated[StrictStr, Field(min_length=1, max_length=256)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Variant = Literal["opposing", "repelling", "unsigned"]
GRAPH_OPTION_KEYS = ("w_max", "tau", "scale", "row_normalize")


@with_config(ConfigDict(extra="forbid"))
class Edge(TypedDict, total=False):
    """``source -> target``: target listens to source; exactly one of ``weight`` (nonzero) and ``log_odds``."""

    source: Required[NodeId]
    target: Required[NodeId]
    weight: Finite
    log_odds: Finite


class GraphOptions(BaseModel):
    """How edge values become weights (spec §1.1); shared by every endpoint."""

    model_config = ConfigDict(extra="forbid")
    w_max: float | None = Field(None, gt=0, allow_inf_nan=False,
                                description="cap on |a| for log-odds edges (default: no cap)")
    tau: float = Field(0.0, ge=0, allow_inf_nan=False, description="dead band: |log_odds| < tau gives no edge")
    scale: float = Field(1.0, gt=0, allow_inf_nan=False, description="every |a| is divided by scale")
    row_normalize: bool = Field(False, description="divide row i by sum_j |a_ij| (directed graphs only)")

    def graph_options(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in GRAPH_OPTION_KEYS}
        out["w_max"] = math.inf if self.w_max is None else self.w_max
        return out


class BalanceOptions(GraphOptions):
    frustration: Literal["auto", "exact", "heuristic", "none"] = Field(
        "auto", description="frustration index: exact up to 20 nodes per unbalanced component (auto), bound above")


class ConsensusSettings(BaseModel):
    """Consensus options without the edge-value options (the body of ``POST /v1/graphs/{name}/analysis/...``)."""

    model_config = ConfigDict(extra="forbid")
    variant: Variant = "opposing"
    time: Literal["continuous", "discrete"] = "continuous"
    step: float | None = Field(None, gt=0, allow_inf_nan=False,
                               description="discrete step (default 1 / (1 + max_i d_i))")
    initial_state: list[Finite] | dict[str, Finite] | None = Field(
        None, description="x(0) in node order, or {node id: value} (missing nodes start at 0)")
    hidden: list[NodeId] | None = Field(None, description="hidden agents: gives influence_share")


class ConsensusOptions(GraphOptions, ConsensusSettings):
    pass


class ObservabilityOptions(GraphOptions):
    hidden: list[NodeId] | None = Field(None, description="hidden agents (the others are visible)")
    visible: list[NodeId] | None = Field(None, description="visible agents (instead of hidden)")
    variant: Variant = "opposing"


class PerturbationSettings(BaseModel):
    """Perturbation options without the edge-value options."""

    model_config = ConfigDict(extra="forbid")
    goal: Literal["stabilize", "observe", "break_symmetry"] = "stabilize"
    hidden: list[NodeId] | None = None
    allowed_pairs: list[tuple[NodeId, NodeId]] | None = Field(
        None, max_length=10_000, description="[source, target] pairs to try (default: pairs touching hidden agents "
                                             "or an unobservable mode)")
    weight_grid: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        [0.1, 0.5, 1.0], min_length=1, max_length=50, description="magnitudes tried (also grounding strengths)")
    sign: Literal[1, -1] | None = Field(None, description="sign of added edges (default: chosen per goal)")
    top_k: int = Field(5, ge=1, le=100)
    ground: bool = Field(False, description="also try groundings kappa e_r e_r'")
    variant: Variant = "opposing"


class PerturbationOptions(GraphOptions, PerturbationSettings):
    pass


class ChordalOptions(GraphOptions):
    ordering: Literal["lexbfs", "mcs"] = Field(
        "lexbfs", description="Lex-BFS (partition refinement) or maximum cardinality search; both O(n + m)")
    certificate: bool = Field(True, description="find a verified hole when not chordal")
    cliques: bool = Field(True, description="maximal cliques when chordal")
    upper_bound: bool = Field(True, description="treewidth upper bound from a minimal completion when not chordal")


class VerifyPeoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ordering: list[NodeId] = Field(..., description="the order to check, first eliminated first")


class VerifyPeoOptions(GraphOptions, VerifyPeoSettings):
    pass


class CompletionOptions(GraphOptions):
    method: Literal["mcs_m"] = Field("mcs_m", description="MCS-M (inclusion-minimal); lex_m, min_fill and "
                                                          "min_degree are not implemented")


class CliquesOptions(GraphOptions):
    require_chordal: Literal[True] = Field(True, description="always true: non-chordal graphs get 409 + hole")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nodes: list[NodeId] | None = Field(None, description="node ids (ints or strings) in output order; default: "
                                                         "order of first appearance in edges")
    edges: list[Edge]
    directed: bool = Field(True, description="edges are source -> target (target listens to source)")


class BalanceRequest(_Body):
    options: BalanceOptions = Field(default_factory=BalanceOptions)


class ConsensusRequest(_Body):
    options: ConsensusOptions = Field(default_factory=ConsensusOptions)


class ObservabilityRequest(_Body):
    options: ObservabilityOptions = Field(default_factory=ObservabilityOptions)


class PerturbationRequest(_Body):
    options: PerturbationOptions = Field(default_factory=PerturbationOptions)


class ChordalRequest(_Body):
    options: ChordalOptions = Field(default_factory=ChordalOptions)


class VerifyPeoRequest(_Body):
    options: VerifyPeoOptions


class CompletionRequest(_Body):
    options: CompletionOptions = Field(default_factory=CompletionOptions)


class CliquesRequest(_Body):
    options: CliquesOptions = Field(default_factory=CliquesOptions)


# ---------------------------------------------------------------------------------------------------- helpers
def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with ``$defs`` inlined (for ``openapi_extra``; the models are not recursive)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": _inline_schema(model)}}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "invalid request or graph (the message names the field or edge)"},
    413: {"model": ErrorBody, "description": "graph too large for a dense spectral check, or body too large"},
}
_OK = {200: {"description": "the result, with `warnings` and `conventions`",
             "content": {"application/json": {"schema": {"type": "object"}}}}}


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _np_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    """Compact JSON; numpy scalars become Python numbers and non-finite floats ``null`` (never bare NaN)."""
    try:
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_np_default)
    except ValueError:
        text = json.dumps(_finite(json.loads(json.dumps(obj, default=_np_default))), separators=(",", ":"),
                          allow_nan=False)
    return text.encode()


def _slots(request: Request) -> asyncio.Semaphore:
    """At most one analysis per core at a time (the rest wait), leaving the default executor room."""
    sem = getattr(request.app.state, "analysis_slots", None)
    if sem is None:
        sem = asyncio.Semaphore(max(1, os.cpu_count() or 1))
        request.app.state.analysis_slots = sem
    return sem


def _validate(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def _node_key(known: set, key: str) -> Any:
    """A JSON object key as a node id: ``"3"`` means node ``3`` when the graph has no string id ``"3"``."""
    if key in known:
        return key
    try:
        as_int = int(key)
    except ValueError:
        return key
    return as_int if as_int in known else key


Run = Callable[[SignedGraph, Any], Any]


def _stateless_job(model: type[_Body], raw: bytes, run: Run) -> bytes:
    body = _validate(model, raw)
    opts = body.options
    graph = SignedGraph.from_request(body.nodes, body.edges, directed=body.directed, options=opts.graph_options())
    return dumps(run(graph, opts).to_dict())


async def _read_body(request: Request) -> bytes:
    """The body, with the size limit enforced also for chunked requests (the middleware sees Content-Length)."""
    limit = request.app.state.settings.max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _stateless(request: Request, model: type[_Body], run: Run) -> Response:
    raw = await _read_body(request)
    async with _slots(request):
        payload = await asyncio.to_thread(_stateless_job, model, raw, run)
    return Response(payload, media_type="application/json")


def _run_balance(g: SignedGraph, o: BalanceOptions) -> Any:
    return structural_balance(g, frustration=o.frustration)


def _run_consensus(g: SignedGraph, o: ConsensusOptions) -> Any:
    state = o.initial_state
    if isinstance(state, dict):
        known = set(g.ids)
        state = {_node_key(known, k): v for k, v in state.items()}
    return consensus(g, variant=o.variant, time=o.time, step=o.step, initial_state=state, hidden=o.hidden)


def _run_observability(g: SignedGraph, o: ObservabilityOptions) -> Any:
    return observability(g, hidden=o.hidden, visible=o.visible, variant=o.variant)


def _run_perturbation(g: SignedGraph, o: PerturbationOptions) -> Any:
    if g.n == 0:  # the engine's cluster search indexes the first eigenvalue: an empty graph has none
        raise InvalidInputError("perturbation needs a graph with at least one vertex")
    pairs = None if o.allowed_pairs is None else [list(p) for p in o.allowed_pairs]
    return suggest_perturbations(g, goal=o.goal, hidden=o.hidden, allowed_pairs=pairs, weight_grid=o.weight_grid,
                                 sign=o.sign, top_k=o.top_k, ground=o.ground, variant=o.variant)


def _run_chordal(g: SignedGraph, o: ChordalOptions) -> Any:
    return chordal_check(g, ordering=o.ordering, certificate=o.certificate, cliques=o.cliques,
                         upper_bound=o.upper_bound)


def _run_verify_peo(g: SignedGraph, o: VerifyPeoOptions) -> Any:
    return verify_peo(g, o.ordering)


def _run_completion(g: SignedGraph, o: CompletionOptions) -> Any:
    return chordal_completion(g, method=o.method)


def _run_cliques(g: SignedGraph, o: CliquesOptions) -> Any:
    return maximal_cliques(g, require_chordal=o.require_chordal)


# ---------------------------------------------------------------------------------------------------- stateless
_CONFLICT = {409: {"model": ErrorBody, "description": "not chordal: `error.details` = {hole, violation}"}}


@router.post("/v1/analysis/balance", dependencies=[require("read")], openapi_extra=_body_doc(BalanceRequest),
             responses={**_OK, **_ERRORS})
async def balance(request: Request) -> Response:
    """Structural balance: the two camps, or a negative cycle as witness, and the frustration index."""
    return await _stateless(request, BalanceRequest, _run_balance)


@router.post("/v1/analysis/consensus", dependencies=[require("read")], openapi_extra=_body_doc(ConsensusRequest),
             responses={**_OK, **_ERRORS})
async def consensus_regime(request: Request) -> Response:
    """Consensus regime of x' = -L x (or discrete rounds): spectrum, rate, limit, influence of hidden agents."""
    return await _stateless(request, ConsensusRequest, _run_consensus)


@router.post("/v1/analysis/observability", dependencies=[require("read")],
             openapi_extra=_body_doc(ObservabilityRequest), responses={**_OK, **_ERRORS})
async def observability_check(request: Request) -> Response:
    """Can the visible agents observe the hidden ones: unobservable modes with bases and twin explanations."""
    return await _stateless(request, ObservabilityRequest, _run_observability)


@router.post("/v1/analysis/perturbation", dependencies=[require("read")],
             openapi_extra=_body_doc(PerturbationRequest), responses={**_OK, **_ERRORS})
async def perturbation(request: Request) -> Response:
    """Rank-one edge (or grounding) suggestions with predicted and exact eigenvalue shifts (up to 500 nodes)."""
    return await _stateless(request, PerturbationRequest, _run_perturbation)


@router.post("/v1/analysis/chordal", dependencies=[require("read")], openapi_extra=_body_doc(ChordalRequest),
             responses={**_OK, **_ERRORS})
async def chordal(request: Request) -> Response:
    """Chordality with a PEO (chordal) or a verified chordless cycle and violation triple (not chordal)."""
    return await _stateless(request, ChordalRequest, _run_chordal)


@router.post("/v1/analysis/verify-peo", dependencies=[require("read")], openapi_extra=_body_doc(VerifyPeoRequest),
             responses={**_OK, **_ERRORS})
async def verify_peo_order(request: Request) -> Response:
    """Is options.ordering a perfect elimination ordering; the violating vertex if not."""
    return await _stateless(request, VerifyPeoRequest, _run_verify_peo)


@router.post("/v1/analysis/chordal-completion", dependencies=[require("read")],
             openapi_extra=_body_doc(CompletionRequest), responses={**_OK, **_ERRORS})
async def chordal_completion_fill(request: Request) -> Response:
    """Inclusion-minimal chordal completion: fill edges and a PEO of the completed graph."""
    return await _stateless(request, CompletionRequest, _run_completion)


@router.post("/v1/analysis/cliques", dependencies=[require("read")], openapi_extra=_body_doc(CliquesRequest),
             responses={**_OK, **_ERRORS, **_CONFLICT})
async def cliques(request: Request) -> Response:
    """Maximal cliques of a chordal graph; 409 not_chordal with the hole otherwise."""
    return await _stateless(request, CliquesRequest, _run_cliques)


# ---------------------------------------------------------------------------------------------------- stored graphs
Target = Literal["graph", "sparsifier"]
TargetQuery = Annotated[Target, Query(description="analyse the stored graph G or its sparsifier H")]
NodesQuery = Annotated[list[str] | None, Query(description="node id; repeat the parameter for several")]
#: Dense checks and their node caps: a larger stored graph gets 413 before its edges are copied.
SPECTRAL = {"consensus": DEFAULT_MAX_DENSE_NODES, "observability": DEFAULT_MAX_DENSE_NODES,
            "perturbation": PERTURBATION_MAX_NODES}
CACHE_ENTRIES = 32
CACHE_BYTES = 64 * 2**20


class _Cache:
    """Serialised replies of one graph at one sequence number, LRU-bounded; plus in-flight computations."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.entries: OrderedDict[tuple, bytes] = OrderedDict()
        self.size = 0
        self.inflight: dict[tuple, asyncio.Future] = {}

    def get(self, seq: int, key: tuple) -> bytes | None:
        if seq != self.seq:
            return None
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, seq: int, key: tuple, payload: bytes) -> None:
        if self.seq is not None and seq < self.seq:
            return  # computed on an older state than what is cached now
        if seq != self.seq:
            self.seq, self.size = seq, 0
            self.entries.clear()
        if len(payload) > CACHE_BYTES or key in self.entries:
            return
        self.entries[key] = payload
        self.size += len(payload)
        while len(self.entries) > CACHE_ENTRIES or self.size > CACHE_BYTES:
            _, old = self.entries.popitem(last=False)
            self.size -= len(old)


#: One cache per runtime object: a deleted and re-created graph gets a new runtime and so a fresh cache.
_CACHES: weakref.WeakKeyDictionary[GraphRuntime, _Cache] = weakref.WeakKeyDictionary()


def _cache_of(rt: GraphRuntime) -> _Cache:
    cache = _CACHES.get(rt)
    if cache is None:
        cache = _CACHES[rt] = _Cache()
    return cache


def _stored_ids(rt: GraphRuntime, nodes: list[str] | None, where: str) -> list[Any] | None:
    """Query-string node ids as the graph's ids (ints for int graphs)."""
    if nodes is None or rt.ids.kind == "str":
        return nodes
    out = []
    for k, x in enumerate(nodes):
        try:
            out.append(int(x))
        except ValueError:
            raise InvalidInputError(f"{where}[{k}]: {x!r} is not an integer node id of this graph") from None
    return out


def _coerce_id(kind: str, x: Any) -> Any:
    """A JSON node id as the stored graph's id: ``"7"`` is node 7 of an integer graph, ``7`` is ``"7"`` of a
    string graph; anything else stays as given (and is reported as unknown by the check)."""
    if kind == "int" and isinstance(x, str):
        try:
            return int(x)
        except ValueError:
            return x
    if kind == "str" and isinstance(x, int):
        return str(x)
    return x


def _coerce_ids(kind: str, xs: list | None) -> list | None:
    return None if xs is None else [_coerce_id(kind, x) for x in xs]


def _body_key(body: BaseModel) -> tuple:
    """Cache-key part for a JSON options body: a digest of its canonical form (an ordering can be 10^6 ids)."""
    return ("body", hashlib.sha256(body.model_dump_json().encode()).hexdigest())


async def _stored_body(request: Request, model: type[BaseModel]) -> Any:
    """The validated options body of a stored-graph ``POST`` (size-limited; validated in a worker thread)."""
    raw = await _read_body(request)
    return await asyncio.to_thread(_validate, model, raw or b"{}")


def _snapshot(rt: GraphRuntime, target: Target, check: str) -> tuple:
    """Under the graph lock: the edge arrays, external ids and sequence number (no analysis here)."""
    g_full = rt.sparsifier.graph
    n = g_full.n
    cap = SPECTRAL.get(check)
    if cap is not None and n > cap:
        raise TooLargeError(f"{check} uses dense eigen-decomposition and accepts at most {cap} nodes "
                            f"(graph {rt.name!r} has {n})", details={"n": n, "max_nodes": cap})
    g = rt.sparsifier.sparsifier if target == "sparsifier" else g_full
    u, v, w = g.edges()
    w = rt.signed_weights(u, v, w)
    ids = rt.ids.to_external(np.arange(n, dtype=np.int64))
    return n, u, v, w, ids, rt.seq, rt.stale, rt.directed


def _stored_job(rt_name: str, target: Target, snap: tuple, run: Callable[[SignedGraph], Any]) -> bytes:
    n, u, v, w, ids, seq, _stale, directed = snap
    graph = SignedGraph.from_arrays(n, u, v, w, directed=directed, ids=ids)
    result = run(graph).to_dict()
    return dumps({"graph": rt_name, "target": target, "seq": seq, "cursor": str(seq), **result})


async def _stored(request: Request, rt: GraphRuntime, target: Target, check: str, options: tuple,
                  run: Callable[[SignedGraph], Any]) -> Response:
    if target == "sparsifier":
        rt.need_sparsifier("target=sparsifier")
    cache = _cache_of(rt)
    key = (target, check, options)
    seq = rt.durable_seq  # an in-memory seq may still be committing (or fail and be reassigned)
    if not rt.stale:
        hit = cache.get(seq, key)
        if hit is not None:
            return _stored_reply(hit, seq, "hit")
    flight = (seq, key)
    task = cache.inflight.get(flight)
    if task is None:
        task = asyncio.ensure_future(_compute(request, rt, target, check, key, run))
        cache.inflight[flight] = task
        task.add_done_callback(lambda _t: cache.inflight.pop(flight, None))
    payload, seq = await asyncio.shield(task)
    return _stored_reply(payload, seq, "miss")


async def _compute(request: Request, rt: GraphRuntime, target: Target, check: str, key: tuple,
                   run: Callable[[SignedGraph], Any]) -> tuple[bytes, int]:
    async with _slots(request):
        snap = await rt.read(_snapshot, rt, target, check)
        payload = await asyncio.to_thread(_stored_job, rt.name, target, snap, run)
    seq, stale = snap[5], snap[6]
    if not stale:  # a stale runtime may be ahead of what is durable at this seq: never cache that
        _cache_of(rt).put(seq, key, payload)
    return payload, seq


def _stored_reply(payload: bytes, seq: int, cache: str) -> Response:
    return Response(payload, media_type="application/json",
                    headers={"X-Sparsewire-Cursor": str(seq), "X-Sparsewire-Cache": cache})


_STORED_OK = {200: {"description": "the result plus `graph`, `target`, `seq`, `cursor`; header "
                                   "`X-Sparsewire-Cache: hit|miss`",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
              404: {"model": ErrorBody, "description": "unknown graph"},
              409: {"model": ErrorBody, "description": "target=sparsifier on a directed graph (no sparsifier); "
                    "for cliques also: not chordal"}}


@router.get("/v1/graphs/{name}/analysis/balance", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_balance(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                         frustration: Literal["auto", "exact", "heuristic", "none"] = "auto") -> Response:
    """Structural balance of a stored graph or its sparsifier (cached per sequence number)."""
    return await _stored(request, graph, target, "balance", (frustration,),
                         lambda g: structural_balance(g, frustration=frustration))


@router.get("/v1/graphs/{name}/analysis/chordal", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_chordal(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                         certificate: bool = True, cliques: bool = True, upper_bound: bool = True) -> Response:
    """Chordality with PEO or hole of a stored graph or its sparsifier (cached per sequence number)."""
    return await _stored(request, graph, target, "chordal", (certificate, cliques, upper_bound),
                         lambda g: chordal_check(g, certificate=certificate, cliques=cliques,
                                                 upper_bound=upper_bound))


@router.get("/v1/graphs/{name}/analysis/cliques", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS, **_CONFLICT})
async def stored_cliques(request: Request, graph: GraphDep, target: TargetQuery = "graph") -> Response:
    """Maximal cliques of a chordal stored graph or sparsifier; 409 with the hole otherwise."""
    return await _stored(request, graph, target, "cliques", (), maximal_cliques)


@router.get("/v1/graphs/{name}/analysis/consensus", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_consensus(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                           variant: Variant = "opposing", time: Literal["continuous", "discrete"] = "continuous",
                           step: Annotated[float | None, Query(gt=0, allow_inf_nan=False)] = None,
                           hidden: NodesQuery = None) -> Response:
    """Consensus regime of a stored graph or sparsifier (up to 2,000 nodes; cached per sequence number)."""
    hid = _stored_ids(graph, hidden, "hidden")
    return await _stored(request, graph, target, "consensus",
                         (variant, time, step, None if hid is None else tuple(hid)),
                         lambda g: consensus(g, variant=variant, time=time, step=step, hidden=hid))


@router.post("/v1/graphs/{name}/analysis/consensus", dependencies=[require("read")],
             openapi_extra=_body_doc(ConsensusSettings), responses={**_STORED_OK, **_ERRORS})
async def stored_consensus_body(request: Request, graph: GraphDep, target: TargetQuery = "graph") -> Response:
    """Consensus regime of a stored graph or sparsifier with options (also initial_state) as a JSON body."""
    body = await _stored_body(request, ConsensusSettings)
    opts = body.model_copy(update={"hidden": _coerce_ids(graph.ids.kind, body.hidden)})
    return await _stored(request, graph, target, "consensus", _body_key(body),
                         lambda g: _run_consensus(g, opts))


@router.get("/v1/graphs/{name}/analysis/observability", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_observability(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                               hidden: NodesQuery = None, visible: NodesQuery = None,
                               variant: Variant = "opposing") -> Response:
    """Observability of hidden agents in a stored graph or sparsifier (up to 2,000 nodes; cached)."""
    hid = _stored_ids(graph, hidden, "hidden")
    vis = _stored_ids(graph, visible, "visible")
    return await _stored(request, graph, target, "observability",
                         (variant, None if hid is None else tuple(hid), None if vis is None else tuple(vis)),
                         lambda g: observability(g, hidden=hid, visible=vis, variant=variant))


@router.get("/v1/graphs/{name}/analysis/perturbation", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_perturbation(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                              goal: Literal["stabilize", "observe", "break_symmetry"] = "stabilize",
                              hidden: NodesQuery = None,
                              weight_grid: Annotated[list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None,
                                                     Query(min_length=1, max_length=50, description="magnitudes "
                                                           "tried; repeat the parameter (default 0.1, 0.5, 1.0)")
                                                     ] = None,
                              sign: Annotated[Literal["1", "-1"] | None, Query(
                                  description="sign of added edges (default: chosen per goal)")] = None,
                              top_k: Annotated[int, Query(ge=1, le=100)] = 5, ground: bool = False,
                              variant: Variant = "opposing") -> Response:
    """Rank-one edge (or grounding) suggestions for a stored graph or sparsifier (up to 500 nodes; cached)."""
    grid = [0.1, 0.5, 1.0] if weight_grid is None else weight_grid
    try:
        opts = PerturbationSettings(goal=goal, hidden=_stored_ids(graph, hidden, "hidden"), weight_grid=grid,
                                    sign=None if sign is None else int(sign), top_k=top_k, ground=ground,
                                    variant=variant)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e.get("loc", ()))}
                                      for e in exc.errors(include_url=False)]) from None
    key = (goal, None if opts.hidden is None else tuple(opts.hidden), tuple(grid), sign, top_k, ground, variant)
    return await _stored(request, graph, target, "perturbation", key, lambda g: _run_perturbation(g, opts))


@router.post("/v1/graphs/{name}/analysis/perturbation", dependencies=[require("read")],
             openapi_extra=_body_doc(PerturbationSettings), responses={**_STORED_OK, **_ERRORS})
async def stored_perturbation_body(request: Request, graph: GraphDep, target: TargetQuery = "graph") -> Response:
    """Perturbation suggestions for a stored graph or sparsifier with options (also allowed_pairs) as JSON."""
    body = await _stored_body(request, PerturbationSettings)
    kind = graph.ids.kind
    pairs = None if body.allowed_pairs is None else [tuple(_coerce_ids(kind, list(p))) for p in body.allowed_pairs]
    opts = body.model_copy(update={"hidden": _coerce_ids(kind, body.hidden), "allowed_pairs": pairs})
    return await _stored(request, graph, target, "perturbation", _body_key(body),
                         lambda g: _run_perturbation(g, opts))


@router.post("/v1/graphs/{name}/analysis/verify-peo", dependencies=[require("read")],
             openapi_extra=_body_doc(VerifyPeoSettings), responses={**_STORED_OK, **_ERRORS})
async def stored_verify_peo(request: Request, graph: GraphDep, target: TargetQuery = "graph") -> Response:
    """Is the body's ordering a perfect elimination ordering of a stored graph or sparsifier (cached)."""
    body = await _stored_body(request, VerifyPeoSettings)
    kind = graph.ids.kind
    return await _stored(request, graph, target, "verify-peo", _body_key(body),
                         lambda g: verify_peo(g, _coerce_ids(kind, body.ordering)))


@router.get("/v1/graphs/{name}/analysis/chordal-completion", dependencies=[require("read")],
            responses={**_STORED_OK, **_ERRORS})
async def stored_chordal_completion(request: Request, graph: GraphDep, target: TargetQuery = "graph",
                                    method: Literal["mcs_m"] = "mcs_m") -> Response:
    """Inclusion-minimal chordal completion of a stored graph or sparsifier (cached per sequence number)."""
    return await _stored(request, graph, target, "chordal-completion", (method,),
                         lambda g: chordal_completion(g, method=method))
