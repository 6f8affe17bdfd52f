"""Graphs: create, list, inspect, delete, import a file, snapshots, quality."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status

from sparsewire.api.deps import GraphDep, RegistryDep, SettingsDep, require
from sparsewire.api.schemas import EdgeSnapshot, GraphCreate, GraphInfo, GraphList, Quality
from sparsewire.engine.sparsifier import SparsifierParams
from sparsewire.errors import InvalidInputError, RecoveringError, TooLargeError

router = APIRouter(prefix="/v1/graphs", tags=["graphs"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GraphInfo, dependencies=[require("write")])
async def create_graph(body: GraphCreate, registry: RegistryDep) -> dict:
    """Create an empty graph with its dyGRASS parameters."""
    rt = await registry.create(body.name, directed=body.directed, signed=body.signed, node_ids=body.node_ids,
                               params=SparsifierParams(**body.params.model_dump()))
    return rt.describe(components=True)  # empty: nothing to count


@router.get("", response_model=GraphList, dependencies=[require("read")])
async def list_graphs(registry: RegistryDep) -> dict:
    """All graphs (component counts only where already known for the graph's current sequence number, else
    null: ``GET /v1/graphs/{name}`` computes them)."""
    if registry.pending:
        raise RecoveringError(f"{len(registry.pending)} graph(s) are still being recovered after a restart; retry "
                              "shortly")
    data = [rt.describe() for _, rt in sorted(registry.graphs.items())]
    return {"data": data, "count": len(data)}


@router.get("/{name}", response_model=GraphInfo, dependencies=[require("read")])
async def get_graph(graph: GraphDep) -> dict:
    """Sizes, density, components of G and H, parameters, backend and the last sequence number / cursor of a
    graph."""
    return await graph.read(graph.describe, True)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[require("admin")])
async def delete_graph(name: str, registry: RegistryDep) -> Response:
    """Delete a graph and its history."""
    await registry.delete(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/import", response_model=GraphInfo, dependencies=[require("write")],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_graph(graph: GraphDep, request: Request, settings: SettingsDep,
                       format: Literal["auto", "mtx", "csv"] = "auto") -> dict:  # noqa: A002
    """Load a Matrix Market (.mtx, optionally gzipped) or edge-list CSV body into an empty graph and build
    the initial sparsifier.  A directed graph reads arcs: ``source target`` lines, Matrix Market ``A[i, j]`` as
    the arc j -> i (symmetric files give both arcs)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > settings.max_body_bytes:
            raise TooLargeError(f"body exceeds {settings.max_body_bytes} bytes")
        chunks.append(chunk)
    if not size:
        raise InvalidInputError("empty body: send the graph file as the request body")
    return await graph.import_graph(b"".join(chunks), format)


def _edges_text(u: list, v: list, w: list, n: int, fmt: str, base: int = 1, directed: bool = False) -> str:
    if fmt == "csv":
        return "u,v,w\n" + "".join(f"{a},{b},{c!r}\n" for a, b, c in zip(u, v, w, strict=True))
    # Matrix Market indices are 1-based: external id - base + 1 (the ids themselves for graphs imported from
    # .mtx files, id + 1 for graphs with 0-based ids).  Undirected: the lower triangle of a symmetric matrix;
    # directed: entry A[v, u] for the arc u -> v (row v listens to column u, as the importer reads it).
    shift = 1 - base
    lines = [f"%%MatrixMarket matrix coordinate real {'general' if directed else 'symmetric'}", f"{n} {n} {len(u)}"]
    lines += [f"{b + shift} {a + shift} {c!r}" for a, b, c in zip(u, v, w, strict=True)]
    return "\n".join(lines) + "\n"


async def _snapshot(graph, which: str, fmt: str) -> Response | dict:  # noqa: ANN001
    if which == "sparsifier":
        graph.need_sparsifier("sparsifier")

    def collect() -> tuple:
        g = graph.sparsifier.sparsifier if which == "sparsifier" else graph.sparsifier.graph
        u, v, w = g.edges()
        w = graph.signed_weights(u, v, w)
        return graph.ids.to_external(u), graph.ids.to_external(v), w.tolist(), g.n, graph.seq

    u, v, w, n, seq = await graph.read(collect)
    headers = {"X-Sparsewire-Cursor": str(seq)}
    if fmt == "json":
        return {"cursor": str(seq), "seq": seq, "nodes": n, "count": len(u),
                "edges": [list(t) for t in zip(u, v, w, strict=True)]}
    if fmt == "mtx" and graph.ids.kind == "str":
        raise InvalidInputError("Matrix Market needs integer node ids; use format=csv or json")
    text = await asyncio.to_thread(_edges_text, u, v, w, n, fmt, graph.ids.base, graph.directed)
    media = "text/csv" if fmt == "csv" else "text/plain"
    return Response(text, media_type=media, headers=headers)


@router.get("/{name}/sparsifier", response_model=EdgeSnapshot, dependencies=[require("read")])
async def get_sparsifier(graph: GraphDep, format: Literal["json", "mtx", "csv"] = "json"):  # noqa: A002, ANN201
    """The sparsifier H as an edge list, with the cursor it reflects (also in ``X-Sparsewire-Cursor``)."""
    return await _snapshot(graph, "sparsifier", format)


@router.get("/{name}/edges", response_model=EdgeSnapshot, dependencies=[require("read")])
async def get_edges(graph: GraphDep, format: Literal["json", "mtx", "csv"] = "json"):  # noqa: A002, ANN201
    """The graph G as an edge list (a directed graph's arcs as ``[source, target, w]``), with the cursor it
    reflects."""
    return await _snapshot(graph, "graph", format)


@router.get("/{name}/quality", response_model=Quality, dependencies=[require("read")])
async def get_quality(graph: GraphDep, settings: SettingsDep,
                      kappa: bool = Query(True, description="compute κ (can take minutes on large graphs)")) -> dict:
    """κ(L_G, L_H) by the spec recipe (1e-6 shift, λ_max of the pencil), density and component counts."""
    graph.need_sparsifier("quality figures")
    n = graph.sparsifier.n
    if kappa and n > settings.max_quality_nodes:
        raise TooLargeError(f"graph has {n} vertices; kappa is computed up to {settings.max_quality_nodes} "
                            "(ask with kappa=false for the other figures)")

    def measure() -> dict:
        t0 = time.perf_counter()
        s = graph.sparsifier
        comps = graph.components(compute=True)  # cached per seq, shared with GET /v1/graphs/{name}
        k, note = None, None
        if kappa and n:
            try:
                k = s.kappa()
            except (RuntimeError, ValueError, ArithmeticError) as exc:  # ARPACK / SuperLU on a degenerate pencil
                note = f"kappa not computed: {type(exc).__name__}: {exc}"
        return {"kappa": k, "note": note, "density": s.density(), "nodes": n, "edges": s.graph.m,
                "sparsifier_edges": s.sparsifier.m, "components_graph": comps[0], "components_sparsifier": comps[1],
                "cursor": str(graph.seq), "seconds": time.perf_counter() - t0}

    return await graph.read(measure)
