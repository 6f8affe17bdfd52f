"""Directed graphs stored for analysis: an arc set behind the engine's batch interface, with no sparsifier.

dyGRASS needs the Laplacian of an undirected graph, so a directed graph keeps only its arcs ``u -> v`` (at most one
per ordered pair; ``u -> v`` and ``v -> u`` are different arcs).  :class:`ArcStore` answers the calls the per-graph
writer makes on a :class:`~sparsewire.engine.sparsifier.Sparsifier` (``apply``, ``replay``, ``graph``, sizes), so a
directed graph shares the writer, the Redis log, durability, idempotency and recovery of undirected ones; its
sparsifier is ``None`` and every batch leaves an empty delta with action ``unchanged``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsewire.engine.batch import (
    ABSENT,
    APPLIED,
    INSERT,
    MERGED,
    UNCHANGED,
    BatchResult,
    EdgeBatch,
    Run,
    SparsifierDelta,
    validate_batch,
)
from sparsewire.engine.dyngraph import MAX_VERTICES
from sparsewire.engine.sparsifier import SparsifierParams

_SHIFT = np.int64(2**32)
_EMPTY_I = np.empty(0, np.int64)
_EMPTY_F = np.empty(0, np.float64)


class ArcGraph:
    """A directed weighted graph with O(1) arc insert, delete and lookup.

    Arc ``u -> v`` (``u != v``, both below 2³¹) is stored under the key ``u · 2³² + v``; weights are nonzero
    floats (positive unless the graph is signed).
    """

    def __init__(self, n: int = 0, arcs: dict[int, float] | None = None) -> None:
        self.n = int(n)
        self.arcs: dict[int, float] = arcs if arcs is not None else {}

    @classmethod
    def from_arcs(cls, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> ArcGraph:
        """From distinct arcs ``u[i] -> v[i]`` with weights ``w[i]``."""
        keys = np.asarray(u, np.int64) * _SHIFT + np.asarray(v, np.int64)
        return cls(n, dict(zip(keys.tolist(), np.asarray(w, np.float64).tolist(), strict=True)))

    @property
    def m(self) -> int:
        """Number of arcs."""
        return len(self.arcs)

    def has_edge(self, u: int, v: int) -> bool:
        return int(u) * int(_SHIFT) + int(v) in self.arcs

    def edges(self, *, sort: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arcs ``(u, v, w)``, sorted by ``(u, v)`` or (``sort=False``) in insertion order."""
        keys = np.fromiter(self.arcs.keys(), np.int64, len(self.arcs))
        w = np.fromiter(self.arcs.values(), np.float64, len(self.arcs))
        if sort:
            order = np.argsort(keys, kind="stable")
            keys, w = keys[order], w[order]
        return keys // _SHIFT, keys % _SHIFT, w

    def components(self) -> int:
        """Weakly connected components (isolated vertices count)."""
        u, v, _ = self.edges()
        adj = sp.coo_array((np.ones(len(u)), (u, v)), shape=(self.n, self.n))
        return int(connected_components(adj.tocsr(), directed=True, connection="weak")[0]) if self.n else 0

    def insert(self, u: np.ndarray, v: np.ndarray, w: np.ndarray, status: np.ndarray | None = None) -> None:
        """Insert arcs in order; an existing arc merges (weights add; a signed sum of 0 removes the arc)."""
        arcs = self.arcs
        for i, (key, wt) in enumerate(zip((u * _SHIFT + v).tolist(), w.tolist(), strict=True)):
            old = arcs.get(key)
            if old is None:
                arcs[key] = wt
            else:
                total = old + wt
                if total == 0.0:
                    del arcs[key]
                else:
                    arcs[key] = total
                if status is not None:
                    status[i] = MERGED
        if len(u):
            self.n = max(self.n, int(max(u.max(), v.max())) + 1)

    def delete(self, u: np.ndarray, v: np.ndarray, status: np.ndarray | None = None) -> None:
        """Delete arcs in order; an absent arc is a no-op (``ABSENT``)."""
        arcs = self.arcs
        for i, key in enumerate((u * _SHIFT + v).tolist()):
            if arcs.pop(key, None) is None and status is not None:
                status[i] = ABSENT


class _NoWalks:
    """The backend of a graph without walks."""

    name = "none"


class ArcStore:
    """A stored directed graph: the arc set G and no sparsifier (``sparsifier`` is None).

    ``signed`` graphs accept arcs of either sign (nonzero weight); unsigned ones need positive weights.
    """

    sparsifier = None
    backend = _NoWalks()

    def __init__(self, graph: ArcGraph, params: SparsifierParams | None = None, *, signed: bool = False,
                 next_uid: int = 0, max_vertices: int = MAX_VERTICES - 1) -> None:
        self.graph = graph
        self.params = params or SparsifierParams()
        self.signed = signed
        self.next_uid = int(next_uid)
        self.max_vertices = max_vertices

    @property
    def n(self) -> int:
        return self.graph.n

    def density(self) -> None:
        """No sparsifier, so no density."""
        return None

    def components(self) -> tuple[int, None]:
        """Weakly connected components of G; None for the absent sparsifier."""
        return self.graph.components(), None

    def apply(self, batch: EdgeBatch) -> BatchResult:
        """Validate and apply a batch in order, all or nothing (as :meth:`Sparsifier.apply`): status ``applied``,
        ``merged`` (insert of an existing arc: weights add) or ``absent`` (delete of a missing arc); action
        ``unchanged`` for every operation."""
        magnitude = EdgeBatch(batch.kind, batch.u, batch.v, np.abs(batch.w)) if self.signed else batch
        validate_batch(magnitude, max_vertices=max(self.max_vertices, self.graph.n))
        status = np.full(len(batch), APPLIED, np.int8)
        runs = []
        for kind, a, b in batch.runs():
            u, v, w = batch.u[a:b], batch.v[a:b], batch.w[a:b]
            if kind == INSERT:
                self.graph.insert(u, v, w, status[a:b])
            else:
                self.graph.delete(u, v, status[a:b])
            runs.append(Run(kind, u.copy(), v.copy(), w.copy(), _EMPTY_I, _EMPTY_I, _EMPTY_F))
        first_uid = self.next_uid
        self.next_uid += len(batch)
        delta = SparsifierDelta((_EMPTY_I, _EMPTY_I, _EMPTY_F), (_EMPTY_I, _EMPTY_I), (_EMPTY_I, _EMPTY_I, _EMPTY_F))
        stats = {"walks": 0.0, "walker_steps": 0.0, "recovered_edges": 0.0, "seconds": 0.0}
        return BatchResult(status, np.full(len(batch), UNCHANGED, np.int8), delta, runs, first_uid, stats)

    def replay(self, runs: list[Run], n_ops: int) -> None:
        """Redo recorded runs (crash recovery)."""
        for run in runs:
            if run.kind == INSERT:
                self.graph.insert(run.u, run.v, run.w)
            else:
                self.graph.delete(run.u, run.v)
        self.next_uid += n_ops
