"""The dyGRASS dynamic spectral sparsifier (Yuan, Aghdaei, Feng, ICCAD 2025, arXiv 2505.02741).

G is the full graph, H ⊆ G (same weights) its sparsifier.  Per batch:

* **insertion** of e = (p, q, w): e joins G; W non-backtracking walks of at most T steps run in H from p;
  if none reaches q with ``w · R < K`` (R = path resistance, sum of 1/w), e is *spectrally critical* and
  joins H.  Adding e without it would raise λ_max(L_G, L_H) by about ``w · R_H(p, q)``.
* **deletion** of e: e leaves G (and H if there); if it was in H, the best of W walks from p to q in the
  updated G (minimum resistance, lowest walker index on ties) is *recovered*: its edges missing from H join
  H with their G weights.  When no walker arrives, an exact lowest-resistance path is used instead, so H
  always has exactly G's connected components.
* **congestion** (optional, ``congestion > 0``): a skipped insertion charges ``w · R`` to every edge of its
  walk; one that would lift some edge's load to ``congestion · K`` joins H instead, which bounds the
  distortion of all skipped edges together: ``λ_max(L_skipped, L_H) < congestion · K``
  (:mod:`sparsewire.engine.congestion`).

Every walk draws its random numbers from ``(seed, update id, walker, step)``; the update id of an operation
is its position in the graph's whole history of operations.  Same input + seed gives the same H on every
backend.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from sparsewire.engine.backend import WalkBackend, select_backend
from sparsewire.engine.batch import (
    ABSENT,
    ADDED,
    APPLIED,
    DELETE,
    INSERT,
    MAX_WEIGHT,
    MERGED,
    MIN_WEIGHT,
    RECOVERED,
    REMOVED,
    REWEIGHTED,
    SKIPPED,
    UNCHANGED,
    BatchResult,
    EdgeBatch,
    Run,
    SparsifierDelta,
    validate_batch,
)
from sparsewire.engine.congestion import EdgeLoads, edge_key, winner_path
from sparsewire.engine.dyngraph import MAX_VERTICES, DynamicGraph
from sparsewire.engine.paths import erase_loops, lowest_resistance_path
from sparsewire.errors import InvalidInputError

_EMPTY_I = np.empty(0, np.int64)
_EMPTY_F = np.empty(0, np.float64)


@dataclass(frozen=True)
class SparsifierParams:
    """Parameters of the dyGRASS updates.

    K : distortion threshold; an insertion with ``w · R_path ≥ K`` for every walker is critical.
    steps : T, the maximum number of edges one walker takes (reference: 100).
    walkers : W, walkers per update (1..1024).
    seed : root of the counter-based random numbers.
    first_step_exempt : skip the K test on a walker's first step (reference behaviour; our default checks it).
    batch_semantics : ``"snapshot"`` (default, reference) tests all insertions of a batch in parallel
        against H as it was before the batch; ``"sequential"`` also re-tests each critical candidate, in
        order, against H with the batch's earlier additions, which drops a few redundant edges (about 3 % on
        G3_circuit) at the price of serial walks: use it for small batches.
    loop_erase : erase loops of a recovery walk before adding its edges (reference: no).
    recheck_deletions : before recovering, test the deleted edge in H − e like an insertion and skip the
        recovery when H − e already has a path with ``w · R < K`` (reference: always recover).
    offtree_ratio : off-tree budget of the initial sparsifier as a fraction of |V|.
    congestion : cap on the distortion that skipped insertions may pile onto one sparsifier edge, in units
        of K (0: off, the reference behaviour).  With ``c > 0`` an insertion whose walk would lift some
        edge's load to ``c · K`` joins H, so ``λ_max(L_skipped, L_H) < c · K`` for any stream; see
        :mod:`sparsewire.engine.congestion`.
    """

    K: float = 10.0
    steps: int = 100
    walkers: int = 512
    seed: int = 0
    first_step_exempt: bool = False
    batch_semantics: Literal["snapshot", "sequential"] = "snapshot"
    loop_erase: bool = False
    recheck_deletions: bool = False
    offtree_ratio: float = 0.10
    congestion: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (np.isfinite(self.K) and self.K > 0, f"K must be finite and > 0, got {self.K!r}"),
            (1 <= self.steps <= 4096, f"steps must be in [1, 4096], got {self.steps!r}"),
            (1 <= self.walkers <= 1024, f"walkers must be in [1, 1024], got {self.walkers!r}"),
            (0 <= self.seed < 2**63, f"seed must be in [0, 2**63), got {self.seed!r}"),
            (self.batch_semantics in ("sequential", "snapshot"),
             f"batch_semantics must be 'sequential' or 'snapshot', got {self.batch_semantics!r}"),
            (0 <= self.offtree_ratio <= 1, f"offtree_ratio must be in [0, 1], got {self.offtree_ratio!r}"),
            (0 <= self.congestion <= 1e6, f"congestion must be in [0, 1e6] (units of K), got {self.congestion!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInputError(message)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Sparsifier:
    """A graph G and its dyGRASS spectral sparsifier H, updated in batches.

    Parameters
    ----------
    graph, sparsifier : DynamicGraph
        G and H with H ⊆ G and equal weights on H's edges (not checked here; see :func:`check_invariants`).
    params : SparsifierParams
    next_uid : int
        RNG update id of the next operation (the number of operations applied so far).
    backend : str or WalkBackend
        ``"auto"`` (CUDA if present), ``"cpu"`` or ``"cuda"``.
    max_vertices : int
        Largest vertex count a batch may grow the graphs to (vertex ids must be below it); a guard against an id
        like 2**31 - 2 allocating tens of GB.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsewire.engine import Sparsifier, SparsifierParams
    >>> ring = np.arange(8)
    >>> s = Sparsifier.from_edges(8, ring, (ring + 1) % 8, np.ones(8), params=SparsifierParams(K=10),
    ...                           h0_mask=np.ones(8, bool), backend="cpu")
    >>> r = s.insert_batch([0], [2], [1.0])     # a 2-hop chord: a cheap path exists, so it is skipped
    >>> r.counts()
    {'skipped': 1}
    >>> s.graph.m, s.sparsifier.m
    (9, 8)
    """

    def __init__(self, graph: DynamicGraph, sparsifier: DynamicGraph, params: SparsifierParams | None = None,
                 *, next_uid: int = 0, backend: str | WalkBackend = "auto",
                 max_vertices: int = MAX_VERTICES - 1, loads: EdgeLoads | None = None) -> None:
        self.graph = graph
        self.loads = loads if loads is not None else EdgeLoads()
        self.max_vertices = max_vertices
        self.sparsifier = sparsifier
        self.params = params or SparsifierParams()
        self.next_uid = int(next_uid)
        self.backend = select_backend(backend) if isinstance(backend, str) else backend
        sparsifier.ensure_vertices(graph.n)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_edges(cls, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, *,
                   params: SparsifierParams | None = None, h0_mask: np.ndarray | None = None,
                   backend: str | WalkBackend = "auto") -> Sparsifier:
        """Build G from an edge list and H0 from ``h0_mask`` (or the GRASS-style initial sparsifier).

        The edges must have ``u != v``, no duplicate pairs and finite positive weights; list order fixes
        the neighbour order in G and H (and so the walks).
        """
        params = params or SparsifierParams()
        u = np.asarray(u, np.int64)
        v = np.asarray(v, np.int64)
        w = np.asarray(w, np.float64)
        _check_edge_list(n, u, v, w)
        if h0_mask is None:
            from sparsewire.engine.h0 import initial_sparsifier  # noqa: PLC0415

            h0_mask = initial_sparsifier(n, u, v, w, offtree_ratio=params.offtree_ratio, seed=params.seed)
        h0_mask = np.asarray(h0_mask, bool)
        g = DynamicGraph.from_edges(n, u, v, w)
        h = DynamicGraph.from_edges(n, u[h0_mask], v[h0_mask], w[h0_mask])
        return cls(g, h, params, backend=backend)

    # ------------------------------------------------------------------ updates
    def insert_batch(self, u: np.ndarray, v: np.ndarray, w: np.ndarray | None = None) -> BatchResult:
        """Insert edges (weight 1 when ``w`` is None); see :meth:`apply`."""
        return self.apply(EdgeBatch.insertions(np.asarray(u), np.asarray(v), w))

    def delete_batch(self, u: np.ndarray, v: np.ndarray) -> BatchResult:
        """Delete edges; absent edges are reported no-ops; see :meth:`apply`."""
        return self.apply(EdgeBatch.deletions(np.asarray(u), np.asarray(v)))

    def apply(self, batch: EdgeBatch) -> BatchResult:
        """Validate and apply a batch; all or nothing.

        Mixed batches are applied as consecutive runs of one kind, in order.  Duplicate insertions merge
        into the existing edge (weights add up, in H too when the edge is there); an edge already in G but
        not in H is tested with its new total weight.

        Raises
        ------
        InvalidBatchError
            Some operation is invalid (self-loop, bad id, non-finite or non-positive weight); nothing is
            applied and ``details`` lists every bad operation by index.
        """
        validate_batch(batch, max_vertices=max(self.max_vertices, self.graph.n))
        t0 = time.perf_counter()
        first_uid = self.next_uid
        status = np.zeros(len(batch), np.int8)
        action = np.zeros(len(batch), np.int8)
        tracker = _DeltaTracker(self.sparsifier)
        runs: list[Run] = []
        stats = {"walks": 0.0, "walker_steps": 0.0, "recovered_edges": 0.0, "fallback_searches": 0.0}
        for kind, a, b in batch.runs():
            lo = np.minimum(batch.u[a:b], batch.v[a:b])
            hi = np.maximum(batch.u[a:b], batch.v[a:b])
            uids = np.arange(first_uid + a, first_uid + b, dtype=np.int64)
            if kind == INSERT:
                run = self._insert_run(lo, hi, batch.w[a:b], uids, status[a:b], action[a:b], tracker, stats)
            else:
                run = self._delete_run(lo, hi, uids, status[a:b], action[a:b], tracker, stats)
            runs.append(run)
        self.next_uid += len(batch)
        stats["seconds"] = time.perf_counter() - t0
        return BatchResult(status, action, tracker.delta(), runs, first_uid, stats)

    def _insert_run(self, u, v, w, uids, status, action, tracker, stats) -> Run:  # noqa: ANN001
        G, H, p = self.graph, self.sparsifier, self.params
        tracker.before(u, v)
        in_h = H.weights(u, v) > 0
        new = G.add_edges(u, v, w, merge=True)
        H.ensure_vertices(G.n)
        status[:] = np.where(new == 1, APPLIED, MERGED)
        if in_h.any():
            H.add_edges(u[in_h], v[in_h], w[in_h], merge=True)
        action[in_h] = REWEIGHTED
        # candidates: distinct pairs not in H, in order of first appearance, with their total G weight
        keys = u * (2**31) + v
        cand_ops = np.flatnonzero(~in_h)
        _, first = np.unique(keys[cand_ops], return_index=True)
        first_ops = np.sort(cand_ops[first])
        cu, cv = u[first_ops], v[first_ops]
        cw = G.weights(cu, cv)
        cuid = uids[first_ops]
        walks = self.backend.insertion(H, cu, cv, cw, cuid, seed=p.seed, K=p.K, T=p.steps, W=p.walkers,
                                       first_step_exempt=p.first_step_exempt)
        stats["walks"] += len(cu)
        stats["walker_steps"] += float(walks.work.sum())
        critical = ~walks.found
        load_keys = load_vals = None
        if p.congestion > 0:
            congested, touched = self.loads.charge_walks(
                H.view(), cu, cv, cw, cuid, walks, seed=p.seed, K=p.K, T=p.steps,
                first_step_exempt=p.first_step_exempt, cap=p.congestion * p.K)
            stats["congested"] = stats.get("congested", 0.0) + float(congested.sum())
            critical |= congested
            load_keys = np.unique(touched)
            load_vals = self.loads.get(load_keys)
        if p.batch_semantics == "sequential":
            critical = self._recheck_in_order(cu, cv, cw, cuid, critical, stats,
                                              keep=None if load_keys is None else congested)
        else:
            H.add_edges(cu[critical], cv[critical], cw[critical], merge=False)
        added_keys = keys[first_ops[critical]]
        pair_added = np.isin(keys, added_keys)
        action[~in_h] = np.where(pair_added[~in_h], ADDED, SKIPPED)
        hu, hv, hw = cu[critical], cv[critical], cw[critical]
        tracker.appeared(hu, hv)
        if load_keys is None:
            return Run(INSERT, u, v, w, hu, hv, hw)
        return Run(INSERT, u, v, w, hu, hv, hw, load_keys, load_vals)

    def _recheck_in_order(self, cu, cv, cw, cuid, critical, stats, keep=None) -> np.ndarray:  # noqa: ANN001
        """Sequential semantics: add snapshot-critical candidates in order, re-testing each against H with
        the batch's earlier additions (same random keys); returns the final mask of added candidates.
        Candidates in ``keep`` (congested ones) are added without a re-test."""
        H, p = self.sparsifier, self.params
        final = np.zeros(len(cu), bool)
        changed = False
        for i in np.flatnonzero(critical).tolist():
            if changed and (keep is None or not keep[i]):
                again = self.backend.insertion(H, cu[i : i + 1], cv[i : i + 1], cw[i : i + 1], cuid[i : i + 1],
                                               seed=p.seed, K=p.K, T=p.steps, W=p.walkers,
                                               first_step_exempt=p.first_step_exempt)
                stats["walker_steps"] += float(again.work.sum())
                if again.found[0]:
                    continue
            H.add_edges(cu[i : i + 1], cv[i : i + 1], cw[i : i + 1], merge=False)
            final[i] = True
            changed = True
        return final

    def _delete_run(self, u, v, uids, status, action, tracker, stats) -> Run:  # noqa: ANN001
        G, H, p = self.graph, self.sparsifier, self.params
        tracker.before(u, v)
        gw = G.remove_edges(u, v)
        hw = H.remove_edges(u, v)
        status[:] = np.where(gw > 0, APPLIED, ABSENT)
        action[:] = np.where(hw > 0, REMOVED, UNCHANGED)
        targets = np.flatnonzero(hw > 0)
        tu, tv, tuid = u[targets], v[targets], uids[targets]
        moved = None
        if p.congestion > 0 and len(targets):
            gone = edge_key(tu, tv)
            moved = self.loads.get(gone)
            self.loads.set(gone, np.zeros(len(gone)))
        walks = self.backend.deletion(G, tu, tv, tuid, seed=p.seed, T=p.steps, W=p.walkers)
        stats["walks"] += len(tu)
        stats["walker_steps"] += float(walks.work.sum())
        self._reroutes: list[tuple[int, np.ndarray]] = []
        if p.recheck_deletions:
            hu, hv, hwt = self._recover_rechecking(tu, tv, tuid, hw[targets], targets, walks, action, stats)
        else:
            hu, hv, hwt = self._recover(tu, tv, targets, walks, action, stats)
        stats["recovered_edges"] += len(hu)
        tracker.appeared(hu, hv)
        if moved is None:
            return Run(DELETE, u, v, np.full(len(u), np.nan), hu, hv, hwt)
        keys = self._reroute_loads(tu, tv, tuid, hw[targets], walks, moved)
        return Run(DELETE, u, v, np.full(len(u), np.nan), hu, hv, hwt, keys, self.loads.get(keys))

    def _reroute_loads(self, tu, tv, tuid, tw, walks, moved) -> np.ndarray:  # noqa: ANN001
        """Move each deleted H edge's load onto the path that now joins its endpoints in H (the recovery
        path, or with ``recheck_deletions`` the insertion-test walk in H), scaled by ``w_h · R(path)``;
        returns every key whose load changed."""
        H = self.sparsifier
        changed = [edge_key(tu, tv)]
        rechecked = dict(self._reroutes)
        for j in np.flatnonzero(moved > 0).tolist():
            if j in rechecked:
                path = rechecked[j]
            else:
                path = self._recovery_path(j, tu, tv, walks, {"fallback_searches": 0.0})
            if path is None or len(path) < 2:
                continue  # the endpoints fell apart in G: no route is left to charge
            a, b = np.minimum(path[:-1], path[1:]), np.maximum(path[:-1], path[1:])
            hw = H.weights(a, b)
            if np.any(hw <= 0):
                continue  # not a path of H (cannot happen for recovery paths): nothing safe to charge
            keys = np.unique(edge_key(a, b))
            self.loads.add(keys, float(moved[j]) * float(tw[j]) * float(np.sum(1.0 / hw)))
            changed.append(keys)
        return np.unique(np.concatenate(changed))

    def _recovery_path(self, j: int, tu: np.ndarray, tv: np.ndarray, walks, stats) -> np.ndarray | None:  # noqa: ANN001
        """Best walk of target ``j``, or the exact lowest-resistance path when no walker arrived."""
        if walks.found[j]:
            path = walks.paths[j, : walks.steps[j] + 1]
        else:
            stats["fallback_searches"] += 1
            path = lowest_resistance_path(self.graph, int(tu[j]), int(tv[j]))
            if path is None:
                return None  # the deleted edge was a bridge of G: H splits exactly as G does
        return erase_loops(path) if self.params.loop_erase else path

    def _recover(self, tu, tv, targets, walks, action, stats):  # noqa: ANN001, ANN202
        """Add every recovery path's edges missing from H, targets in order, paths in walk order.

        Paths live in G, which no longer changes during the run, so they are all known up front and one
        ordered ``add_edges`` call does the work: pairs already in H are rewritten with their (equal) G
        weight, which changes nothing, and the new ones are exactly the recovered edges.
        """
        if len(targets) == 0:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        if walks.found.all() and not self.params.loop_erase:
            a, b, who = _walk_pairs(walks.paths, walks.steps, targets)
            return self._add_recovered(a, b, who, action)
        segs_a: list[np.ndarray] = []
        segs_b: list[np.ndarray] = []
        owner: list[np.ndarray] = []
        for j in range(len(targets)):
            path = self._recovery_path(j, tu, tv, walks, stats)
            if path is None or len(path) < 2:
                continue
            segs_a.append(np.minimum(path[:-1], path[1:]))
            segs_b.append(np.maximum(path[:-1], path[1:]))
            owner.append(np.full(len(path) - 1, targets[j], np.int64))
        if not segs_a:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        return self._add_recovered(np.concatenate(segs_a), np.concatenate(segs_b), np.concatenate(owner), action)

    def _add_recovered(self, a, b, who, action):  # noqa: ANN001, ANN202
        ws = self.graph.weights(a, b)
        new = self.sparsifier.add_edges(a, b, ws, merge=False).astype(bool)
        action[np.unique(who[new])] = RECOVERED
        return a[new], b[new], ws[new]

    def _recover_rechecking(self, tu, tv, tuid, tw, targets, walks, action, stats):  # noqa: ANN001, ANN202
        """Like :meth:`_recover`, but first test each deleted edge in the current H like an insertion and
        skip its recovery when H already offers a path with ``w · R < K``."""
        H, p = self.sparsifier, self.params
        out_a: list[np.ndarray] = []
        out_b: list[np.ndarray] = []
        out_w: list[np.ndarray] = []
        for j in range(len(targets)):
            test = self.backend.insertion(H, tu[j : j + 1], tv[j : j + 1], tw[j : j + 1], tuid[j : j + 1],
                                          seed=p.seed, K=p.K, T=p.steps, W=p.walkers,
                                          first_step_exempt=p.first_step_exempt)
            stats["walker_steps"] += float(test.work.sum())
            if test.found[0]:
                if p.congestion > 0:
                    self._reroutes.append((j, winner_path(H.view(), tu[j], tv[j], tw[j], tuid[j], test, seed=p.seed,
                                                          K=p.K, T=p.steps, first_step_exempt=p.first_step_exempt)))
                continue
            path = self._recovery_path(j, tu, tv, walks, stats)
            if path is None or len(path) < 2:
                continue
            a, b = np.minimum(path[:-1], path[1:]), np.maximum(path[:-1], path[1:])
            ws = self.graph.weights(a, b)
            new = H.add_edges(a, b, ws, merge=False).astype(bool)
            if new.any():
                action[targets[j]] = RECOVERED
                out_a.append(a[new])
                out_b.append(b[new])
                out_w.append(ws[new])
        if not out_a:
            return _EMPTY_I, _EMPTY_I, _EMPTY_F
        return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_w)

    # ------------------------------------------------------------------ replay
    def replay(self, runs: list[Run], n_ops: int) -> None:
        """Redo recorded runs without walking (crash recovery): the same primitive operations in the same
        order, so G, H and every neighbour order come out identical."""
        G, H = self.graph, self.sparsifier
        for run in runs:
            if run.kind == INSERT:
                in_h = H.weights(run.u, run.v) > 0
                G.add_edges(run.u, run.v, run.w, merge=True)
                H.ensure_vertices(G.n)
                if in_h.any():
                    H.add_edges(run.u[in_h], run.v[in_h], run.w[in_h], merge=True)
            else:
                G.remove_edges(run.u, run.v)
                H.remove_edges(run.u, run.v)
            H.add_edges(run.h_added_u, run.h_added_v, run.h_added_w, merge=False)
            if len(run.load_keys):
                self.loads.set(run.load_keys, run.load_vals)
        self.next_uid += n_ops

    # ------------------------------------------------------------------ quality and views
    @property
    def n(self) -> int:
        return self.graph.n

    def density(self) -> float:
        """|E_H| / |V|."""
        return self.sparsifier.m / max(self.graph.n, 1)

    def kappa(self, **kwargs: object) -> float:
        """Relative condition number κ(L_G, L_H) (spec recipe: 1e-6 diagonal shift, λ_max of the pencil)."""
        from sparsewire.engine.quality import kappa  # noqa: PLC0415

        return kappa(self.graph.to_csr(), self.sparsifier.to_csr(), **kwargs)

    def components(self) -> tuple[int, int]:
        """Connected components of (G, H) (isolated vertices count)."""
        return self.graph.components(), self.sparsifier.components()

    def stats(self) -> dict[str, object]:
        return {"n": self.n, "m_G": self.graph.m, "m_H": self.sparsifier.m, "density": self.density(),
                "next_uid": self.next_uid, "backend": self.backend.name, "params": self.params.to_dict()}

    def with_params(self, **changes: object) -> Sparsifier:
        """Same graphs (shared, not copied) under changed parameters."""
        return Sparsifier(self.graph, self.sparsifier, replace(self.params, **changes),  # type: ignore[arg-type]
                          next_uid=self.next_uid, backend=self.backend, max_vertices=self.max_vertices,
                          loads=self.loads)

    def matrices(self) -> tuple[sp.csr_array, sp.csr_array]:
        """Weighted adjacency matrices of G and H."""
        return self.graph.to_csr(), self.sparsifier.to_csr()

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write G, H (with neighbour order), parameters, the update counter and the congestion loads to an
        ``.npz`` file."""
        gd, gn, gw = self.graph.lists()
        hd, hn, hw = self.sparsifier.lists()
        lk, lv = self.loads.items()
        np.savez_compressed(path, n=self.n, g_deg=gd, g_nbr=gn, g_wt=gw, h_deg=hd, h_nbr=hn, h_wt=hw,
                            next_uid=self.next_uid, params=np.array(repr(self.params.to_dict())),
                            load_keys=lk, load_vals=lv)

    @classmethod
    def load(cls, path: str | Path, *, backend: str | WalkBackend = "auto") -> Sparsifier:
        """Inverse of :meth:`save`; the loaded sparsifier continues exactly where the saved one stopped."""
        import ast  # noqa: PLC0415

        with np.load(path, allow_pickle=False) as z:
            n = int(z["n"])
            g = DynamicGraph.from_lists(n, z["g_deg"], z["g_nbr"], z["g_wt"])
            h = DynamicGraph.from_lists(n, z["h_deg"], z["h_nbr"], z["h_wt"])
            params = SparsifierParams(**ast.literal_eval(str(z["params"])))
            loads = EdgeLoads.from_items(z["load_keys"], z["load_vals"]) if "load_keys" in z.files else None
            return cls(g, h, params, next_uid=int(z["next_uid"]), backend=backend, loads=loads)


