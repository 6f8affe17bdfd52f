"""Observability of hidden agents — the "Trojan horse" check (spec §1.5).

Model: ``x' = -L x``, ``y = C x`` with ``C`` the unit rows of the *visible* agents.  PBH test (Hautus 1969):
observable iff no eigenvector of ``L`` vanishes on every visible agent.

* Symmetric ``L`` (undirected): eigen-decompose (``eigh``), group eigenvalues within ``tol`` into clusters, build
  an orthonormal basis ``U`` of each cluster by modified Gram–Schmidt with re-orthogonalisation, and take the
  null space ``N`` of ``C U`` by SVD; ``U N`` is the unobservable part of that eigenspace.  The unobservable
  subspace is their direct sum; ``unobservable_dim`` its dimension.  ``O(n^3)``.
* Digraphs: orthogonal staircase (Kalman decomposition): ``S_0 = ker C``, ``S_{k+1} = {x in S_k : L x in S_k}``
  until it stops shrinking; ``S`` is the largest ``L``-invariant subspace in ``ker C`` (the unobservable
  subspace) and ``unobservable_dim = dim S`` (``= n - `` Kalman rank).  The modes split ``S`` by the eigenvalues
  of ``L`` restricted to ``S``, as a real Schur form does: one real invariant subspace per real eigenvalue
  (its full algebraic multiplicity, also when defective), one 2-column real basis per complex-conjugate pair
  (reported once, with ``eigenvalue_im > 0``).  ``O(n^4)`` worst case.
* Cross-check: Kalman rank ``rank [C; CL; ...; CL^(n-1)]`` for ``n <= 15`` (numerically fragile beyond).
* Explanations: ``k`` interchangeable hidden twins (same neighbours, same weights) create ``k - 1`` unobservable
  directions ``e_a - e_b`` (dual of Rahmani–Ji–Mesbahi–Egerstedt, SIAM J. Control Optim. 2009).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import schur

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
    """``[{eigenvalue (complex), basis (n x k array)}]`` spanning the unobservable subspace.

    The bases' widths sum to the unobservable dimension (eigenspaces of a symmetric ``L`` are orthogonal; for a
    digraph the modes are a direct-sum decomposition of the staircase subspace, see :func:`_invariant_modes`).
    """
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
    q = unobservable_subspace(lap, visible, tol)
    return _invariant_modes(q.T @ lap @ q, q, tol) if q.shape[1] else []


def unobservable_subspace(lap: np.ndarray, visible: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis (``n x k``) of the largest ``L``-invariant subspace in ``ker C`` (orthogonal staircase).

    ``k = n - rank [C; CL; ...; CL^(n-1)]`` is the unobservable dimension (any ``L``, symmetric or not).
    """
    n = lap.shape[0]
    hidden = np.setdiff1d(np.arange(n), visible)
    q = np.eye(n)[:, hidden]
    while q.shape[1]:
        resid = lap @ q - q @ (q.T @ lap @ q)
        _, s, vh = np.linalg.svd(resid, full_matrices=True)
        rank = int((s > SVD_TOL * max(1.0, tol * 1e9)).sum())
        if rank == 0:
            break
        q = mgs(q @ vh[rank:].T)
    return q


def _eigen_groups(vals: np.ndarray, gtol: float) -> list[np.ndarray]:
    """Clusters of eigenvalues: runs of real parts with gaps ``<= gtol``, split where sorted imaginary parts
    jump by more than ``gtol``.  ``O(k log k)``; conjugation maps clusters to clusters."""
    order = np.argsort(vals.real, kind="stable")
    cuts = np.flatnonzero(np.diff(vals.real[order]) > gtol) + 1
    groups = []
    for run in np.split(order, cuts):
        run = run[np.argsort(vals.imag[run], kind="stable")]
        groups.extend(np.split(run, np.flatnonzero(np.diff(vals.imag[run]) > gtol) + 1))
    return groups


