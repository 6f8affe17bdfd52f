"""Rank-one edge and grounding suggestions with predicted and exact eigenvalue shifts (spec §1.6).

Adding the undirected edge ``{u, v}`` with signed weight ``w`` changes the opposing Laplacian by
``Delta = |w| b b'``, ``b = e_u - sign(w) e_v`` (rank one, PSD); a directed edge ``v -> u`` gives
``Delta = |w| e_u b'``; grounding agent ``r`` gives ``Delta = kappa e_r e_r'``.

First-order shifts (standard perturbation theory): simple symmetric eigenvalue with unit eigenvector ``x``:
``x' Delta x``; a degenerate cluster with orthonormal (Gram–Schmidt) basis ``U`` moves by the eigenvalues of
``U' Delta U`` — for rank-one ``Delta`` only one copy moves, by ``|w| ||U' b||^2`` (Weyl interlacing: a
``k``-fold eigenvalue keeps multiplicity ``>= k - 1``, so breaking a ``k``-fold symmetry needs ``k - 1`` updates).
Non-symmetric, right/left bases ``R``, ``Λ``: eigenvalues of ``(Λ' R)^-1 Λ' Delta R``.  The zero mode of a
balanced graph moves iff the edge contradicts the camps (``b' sigma = ±2``, shift ``≈ 4|w|/n``); grounding moves
it by ``≈ kappa / n`` (undirected).  Repelling variant, one negative edge: Zelazo–Bürger (CDC 2014) threshold
``w <= 1 / R_eff(u, v)``.

Every candidate's first-order shift is computed (``O(n k)`` each: ``Delta`` touches one or two rows); the exact
shift needs a dense eigen-decomposition, ``O(n^3)``, so for ``stabilize`` and ``break_symmetry`` only the
:data:`EXACT_CANDIDATES` (at least ``8 * top_k``) with the largest first-order shift are decomposed and ranked
by their exact effect; ``observe`` (whose score, the unobservable dimension, has no first-order estimate)
decomposes every candidate.  ``n <= 500``, at most 2,000 candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .balance import structural_balance
from .consensus import consensus
from .graph import SignedGraph, clean, conventions, warning
from .laplacians import check_variant, laplacian, laplacian_rows
from .observability import _clusters, resolve_visible, unobservable_modes
from .orthogonal import mgs

MAX_NODES = 500
MAX_CANDIDATES = 2000
EXACT_CANDIDATES = 64
GOALS = ("stabilize", "observe", "break_symmetry")


def _eigs(lap: np.ndarray, symmetric: bool) -> np.ndarray:
    if symmetric:
        return np.linalg.eigvalsh(lap).astype(complex)
    v = np.linalg.eigvals(lap)
    return v[np.lexsort((v.imag, v.real))]


def _metrics(lap: np.ndarray, symmetric: bool, tol: float, visible: np.ndarray | None) -> dict[str, Any]:
    eigs = _eigs(lap, symmetric)
    clusters = _clusters(eigs.real, tol) if symmetric else [np.array([i]) for i in range(eigs.size)]
    out = {"min_re": clean(eigs.real.min(), tol) if eigs.size else None,
           "zero_multiplicity": int((np.abs(eigs) <= tol).sum()),
           "max_multiplicity": max((c.size for c in clusters), default=0),
           "repeated_copies": int(sum(c.size - 1 for c in clusters))}
    if visible is not None:
        modes = unobservable_modes(lap, visible, symmetric, tol)
        out["unobservable_dim"] = int(sum(m["basis"].shape[1] for m in modes))
    return out, eigs


def _target_cluster(lap: np.ndarray, symmetric: bool, tol: float, goal: str, visible) -> tuple[np.ndarray, Any]:
    """Indices (in sorted order) and basis data of the eigenvalue cluster the goal is about."""
    if symmetric:
        vals, vecs = np.linalg.eigh(lap)
        clusters = _clusters(vals, tol)
        pick = clusters[0]
        if goal == "break_symmetry":
            pick = max(clusters, key=lambda c: (c.size, -c[0]))
        elif goal == "observe" and visible is not None:
            for c in clusters:
                u = mgs(vecs[:, c])
                if u[visible, :].size == 0 or np.linalg.svd(u[visible, :], compute_uv=False).min() < 1e-8 \
                        or u[visible, :].shape[0] < u.shape[1]:
                    pick = c
                    break
        return pick, mgs(vecs[:, pick])
    vals, right = np.linalg.eig(lap)
    order = np.lexsort((vals.imag, vals.real))
    vals, right = vals[order], right[:, order]
    pick = np.array([0])
    lvals, left = np.linalg.eig(lap.T)
    j = int(np.argmin(np.abs(lvals - vals[0])))
    return pick, (right[:, [0]], left[:, [j]])


def _changed_rows(adj: np.ndarray, lap: np.ndarray, cand: tuple, symmetric: bool,
                  variant: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``L`` a candidate changes and their new values (every other row stays)."""
    kind, a, b, w = cand
    if kind == "ground":
        rows = np.array([a])
        new = lap[rows].copy()
        new[0, a] += w
        return rows, new
    rows = np.array([b, a]) if symmetric else np.array([b])
    a_rows = adj[rows].copy()
    a_rows[0, a] += w  # a -> b: b listens to a
    if symmetric:
        a_rows[1, b] += w
    return rows, laplacian_rows(a_rows, rows, variant)


