"""Spectral quality of a sparsifier: relative condition number, components, density.

The recipe follows spec §1 (the dyGRASS/inGRASS evaluation): both Laplacians get ``+shift`` on every
diagonal entry, ``L_H`` is factorised once, and the largest generalised eigenvalue of the pencil
``(L_G, L_H)`` is found by Lanczos (ARPACK, mode 2) on the operator ``x -> L_H^{-1} L_G x``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh, splu

__all__ = ["components", "density", "kappa", "laplacian"]


def laplacian(adj: sp.sparray | sp.spmatrix, shift: float = 0.0) -> sp.csc_array:
    r"""Weighted graph Laplacian :math:`L = D - A + \text{shift}\, I`.

    Parameters
    ----------
    adj : scipy sparse (n, n)
        Symmetric weighted adjacency matrix with non-negative entries and no meaningful diagonal
        (a diagonal, if present, is ignored). Duplicate COO entries are summed.
    shift : float
        Added to every diagonal entry; ``shift > 0`` makes ``L`` symmetric positive definite.

    Returns
    -------
    scipy.sparse.csc_array
        ``L`` with :math:`x^T L x = \sum_{(p,q)} w_{pq} (x_p - x_q)^2 + \text{shift}\,\|x\|^2`.

    Notes
    -----
    O(nnz(adj)) time and memory.
    """
    a = sp.csr_array(adj, dtype=np.float64)
    n = a.shape[0]
    if a.shape != (n, n):
        raise ValueError(f"adjacency must be square, got shape {a.shape}")
    a = a - sp.diags_array(a.diagonal(), format="csr")
    d = np.asarray(a.sum(axis=1)).ravel() + float(shift)
    lap = sp.diags_array(d, format="csr") - a
    return sp.csc_array(lap)


def components(adj: sp.sparray | sp.spmatrix) -> int:
    """Number of connected components of the undirected graph ``adj`` (isolated vertices count).

    O(n + nnz) via :func:`scipy.sparse.csgraph.connected_components`.
    """
    n = adj.shape[0]
    if n == 0:
        return 0
    ncomp, _ = connected_components(sp.csr_array(adj), directed=False)
    return int(ncomp)


def density(m_h: int, n: int) -> float:
    """Sparsifier density ``|E_H| / |V|`` (the convention of the tables in spec §8); 0 for ``n == 0``."""
    return float(m_h) / float(n) if n > 0 else 0.0


def kappa(
    g_adj: sp.sparray | sp.spmatrix,
    h_adj: sp.sparray | sp.spmatrix,
    *,
    shift: float = 1e-6,
    tol: float = 1e-6,
    maxiter: int = 3000,
    ncv: int = 20,
) -> float:
    r"""Relative condition number :math:`\kappa(L_G, L_H)` (spec §1 recipe).

    With :math:`L_G = D_G - A_G + \delta I` and :math:`L_H = D_H - A_H + \delta I` (``delta = shift``),
    returns :math:`\lambda_{\max}(L_G, L_H)`, the largest generalised eigenvalue of
    :math:`L_G x = \lambda L_H x`.

    For a sparsifier ``H`` that is a subgraph of ``G`` with equal weights, :math:`L_G \succeq L_H`, so every
    generalised eigenvalue is :math:`\ge 1`, and the all-ones vector has Rayleigh quotient
    :math:`\delta n / \delta n = 1`; hence :math:`\lambda_{\min} = 1` and
    :math:`\kappa = \lambda_{\max}/\lambda_{\min} = \lambda_{\max}`. This is what the dyGRASS/inGRASS
    evaluation reports, and it is what this function returns (``lambda_min`` is *not* computed; for an
    ``H`` that is not a subgraph of ``G`` the value is only ``lambda_max``).

    Method: ``L_H`` is factorised once with SuperLU (``permc_spec="COLAMD"``; near-tree matrices then
    have little fill), and ARPACK's symmetric Lanczos in generalised mode 2 (``eigsh(L_G, M=L_H,
    Minv=solve, which="LA")``) iterates on :math:`L_H^{-1} L_G`, which is self-adjoint in the
    :math:`L_H` inner product. The start vector is fixed (deterministic result), and ``maxiter``
    bounds the restarts; if ARPACK does not converge the best Ritz value found is returned (it is a lower
    bound of :math:`\lambda_{\max}`).

    Parameters
    ----------
    g_adj, h_adj : scipy sparse (n, n)
        Symmetric weighted adjacency matrices of G and H (e.g. ``DynamicGraph.to_csr()``).
    shift : float
        Diagonal shift, default 1e-6 as in the reference evaluation.
    tol : float
        Relative accuracy of the eigenvalue requested from ARPACK.
    maxiter : int
        Maximum number of Arnoldi update iterations.
    ncv : int
        Lanczos basis size.

    Returns
    -------
    float
        :math:`\lambda_{\max}(L_G, L_H)`.

    Notes
    -----
    Cost: one sparse LU of ``L_H`` (near O(n) for near-tree H under COLAMD) plus, per Lanczos step, one
    triangular solve pair and one product with ``L_G`` -- O(nnz(L) + |E_G|) each. On G3_circuit (1.58 M
    vertices, H with 10 % off-tree edges) this is a few seconds of factorisation plus ~0.15 s per step.
    """
    n = g_adj.shape[0]
    if g_adj.shape != (n, n) or h_adj.shape != (n, n):
        raise ValueError(f"shape mismatch: G {g_adj.shape}, H {h_adj.shape}")
    if shift <= 0:
        raise ValueError("shift must be > 0 (the Laplacians are singular otherwise)")
    if n == 0:
        return 1.0
    lg = sp.csr_array(laplacian(g_adj, shift))
    lh = laplacian(h_adj, shift)
    if n <= 2:
        import scipy.linalg as sla

        return float(sla.eigh(lg.toarray(), lh.toarray(), eigvals_only=True)[-1])
    lu = splu(lh, permc_spec="COLAMD")

    def solve(x: np.ndarray) -> np.ndarray:
        return lu.solve(np.asarray(x, dtype=np.float64))

    minv = LinearOperator((n, n), matvec=solve, dtype=np.float64)
    # fixed, deterministic start vector; orthogonal-ish to the all-ones (lambda = 1) direction
    v0 = np.random.default_rng(12345).standard_normal(n)
    v0 -= v0.mean()
    ncv = int(min(max(ncv, 3), n - 1))
    try:
        vals = eigsh(lg, k=1, M=lh, Minv=minv, which="LA", v0=v0, tol=tol, maxiter=maxiter, ncv=ncv,
                     return_eigenvectors=False)
        return float(np.max(vals))
    except ArpackNoConvergence as exc:  # pragma: no cover - bounded iterations, report best estimate
        if len(exc.eigenvalues):
            return float(np.max(exc.eigenvalues))
        raise