def _invariant_modes(restricted: np.ndarray, q: np.ndarray, tol: float) -> list[dict]:
    """Modes of ``L`` restricted to the invariant subspace ``span(q)`` (``restricted = q' L q``).

    One mode per cluster of eigenvalues: a real cluster gives a real invariant subspace of its algebraic
    multiplicity; a complex-conjugate pair of clusters gives *one* mode (the ``Im > 0`` representative) with a
    real basis of twice the multiplicity, as in a real Schur form.  The basis comes from the eigenvectors when
    they span the cluster's invariant subspace; a defective (Jordan) cluster takes the leading vectors of a real
    Schur form reordered to put the cluster first.  A defective eigenvalue of multiplicity ``m`` is computed
    split by about ``eps^(1/m)``: when the clusters' bases come out (nearly) dependent the clustering is retried
    coarser.  The bases' widths always sum to ``q.shape[1]``.
    """
    k = restricted.shape[0]
    vals, vecs = np.linalg.eig(restricted)
    scale = max(1.0, float(np.abs(restricted).sum(axis=1).max()))
    for gtol in (max(tol, 1e-7 * scale), 1e-5 * scale, 1e-3 * scale):
        modes = _cluster_modes(restricted, vals, vecs, gtol)
        if modes is not None and sum(b.shape[1] for _, b in modes) == k:
            s = np.linalg.svd(np.hstack([b for _, b in modes]), compute_uv=False)
            if s[-1] > 1e-6 * s[0]:
                return [{"eigenvalue": lam, "basis": q @ b} for lam, b in modes]
    return _schur_block_modes(restricted, q)


def _cluster_modes(restricted: np.ndarray, vals: np.ndarray, vecs: np.ndarray,
                   gtol: float) -> list[tuple[complex, np.ndarray]] | None:
    """``[(eigenvalue, orthonormal basis in q-coordinates)]`` per cluster, or ``None`` if a cluster fails."""
    out = []
    for grp in _eigen_groups(vals, gtol):
        centre = complex(vals[grp].mean())
        self_conj = abs(centre.imag) < gtol / 4  # conjugation maps a cluster to itself or to a disjoint one
        if not self_conj and centre.imag < 0:
            continue  # the conjugate cluster carries this pair
        want = grp.size if self_conj else 2 * grp.size
        v = vecs[:, grp]
        u, s, _ = np.linalg.svd(np.hstack([v.real, v.imag]), full_matrices=False)
        if s.size >= want and s[want - 1] > 1e-6 * s[0] and (s.size == want or s[want] <= 1e-8 * s[0]):
            basis = u[:, :want]
        else:  # defective: the cluster's spectral subspace from a reordered real Schur form
            members = vals[grp] if self_conj else np.concatenate([vals[grp], vals[grp].conj()])
            try:
                _, z, sdim = schur(restricted, output="real",
                                   sort=lambda re, im, m=members: bool(np.abs(m - complex(re, im)).min() <= gtol))
            except (np.linalg.LinAlgError, ValueError):
                return None
            if sdim != want:
                return None
            basis = z[:, :want]
        out.append((complex(centre.real, 0.0) if self_conj else centre, basis))
    return out


def _schur_block_modes(restricted: np.ndarray, q: np.ndarray) -> list[dict]:
    """Fallback (not observed): one mode per diagonal block of the real Schur form, in Schur order; the first
    block's vectors are invariant, each later block completes the invariant flag."""
    t, z = schur(restricted, output="real")
    k, i, modes = t.shape[0], 0, []
    while i < k:
        size = 2 if i + 1 < k and t[i + 1, i] != 0 else 1
        lam = np.linalg.eigvals(t[i:i + size, i:i + size])
        modes.append({"eigenvalue": complex(lam[np.argmax(lam.imag)]), "basis": q @ z[:, i:i + size]})
        i += size
    return modes


def kalman_rank(lap: np.ndarray, visible: np.ndarray) -> int:
    """``rank [C; C L; ...; C L^(n-1)]`` with relative SVD threshold after scaling every row to unit norm (use for
    ``n <= 15`` only)."""
    n = lap.shape[0]
    if visible.size == 0 or n == 0:
        return 0
    blocks, cur = [], np.eye(n)[visible, :]
    for _ in range(n):
        blocks.append(cur)
        cur = cur @ lap
    mat = np.vstack(blocks)
    norms = np.linalg.norm(mat, axis=1)
    mat = mat[norms > 0] / norms[norms > 0, None]  # rows of C L^j grow like ||L||^j: equilibrate (same rank)
    if mat.shape[0] == 0:
        return 0
    s = np.linalg.svd(mat, compute_uv=False)
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
