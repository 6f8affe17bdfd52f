"""Observability of hidden agents — the "Trojan horse" check (spec §1.5).

Model: ``x' = -L x``, ``y = C x`` with ``C`` the unit rows of the *visible* agents.  PBH test (Hautus 1969):
observable iff no eigenvector of ``L`` vanishes on every visible agent.

* Symmetric ``L`` (undirected): eigen-decompose (``eigh``), group eigenvalues within ``tol`` into clusters, build
  an orthonormal basis ``U`` of each cluster by modified Gram–Schmidt with re-orthogonalisation, and take the
  null space ``N`` of ``C U`` by SVD; ``U N`` is the unobservable part of that eigenspace.  The unobservable
  subspace is their direct sum; ``unobservable_dim`` its dimension.  ``O(n^3)``.
* Digraphs: orthogonal staircase (Kalman decomposition): ``S_0 = ker C``, ``S_{k+1} = {x in S_k : L x in S_k}``
  until it stops shrinking; ``S`` is the largest ``L``-invariant subspace in ``ker C`` (the unobservable
  subspace), and the modes are the eigenvectors of ``L`` restricted to ``S``.  ``O(n^4)`` worst case.
* Cross-check: Kalman rank ``rank [C; CL; ...; CL^(n-1)]`` for ``n <= 15`` (numerically fragile beyond).
* Explanations: ``k`` interchangeable hidden twins (same neighbours, same weights) create ``k - 1`` unobservable
  directions ``e_a - e_b`` (dual of Rahmani–Ji–Mesbahi–Egerstedt, SIAM J. Control Optim. 2009).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .consensus import consensus
from .graph import DEFAULT_MAX_DENSE_NODES, SignedGraph, clean, conventions, warning
from .laplacians import check_variant, laplacian
from .orthogonal import canonical_sign, mgs

KALMAN_MAX_NODES = 15
SVD_TOL = 1e-8


def _clusters(vals: np.ndarray, tol: float) -> list[np.ndarray]:
    out: list[list[int]] = []
    for i in np.argsort(vals, kind="stable").tolist():
        if out and abs(vals[i] - vals[out[-1][-1]]) <= tol:
            out[-1].append(i)
        else:
            out.append([i])
    return [np.array(c) for c in out]


def unobservable_modes(lap: np.ndarray, visible: np.ndarray, symmetric: bool, tol: float) -> list[dict]:
    """``[{eigenvalue (complex), basis (n x k array)}]`` spanning the unobservable subspace."""
    n = lap.shape[0]
    if n == 0:
        return []
    modes = []
    if symmetric:
        vals, vecs = np.linalg.eigh(lap)
        for idx in _clusters(vals, tol):
            u = mgs(vecs[:, idx])
            cu = u[visible, :]
            if cu.shape[0] == 0:
                null = np.eye(u.shape[1])
            else:
                # only V is needed (k x k): a full U would be |visible| x |visible| per cluster
                _, s, vh = np.linalg.svd(cu, full_matrices=cu.shape[0] < cu.shape[1])
                rank = int((s > SVD_TOL).sum())
                null = vh[rank:].T
            if null.shape[1]:
                modes.append({"eigenvalue": complex(vals[idx].mean()), "basis": mgs(u @ null)})
        return modes
    hidden = np.setdiff1d(np.arange(n), visible)
    q = np.eye(n)[:, hidden]
    while q.shape[1]:
        resid = lap @ q - q @ (q.T @ lap @ q)
        _, s, vh = np.linalg.svd(resid, full_matrices=True)
        rank = int((s > SVD_TOL * max(1.0, tol * 1e9)).sum())
        if rank == 0:
            break
        q = mgs(q @ vh[rank:].T)
    if q.shape[1] == 0:
        return []
    restricted = q.T @ lap @ q
    vals, vecs = np.linalg.eig(restricted)
    groups: list[list[int]] = []
    for i in sorted(range(vals.size), key=lambda j: (vals[j].real, vals[j].imag)):
        if groups and abs(vals[i] - vals[groups[-1][-1]]) <= max(tol, 1e-7):
            groups[-1].append(i)
        else:
            groups.append([i])
    for g in groups:
        v = q @ vecs[:, g]
        modes.append({"eigenvalue": complex(vals[g].mean()), "basis": mgs(np.hstack([v.real, v.imag]))})
    return modes


def kalman_rank(lap: np.ndarray, visible: np.ndarray) -> int:
    """``rank [C; C L; ...; C L^(n-1)]`` with relative SVD threshold (use for ``n <= 15`` only)."""
    n = lap.shape[0]
    if visible.size == 0 or n == 0:
        return 0
    blocks, cur = [], np.eye(n)[visible, :]
    for _ in range(n):
        blocks.append(cur)
        cur = cur @ lap
    s = np.linalg.svd(np.vstack(blocks), compute_uv=False)
    return int((s > 1e-9 * s[0]).sum())


def twin_groups(adj: np.ndarray, hidden: list[int]) -> list[list[int]]:
    """Groups of hidden agents that are pairwise twins (equal rows/columns outside the pair, symmetric pair)."""
    n = adj.shape[0]
    parent = {h: h for h in hidden}

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, a in enumerate(hidden):
        for b in hidden[i + 1:]:
            mask = np.ones(n, dtype=bool)
            mask[[a, b]] = False
            if (adj[a, b] == adj[b, a] and np.array_equal(adj[a, mask], adj[b, mask])
                    and np.array_equal(adj[mask, a], adj[mask, b])):
                parent[find(b)] = find(a)
    groups: dict[int, list[int]] = {}
    for h in hidden:
        groups.setdefault(find(h), []).append(h)
    return [sorted(g) for g in groups.values() if len(g) > 1]


@dataclass(frozen=True)
class ObservabilityResult:
    """Observability of the hidden agents.

    Attributes
    ----------
    observable : bool
    unobservable_dim : int
    unobservable_modes : list of dict
        ``{eigenvalue, eigenvalue_im, basis: [[...] per vector, over all nodes], support: [ids]}``.
    symmetry_explanations : list of dict
        Twin groups of hidden agents: ``{nodes, unobservable_directions, reason}``.
    kalman_rank : int or None
        For ``n <= 15``.
    influence_share : float or None
        Share of the hidden agents in the consensus value (left null vector, simple zero eigenvalue).
    """

    observable: bool
    unobservable_dim: int
    unobservable_modes: list
    symmetry_explanations: list
    kalman_rank: int | None
    influence_share: float | None
    hidden: list
    visible: list
    method: str
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def resolve_visible(graph: SignedGraph, hidden: Any, visible: Any) -> tuple[list[int], np.ndarray]:
    if hidden is not None and visible is not None:
        raise InvalidInputError("give either 'hidden' or 'visible', not both")
    if visible is not None:
        vis = graph.indices_of(visible, "visible")
        hid = [k for k in range(graph.n) if k not in set(vis)]
    else:
        hid = graph.indices_of(hidden or [], "hidden")
        hs = set(hid)
        vis = [k for k in range(graph.n) if k not in hs]
    return sorted(hid), np.array(sorted(vis), dtype=np.int64)


def observability(
    graph: SignedGraph,
    *,
    hidden: Any = None,
    visible: Any = None,
    variant: str = "opposing",
    max_nodes: int = DEFAULT_MAX_DENSE_NODES,
) -> ObservabilityResult:
    """PBH / staircase observability of ``x' = -L x`` from the visible agents (spec §1.5)."""
    check_variant(variant)
    graph.require_dense(max_nodes, "observability")
    warns = list(graph.warnings)
    tol = graph.tolerance()
    hid, vis = resolve_visible(graph, hidden, visible)
    lap = laplacian(graph, variant)
    symmetric = not graph.directed
    modes = unobservable_modes(lap, vis, symmetric, tol)
    dim = int(sum(m["basis"].shape[1] for m in modes))
    out_modes = []
    for m in modes:
        basis = [canonical_sign(b) for b in m["basis"].T]
        support = np.flatnonzero(np.max(np.abs(np.array(basis)), axis=0) > 1e-8)
        lam = m["eigenvalue"]
        out_modes.append({"eigenvalue": clean(lam.real, tol), "eigenvalue_im": clean(lam.imag, tol),
                          "basis": [[clean(x, 1e-12) for x in b] for b in basis],
                          "support": graph.id_list(support)})
    krank = None
    if graph.n <= KALMAN_MAX_NODES:
        krank = kalman_rank(lap, vis)
        if graph.n - krank != dim:
            warns.append(warning("kalman_mismatch", f"Kalman rank gives {graph.n - krank} unobservable "
                                 f"dimension(s), the eigenspace method {dim}"))
    adj = graph.adjacency()
    explanations = []
    if len(hid) <= 500:
        for g in twin_groups(adj, hid):
            explanations.append({"nodes": graph.id_list(g), "unobservable_directions": len(g) - 1,
                                 "reason": f"{len(g)} hidden twins (same neighbours and weights) give {len(g) - 1} "
                                           "unobservable direction(s) e_a - e_b"})
    else:
        warns.append(warning("twins_skipped", "twin search skipped (more than 500 hidden agents)"))
    share = None
    if hid:
        share = consensus(graph, variant=variant, hidden=graph.id_list(hid), max_nodes=max_nodes).influence_share
    return ObservabilityResult(
        observable=dim == 0, unobservable_dim=dim, unobservable_modes=out_modes,
        symmetry_explanations=explanations, kalman_rank=krank, influence_share=share,
        hidden=graph.id_list(hid), visible=graph.id_list(vis),
        method="pbh_eigenspace_mgs" if symmetric else "orthogonal_staircase",
        warnings=tuple(warns), conventions=conventions(graph, variant, output="y = C x, C = unit rows of visible"),
    )