class _DeltaTracker:
    """Remembers H's weight, at the start of the batch, of every pair the batch touches."""

    def __init__(self, h: DynamicGraph) -> None:
        self.h = h
        self.keys: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []

    def before(self, u: np.ndarray, v: np.ndarray) -> None:
        self.keys.append(u * (2**31) + v)
        self.weights.append(self.h.weights(u, v))

    def appeared(self, u: np.ndarray, v: np.ndarray) -> None:
        """Pairs about to be (or just) added; absent at batch start unless recorded earlier."""
        self.keys.append(u * (2**31) + v)
        self.weights.append(np.zeros(len(u)))

    def delta(self) -> SparsifierDelta:
        keys = np.concatenate(self.keys) if self.keys else _EMPTY_I
        w0 = np.concatenate(self.weights) if self.weights else _EMPTY_F
        keys, first = np.unique(keys, return_index=True)
        w0 = w0[first]
        u, v = keys // (2**31), keys % (2**31)
        w1 = self.h.weights(u, v)
        add = (w0 == 0) & (w1 > 0)
        rem = (w0 > 0) & (w1 == 0)
        rew = (w0 > 0) & (w1 > 0) & (w0 != w1)
        return SparsifierDelta((u[add], v[add], w1[add]), (u[rem], v[rem]), (u[rew], v[rew], w1[rew]))