def _first_order(rows: np.ndarray, delta_rows: np.ndarray, symmetric: bool, basis: Any) -> float:
    """Largest first-order shift of the target cluster under ``Delta`` (non-zero only in ``rows``)."""
    if symmetric:
        m = basis[rows].T @ (delta_rows @ basis)
        return float(np.linalg.eigvalsh((m + m.T) / 2).max())
    r, lft = basis
    m = np.linalg.solve(lft.T @ r, lft[rows].T @ (delta_rows @ r))
    return float(np.linalg.eigvals(m).real.max())


@dataclass(frozen=True)
class PerturbationResult:
    """Ranked suggestions.

    Attributes
    ----------
    suggestions : list of dict
        ``{kind: "edge"|"ground", edge: {source, target} | ground: id, weight, before, after, predicted_shift,
        exact_shift, score, regime_after, unobservable_dim_after}``, best first.
    note : str
        Multiplicity note (a ``k``-fold eigenvalue needs ``k - 1`` rank-one updates).
    updates_needed : int
    """

    goal: str
    suggestions: list
    before: dict
    note: str
    updates_needed: int
    candidates_evaluated: int
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _candidates(graph: SignedGraph, allowed_pairs, hidden_idx: list[int], lap, symmetric, tol, visible):
    n = graph.n
    if allowed_pairs is not None:
        pairs = []
        for k, pr in enumerate(allowed_pairs):
            if not isinstance(pr, (list, tuple)) or len(pr) != 2:
                raise InvalidInputError(f"allowed_pairs[{k}] must be a pair [source, target]")
            a, b = graph.index_of(pr[0], f"allowed_pairs[{k}]"), graph.index_of(pr[1], f"allowed_pairs[{k}]")
            if a == b:
                raise InvalidInputError(f"allowed_pairs[{k}]: self-loops are not interactions")
            pairs.append((a, b))
        return pairs
    focus = set(hidden_idx)
    if visible is not None:
        for m in unobservable_modes(lap, visible, symmetric, tol):
            focus |= set(np.flatnonzero(np.abs(m["basis"]).max(axis=1) > 1e-8).tolist())
    pairs = []
    for a in range(n):
        for b in range(n):
            if a == b or (not graph.directed and b < a):
                continue
            if focus and a not in focus and b not in focus:
                continue
            pairs.append((a, b))
    return pairs


