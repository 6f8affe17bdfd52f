"""What a stored signed graph keeps beside its sparsifier: edge signs and a live structural-balance verdict.

The sparsifier sees ``|w|``; :class:`~sparsewire.engine.signs.EdgeSigns` keeps the signs.  Balance is maintained
by a parity union-find (:class:`~sparsewire.analysis.balance_tracker.BalanceTracker`): a batch of insertions costs
``O(alpha(n))`` per new edge; a batch that deletes an edge rebuilds the tracker from G (``O(m alpha(n))``) when the
graph was unbalanced (a deletion may restore balance), and lazily before the next insertion otherwise (deleting
edges from a balanced graph keeps it balanced, with the same camps).  A change of verdict yields a ``balance``
event with its certificate: the camps when balanced, a negative cycle when not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sparsewire.analysis.balance_tracker import BalanceTracker
from sparsewire.engine.batch import APPLIED, DELETE, INSERT, BatchResult, EdgeBatch
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.engine.signs import EdgeSigns, SignPlan, edge_keys

#: Above this many vertices a ``balance`` event that turns balanced carries no camps (``camps_omitted``).
MAX_EVENT_CAMP_NODES = 100_000


class SignedState:
    """Signs and balance of one signed graph G (internal vertex indices)."""

    def __init__(self, signs: EdgeSigns, graph: DynamicGraph) -> None:
        self.signs = signs
        self.tracker = BalanceTracker()
        self._dirty = True
        self._rebuild(graph)

    @property
    def balanced(self) -> bool:
        return self.tracker.balanced

    def plan(self, batch: EdgeBatch, graph: DynamicGraph, max_vertices: int) -> SignPlan:
        """Check the batch's signs (raises :class:`InvalidBatchError`); the magnitude batch for the engine."""
        n = graph.n

        def has_edge(u: int, v: int) -> bool:
            return u < n and v < n and graph.has_edge(u, v)

        return self.signs.plan(batch, has_edge, max_vertices=max_vertices)

    def commit(self, plan: SignPlan, batch: EdgeBatch, result: BatchResult, graph: DynamicGraph) -> bool:
        """Record an applied batch; True when the balance verdict changed.

        Balanced: deletions keep it balanced (same camps; the union-find is rebuilt before the next insertion).
        Unbalanced: insertions keep it unbalanced, and so do deletions that leave the witness cycle whole; only a
        deletion of a witness edge (a sign flip included) needs a rebuild to learn the verdict.
        """
        self.signs.commit(plan)
        was = self.tracker.balanced
        gone = (batch.kind == DELETE) & (result.status == APPLIED)
        new = np.flatnonzero((batch.kind == INSERT) & (result.status == APPLIED))
        if was:
            if gone.any() and not new.size:
                self._dirty = True
            elif gone.any() or (new.size and self._dirty):
                self._rebuild(graph)  # includes this batch's edges
            else:
                for i in new.tolist():
                    self.tracker.add_edge(int(batch.u[i]), int(batch.v[i]), float(batch.w[i]))
        elif gone.any():
            if self._witness_keys & set(edge_keys(batch.u[gone], batch.v[gone]).tolist()):
                self._rebuild(graph)
            else:
                self._dirty = True  # the witness cycle survives: still unbalanced
        elif new.size and not self._dirty:
            for i in new.tolist():  # cannot change the verdict; keeps the union-find current
                self.tracker.add_edge(int(batch.u[i]), int(batch.v[i]), float(batch.w[i]))
        return self.tracker.balanced != was

    @property
    def _witness_keys(self) -> set[int]:
        witness = self.tracker.witness
        if witness is None:
            return set()
        edges = witness[1]
        return set(edge_keys(np.array([e["source"] for e in edges]), np.array([e["target"] for e in edges])).tolist())

    def _rebuild(self, graph: DynamicGraph) -> None:
        u, v, w = graph.edges()
        sw = self.signs.signed(u, v, w)
        self.tracker.rebuild(zip(u.tolist(), v.tolist(), sw.tolist(), strict=True))
        self._dirty = False

    def event(self, to_external: Any, n: int) -> dict[str, Any]:
        """The current verdict with its certificate, in external ids: ``{"balanced", "negative_cycle",
        "negative_cycle_edges", "camp_plus", "camp_minus"}`` (camps over every vertex when balanced, unless the
        graph has more than :data:`MAX_EVENT_CAMP_NODES` vertices: then ``camps_omitted`` is true)."""
        if not self.tracker.balanced:
            cycle, edges = self.tracker.witness or ([], [])
            ext = to_external(np.array(cycle, np.int64))
            edges_ext = [{"source": to_external(np.array([e["source"]]))[0],
                          "target": to_external(np.array([e["target"]]))[0], "weight": e["weight"]} for e in edges]
            return {"balanced": False, "negative_cycle": ext, "negative_cycle_edges": edges_ext,
                    "camp_plus": None, "camp_minus": None}
        if n > MAX_EVENT_CAMP_NODES:  # a log entry and a frame of megabytes: ask GET .../analysis/balance instead
            return {"balanced": True, "negative_cycle": None, "negative_cycle_edges": None,
                    "camp_plus": None, "camp_minus": None, "camps_omitted": True}
        side = np.ones(n, np.int8)  # isolated vertices join the plus camp
        for x, s in self.tracker.sides().items():
            side[x] = s
        plus = to_external(np.flatnonzero(side > 0))
        minus = to_external(np.flatnonzero(side < 0))
        return {"balanced": True, "negative_cycle": None, "negative_cycle_edges": None,
                "camp_plus": plus, "camp_minus": minus}
