"""Request and response models of the HTTP API (shared with the Python client)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# strict: JSON true/false and 1.0 are not vertex ids (lax mode would read them as 1, 0 and 1)
NodeId = Annotated[int, Field(ge=0, le=2**53, strict=True)] | Annotated[str, Field(min_length=1, max_length=256)]


class Params(BaseModel):
    """dyGRASS parameters of a graph.

    Strict and finite: ``true`` is not 1.0 and ``"2"`` is not 2 (a typo must not become a setting), and NaN or
    ±inf is refused as "not a finite number" before any range check."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    K: float = Field(10.0, gt=0, le=1e12, description="distortion threshold")
    steps: int = Field(100, ge=1, le=4096, description="T: maximum edges per walker")
    walkers: int = Field(512, ge=1, le=1024, description="W: walkers per update")
    seed: int = Field(0, ge=0, lt=2**63)
    offtree_ratio: float = Field(0.10, ge=0, le=1, description="off-tree budget of the initial sparsifier / |V|")
    batch_semantics: Literal["snapshot", "sequential"] = "snapshot"
    first_step_exempt: bool = False
    loop_erase: bool = False
    recheck_deletions: bool = False
    congestion: float = Field(0.0, ge=0, le=1e6, description="cap on the distortion skipped insertions may pile "
                              "onto one sparsifier edge, in units of K (0: off, reference behaviour)")


class GraphCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    directed: bool = Field(False, description="directed graph: arcs u -> v are stored for analysis (the analysis "
                           "routes with target=graph) and no sparsifier is maintained (the sparsifier and quality "
                           "routes answer 409; deltas carry only seq and cursor)")
    signed: bool = Field(False, description="signed graph: insertion weights may be negative (never 0); the "
                         "sparsifier is maintained on |w|, structural balance is tracked live and changes are "
                         "published as `balance` frames on the delta stream")
    node_ids: Literal["int", "str"] = "int"
    params: Params = Field(default_factory=Params)


class GraphInfo(BaseModel):
    name: str
    directed: bool
    signed: bool
    node_ids: str
    id_base: int | None = Field(None, description="int graphs: node id of internal vertex 0 (1 after a Matrix Market "
                                "import, else 0); vertices are id_base .. id_base + nodes - 1")
    params: dict[str, Any]
    backend: str
    nodes: int
    edges: int
    sparsifier_edges: int | None = Field(description="edges of the sparsifier H; null for a directed graph")
    density: float | None = Field(description="|E_H| / |V|; null for a directed graph")
    components_graph: int | None = Field(None, description="connected components of G (isolated vertices count); "
                                         "null in listings when not yet computed for this seq")
    components_sparsifier: int | None = Field(None, description="connected components of the sparsifier H (the "
                                              "engine keeps it equal to components_graph)")
    seq: int
    cursor: str
    created: str | None = None
    balanced: bool | None = Field(None, description="undirected signed graphs: the live structural-balance verdict "
                                  "of G (directed ones: GET .../analysis/balance)")
    warnings: list[str] | None = None


class GraphList(BaseModel):
    data: list[GraphInfo]
    count: int


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["insert", "delete"]
    u: NodeId
    v: NodeId
    w: float | None = Field(None, strict=True, description="weight (insertions; default 1.0); on a signed graph "
                             "nonzero and either sign, its magnitude the conductance the sparsifier uses")


class UpdateBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ops: list[Operation] = Field(..., min_length=1, max_length=1_000_000)


class OpResult(BaseModel):
    status: Literal["applied", "merged", "absent"]
    action: Literal["added", "skipped", "removed", "recovered", "unchanged", "reweighted"]


class Delta(BaseModel):
    added: list[list[Any]] = Field(description="[u, v, w] edges that joined the sparsifier")
    removed: list[list[Any]] = Field(description="[u, v] edges that left the sparsifier")
    reweighted: list[list[Any]] = Field(description="[u, v, w] sparsifier edges with a new weight")


class UpdateReply(BaseModel):
    seq: int
    cursor: str
    results: list[OpResult]
    delta: Delta
    stats: dict[str, float]


class EdgeSnapshot(BaseModel):
    cursor: str
    seq: int
    nodes: int
    count: int
    edges: list[list[Any]]


class Quality(BaseModel):
    kappa: float | None
    note: str | None = None
    density: float
    nodes: int
    edges: int
    sparsifier_edges: int
    components_graph: int
    components_sparsifier: int
    cursor: str
    seconds: float


class ErrorBody(BaseModel):
    error: dict[str, Any]