def suggest_perturbations(
    graph: SignedGraph,
    *,
    goal: str = "stabilize",
    hidden: Any = None,
    allowed_pairs: Any = None,
    weight_grid: Any = (0.1, 0.5, 1.0),
    sign: int | None = None,
    top_k: int = 5,
    ground: bool = False,
    variant: str = "opposing",
    max_nodes: int = MAX_NODES,
    max_candidates: int = MAX_CANDIDATES,
) -> PerturbationResult:
    """Rank rank-one edge additions/reweightings (and groundings if ``ground``) for ``goal``.

    Parameters
    ----------
    goal : {"stabilize", "observe", "break_symmetry"}
        ``stabilize``: raise the smallest ``Re`` (the zero/slowest mode); ``observe``: lower
        ``unobservable_dim`` (needs ``hidden``); ``break_symmetry``: split repeated eigenvalues.
    allowed_pairs : list of [source, target], optional
        Default: every pair touching a hidden agent or an unobservable mode's support (all pairs if none).
    weight_grid : list of float
        Magnitudes tried (also the grounding strengths ``kappa``).
    sign : {+1, -1, None}
        ``None``: for ``stabilize`` on a balanced graph, the sign that contradicts the camps
        (``-sigma_u sigma_v``, the only kind that moves the zero mode), else ``+1``.
    """
    if goal not in GOALS:
        raise InvalidInputError(f"goal must be one of {GOALS}, got {goal!r}")
    check_variant(variant)
    graph.require_dense(max_nodes, "perturbation")
    grid = [float(x) for x in weight_grid]
    if not grid or any(not (x > 0 and np.isfinite(x)) for x in grid):
        raise InvalidInputError("weight_grid must be a non-empty list of positive finite magnitudes")
    if sign not in (None, 1, -1):
        raise InvalidInputError("sign must be +1, -1 or null")
    if goal == "observe" and hidden is None:
        raise InvalidInputError("goal 'observe' needs 'hidden'")
    warns = list(graph.warnings)
    tol = graph.tolerance()
    symmetric = not graph.directed
    hid, vis = resolve_visible(graph, hidden, None) if hidden is not None else ([], None)
    adj = graph.adjacency()
    lap = laplacian(graph, variant)
    before, eigs0 = _metrics(lap, symmetric, tol, vis)
    pick, basis = _target_cluster(lap, symmetric, tol, goal, vis)
    bal = structural_balance(graph, frustration="none")
    sigma = np.array(bal.signature)
    pairs = _candidates(graph, allowed_pairs, hid, lap, symmetric, tol, vis)
    cands: list[tuple] = []
    for a, b in pairs:
        s = sign if sign is not None else (-int(sigma[a] * sigma[b]) if goal == "stabilize" and bal.balanced else 1)
        cands.extend(("edge", a, b, s * w) for w in grid)
    if ground:
        cands.extend(("ground", r, r, w) for r in range(graph.n) for w in grid)
    if len(cands) > max_candidates:
        warns.append(warning("candidates_truncated", f"{len(cands)} candidates, evaluated the first "
                             f"{max_candidates}", count=len(cands)))
        cands = cands[:max_candidates]
    old = np.sort(eigs0.real)
    changes = [_changed_rows(adj, lap, c, symmetric, variant) for c in cands]
    preds = [_first_order(rows, new_rows - lap[rows], symmetric, basis) for rows, new_rows in changes]
    exact_set = range(len(cands))
    limit = max(EXACT_CANDIDATES, 8 * int(top_k))
    if goal != "observe" and len(cands) > limit:
        exact_set = sorted(sorted(range(len(cands)), key=lambda i: (-round(preds[i], 12), i))[:limit])
    scored = []
    for idx in exact_set:
        kind, a, b, w = cands[idx]
        rows, new_rows = changes[idx]
        new_lap = lap.copy()
        new_lap[rows] = new_rows
        after, eigs1 = _metrics(new_lap, symmetric, tol, vis if goal == "observe" else None)
        new = np.sort(eigs1.real)
        exact = float(np.max(new[pick] - old[pick])) if symmetric else float(new[0] - old[0])
        pred = preds[idx]
        if goal == "stabilize":
            score = (after["min_re"] or 0.0) - (before["min_re"] or 0.0)
        elif goal == "observe":
            score = before["unobservable_dim"] - after["unobservable_dim"] + 1e-6 * exact
        else:
            score = before["repeated_copies"] - after["repeated_copies"] + 1e-6 * exact
        scored.append((-round(score, 12), idx, kind, a, b, w, after, pred, exact))
    scored.sort(key=lambda t: (t[0], t[1]))
    ids = graph.ids
    out = []
    for neg, _idx, kind, a, b, w, after, pred, exact in scored[:max(0, int(top_k))]:
        item: dict[str, Any] = {"kind": kind, "weight": w, "before": before, "after": after,
                                "predicted_shift": clean(pred, tol), "exact_shift": clean(exact, tol),
                                "score": -neg}
        if kind == "edge":
            item["edge"] = {"source": ids[a], "target": ids[b]}
            g2 = SignedGraph.from_arrays(graph.n, np.append(graph.src, a), np.append(graph.dst, b),
                                         np.append(graph.weight, w), directed=graph.directed, ids=ids)
            item["regime_after"] = consensus(g2, variant=variant).regime
            if vis is not None:
                new_lap = laplacian(g2, variant)
                item["unobservable_dim_after"] = int(sum(m["basis"].shape[1] for m in
                                                         unobservable_modes(new_lap, vis, symmetric, tol)))
        else:
            item["ground"] = ids[a]
            item["regime_after"] = "grounded" if after["zero_multiplicity"] == 0 else "not_grounded"
        out.append(item)
    k = int(pick.size)
    note = (f"the target eigenvalue has multiplicity {k}; one rank-one update splits off at most one copy, so "
            f"{max(k - 1, 0)} independent update(s) are needed to break the symmetry completely"
            if k > 1 else "the target eigenvalue is simple; one rank-one update can move it")
    return PerturbationResult(goal, out, before, note, max(k - 1, 0), len(cands), tuple(warns),
                              conventions(graph, variant, target_eigenvalue=clean(float(old[pick].mean()), tol)
                                          if old.size else None, exact_evaluations=len(exact_set)))