def _walk_pairs(paths: np.ndarray, steps: np.ndarray, targets: np.ndarray):  # noqa: ANN202
    """Consecutive vertex pairs ``(min, max)`` of every walk, walks in order, and the op owning each pair."""
    cols = np.arange(paths.shape[1] - 1)
    valid = cols[None, :] < steps[:, None]
    a, b = paths[:, :-1][valid], paths[:, 1:][valid]
    who = np.broadcast_to(targets[:, None], valid.shape)[valid]
    return np.minimum(a, b), np.maximum(a, b), who


def _check_edge_list(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
    if not (len(u) == len(v) == len(w)):
        raise InvalidInputError("u, v and w must have the same length")
    if len(u) == 0:
        return
    if min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n:
        raise InvalidInputError(f"vertex ids must lie in [0, {n})")
    if (u == v).any():
        raise InvalidInputError(f"self-loop at edge {int(np.flatnonzero(u == v)[0])}")
    bad = ~(np.isfinite(w) & (w >= MIN_WEIGHT) & (w <= MAX_WEIGHT))
    if bad.any():
        raise InvalidInputError(f"edge {int(np.flatnonzero(bad)[0])} has weight {float(w[bad][0]):g}; "
                                f"weights must be finite and in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}]")
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keys = lo * (2**31) + hi
    if len(np.unique(keys)) != len(keys):
        raise InvalidInputError("duplicate edges in the edge list; merge them first (weights add up)")
