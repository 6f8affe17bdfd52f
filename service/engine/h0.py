"""Initial sparsifier H0 (GRASS-style): spanning forest + spectrally critical off-tree edges.

Method (spec §7, "GRASS (our summary)"):

1. **Spanning forest** T: a maximum spanning forest of G under randomly perturbed weights
   ``w_e * r_e`` with ``r_e ~ U(0.5, 1.5)`` (on unit-weight graphs this is a random spanning tree; on
   weighted graphs it still prefers heavy, i.e. low-resistance, edges). A plain max-weight tree on unit
   weights is a poor (high-stretch) tree, see the measurements in the issue.
2. **Rounds of spectral ranking.** The off-tree budget ``B = round(offtree_ratio * n)`` is spent in
   ``rounds`` rounds. In each round ``L_H`` (+1e-6 shift) is factorised once (SuperLU, COLAMD ordering:
   near-tree matrices factor with little fill) and ``power_steps`` generalised power iterations
   ``X <- L_H^{-1} L_G X`` are run on ``n_vectors`` random vectors at once (many right-hand sides per
   factorisation). The factors are re-used as ``P L_H P^T = L D L^T`` (no pivoting happens: ``L_H`` is
   strictly diagonally dominant) by numba kernels that sweep all right-hand sides together in row-major
   layout, two column blocks in parallel; ``L_G X`` is a parallel row-major product as well. On G3_circuit
   this halves the solve time and cuts the product ~5x against ``SuperLU.solve`` / ``scipy @``; the
   arithmetic is the same up to summation order (the previous pure-scipy loop gave the same kappa on
   fe_4elt2, 88.59, and on G3_circuit with 16 rounds, 93.64). Columns are scaled to unit ``L_H``-norm, so an
   edge's score ``s_pq = w_pq * sum_k (X_pk - X_qk)^2`` is its share of the Rayleigh quotients ``x^T L_G x / x^T L_H x``
   of the dominant generalised eigenvectors ("spectral criticality").
3. **Similarity marking.** Candidates are taken in decreasing score; after an edge is taken its endpoints
   and their G-neighbours are marked, and an edge whose endpoints are *both* already marked in this round
   is skipped (it would mostly fix the same eigenvector). The last round ignores the marks so that the
   budget is spent.

Everything is deterministic for a given ``seed`` (numpy ``default_rng``; SuperLU is deterministic).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.sparse.linalg import splu

from sparsewire.errors import InvalidInputError

__all__ = ["default_rounds", "initial_sparsifier", "spanning_forest"]

_SHIFT = 1e-6


def default_rounds(n: int) -> int:
    """Number of ranking rounds used when ``rounds=None``.

    A round costs one factorisation of ``L_H`` and a few solves, roughly linear in ``n``, and more rounds rank
    the off-tree edges against a sparsifier closer to the final one.  Small graphs get about 1.8 M vertex-rounds
    (160 rounds at most, 40 at least: fe_4elt2 with 11k vertices gets 160, building in 2.6 s with κ(G, H0)
    67.8-71.7 over seeds 0-4, against 85.5-94.3 at 40 rounds); 40 rounds up to 250k vertices; beyond that
    the per-round factorisation dominates, so the count falls like ``1/n`` (floor 8).  Measured on G3_circuit
    (1.58M vertices, 2 cores): 12 rounds (the default there) build in 59 s with κ = 115.3 at 10 % off-tree;
    16 rounds give κ = 93.6 but take over 2 minutes on a loaded machine.
    """
    if n <= 250_000:
        return min(160, max(40, round(1_800_000 / max(n, 1))))
    return max(8, min(40, round(19_000_000 / n)))


def spanning_forest(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Bool mask of a maximum spanning forest of G under the weights ``w * U(0.5, 1.5)``.

    O(m log m) (Kruskal/Prim in :func:`scipy.sparse.csgraph.minimum_spanning_tree`).
    """
    m = u.shape[0]
    mask = np.zeros(m, dtype=bool)
    if m == 0:
        return mask
    rng = np.random.default_rng([int(seed), 0x7EE])
    key = w * (0.5 + rng.random(m))
    # minimise 1/key  <=>  maximise key; strictly positive so csgraph keeps every edge
    cost = 1.0 / key
    t = minimum_spanning_tree(sp.csr_array((cost, (u, v)), shape=(n, n))).tocoo()
    a = np.minimum(t.row, t.col).astype(np.int64)
    b = np.maximum(t.row, t.col).astype(np.int64)
    keys = u * np.int64(n) + v
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys, a * np.int64(n) + b, sorter=order)
    mask[order[pos]] = True
    return mask


@njit(cache=True, nogil=True)
def _select(cand, us, vs, indptr, indices, n, k, use_marks):  # noqa: ANN001
    """Take up to ``k`` of ``cand`` (edge ids, best first) with 1-hop similarity marking."""
    marked = np.zeros(n, dtype=np.bool_)
    out = np.empty(k, dtype=np.int64)
    c = 0
    for i in range(cand.shape[0]):
        if c >= k:
            break
        e = cand[i]
        p = us[e]
        q = vs[e]
        if use_marks and marked[p] and marked[q]:
            continue
        out[c] = e
        c += 1
        for x in (p, q):
            marked[x] = True
            for j in range(indptr[x], indptr[x + 1]):
                marked[indices[j]] = True
    return out[:c]


@njit(cache=True, nogil=True)
def _split_factors(n, l_ptr, l_idx, l_val, u_ptr, u_idx, u_val):  # noqa: ANN001
    """SuperLU's L (unit diagonal stored) and U of a symmetric, diagonally dominant L_H -> strict L and D.

    With no pivoting (diagonal dominance keeps ``perm_r == perm_c``), ``U = D L^T``, so only the strictly
    lower part of ``L`` and the diagonal of ``U`` are needed.
    """
    lp = np.zeros(n + 1, np.int64)
    for j in range(n):
        c = 0
        for p in range(l_ptr[j], l_ptr[j + 1]):
            if l_idx[p] != j:
                c += 1
        lp[j + 1] = lp[j] + c
    li = np.empty(lp[n], np.int64)
    lx = np.empty(lp[n], np.float64)
    d = np.zeros(n, np.float64)
    for j in range(n):
        t = lp[j]
        for p in range(l_ptr[j], l_ptr[j + 1]):
            if l_idx[p] != j:
                li[t] = l_idx[p]
                lx[t] = l_val[p]
                t += 1
        for p in range(u_ptr[j], u_ptr[j + 1]):
            if u_idx[p] == j:
                d[j] = u_val[p]
    return lp, li, lx, d


@njit(parallel=True, cache=True, nogil=True)
def _ldl_solve(lp, li, lx, d, q, b, nblocks):  # noqa: ANN001
    """Solve ``L_H X = B`` for row-major ``B`` (n, nv) given ``P L_H P^T = L D L^T`` (``B[q]`` is ``P B``).

    The right-hand sides are split into ``nblocks`` column blocks, one thread each; each thread runs the
    whole forward/backward sweep on its block (rows of the block are contiguous in memory).
    """
    n, nv = b.shape
    y = np.empty_like(b)
    out = np.empty_like(b)
    for blk in prange(nblocks):
        c0 = blk * nv // nblocks
        c1 = (blk + 1) * nv // nblocks
        for k in range(n):
            for c in range(c0, c1):
                y[k, c] = b[q[k], c]
        for j in range(n):
            for p in range(lp[j], lp[j + 1]):
                i = li[p]
                a = lx[p]
                for c in range(c0, c1):
                    y[i, c] -= a * y[j, c]
        for j in range(n):
            dj = 1.0 / d[j]
            for c in range(c0, c1):
                y[j, c] *= dj
        for j in range(n - 1, -1, -1):
            for p in range(lp[j], lp[j + 1]):
                i = li[p]
                a = lx[p]
                for c in range(c0, c1):
                    y[j, c] -= a * y[i, c]
        for k in range(n):
            for c in range(c0, c1):
                out[q[k], c] = y[k, c]
    return out


@njit(parallel=True, cache=True, nogil=True)
def _spmm(indptr, indices, data, x):  # noqa: ANN001
    """``A @ X`` for CSR ``A`` and row-major ``X`` (n, nv), parallel over rows."""
    n, nv = x.shape
    out = np.zeros((indptr.shape[0] - 1, nv), np.float64)
    for i in prange(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            a = data[p]
            for c in range(nv):
                out[i, c] += a * x[j, c]
    return out


@njit(cache=True, nogil=True)
def _colmax_normalise(x):  # noqa: ANN001
    n, nv = x.shape
    mx = np.zeros(nv, np.float64)
    for i in range(n):
        for c in range(nv):
            a = abs(x[i, c])
            if a > mx[c]:
                mx[c] = a
    for c in range(nv):
        if mx[c] > 0.0:
            mx[c] = 1.0 / mx[c]
        else:
            mx[c] = 1.0
    for i in range(n):
        for c in range(nv):
            x[i, c] *= mx[c]


@njit(parallel=True, cache=True, nogil=True)
def _scores(x, u, v, w, mask, shift):  # noqa: ANN001
    """Spectral criticality of every off-H edge (0 for H edges).

    Columns are weighted by ``1 / x_c^T L_H x_c`` so that ``score_e = sum_c w_e (x_pc - x_qc)^2 / x_c^T L_H x_c``
    is edge e's share of the Rayleigh quotients of the (approximate) dominant generalised eigenvectors.
    """
    n, nv = x.shape
    m = u.shape[0]
    den = np.zeros(nv, np.float64)
    for e in range(m):  # serial: deterministic summation order
        if mask[e]:
            p = u[e]
            q = v[e]
            for c in range(nv):
                t = x[p, c] - x[q, c]
                den[c] += w[e] * t * t
    for i in range(n):
        for c in range(nv):
            den[c] += shift * x[i, c] * x[i, c]
    for c in range(nv):
        den[c] = 1.0 / max(den[c], 1e-300)
    s = np.zeros(m, np.float64)
    for e in prange(m):
        if not mask[e]:
            p = u[e]
            q = v[e]
            acc = 0.0
            for c in range(nv):
                t = x[p, c] - x[q, c]
                acc += t * t * den[c]
            s[e] = w[e] * acc
    return s


def _laplacian(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csc_array:
    a = sp.csr_array((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    d = np.asarray(a.sum(axis=1)).ravel() + _SHIFT
    return sp.csc_array(sp.diags_array(d, format="csr") - a)


def initial_sparsifier(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    *,
    offtree_ratio: float = 0.10,
    seed: int = 0,
    rounds: int | None = None,
    power_steps: int = 4,
    n_vectors: int = 16,
) -> np.ndarray:
    """Initial spectral sparsifier H0 of G as a bool mask over the given edges.

    Parameters
    ----------
    n : int
        Number of vertices (ids ``0..n-1``).
    u, v, w : array_like (m,)
        Edges of G with ``u < v``, no duplicates, ``w > 0``.
    offtree_ratio : float
        Off-tree budget as a fraction of ``n``: at most ``round(offtree_ratio * n)`` edges beyond the forest.
    seed : int
        Seed of the random tree weights and the random power-iteration vectors.
    rounds : int, optional
        Ranking rounds (default :func:`default_rounds`); more rounds give a lower kappa at a higher cost.
    power_steps, n_vectors : int
        Generalised power steps per round and number of simultaneous vectors.

    Returns
    -------
    numpy.ndarray of bool (m,)
        ``True`` for edges of H0: a spanning forest of G (so H0 has exactly G's connected components) plus
        at most ``round(offtree_ratio * n)`` off-tree edges (fewer only if G has fewer off-tree edges).

    Notes
    -----
    Cost: the forest in O(m log m), then per round one sparse LU of ``L_H`` (near-linear for near-tree H
    under COLAMD) plus ``power_steps`` solves with ``n_vectors`` right-hand sides and products with ``L_G``
    (O(n_vectors * (nnz(LU) + m)) each). Measured on 2 cores (``benchmarks/h0_quality.py``, 10 % off-tree):
    fe_4elt2 (160 rounds) 2.6 s, kappa 67.8 at seed 0 (40 rounds: 0.7 s, 88.6; 80 rounds: 79.7); delaunay_n16
    (40 rounds) 11 s, kappa 101; G3_circuit (12 rounds) 59 s, kappa 115.3, (8 rounds) kappa 176.5.
    ``power_steps=2`` lowers kappa on the unit-weight meshes (fe_4elt2, 40 rounds: 83.2) but raises it on
    G3_circuit (16 rounds: 129 vs 93.6).
    """
    u = np.ascontiguousarray(u, dtype=np.int64)
    v = np.ascontiguousarray(v, dtype=np.int64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    m = u.shape[0]
    if v.shape[0] != m or w.shape[0] != m:
        raise InvalidInputError("u, v, w must have the same length")
    if m and (u.min() < 0 or v.max() >= n or np.any(u >= v)):
        raise InvalidInputError("edges must satisfy 0 <= u < v < n")
    if m and not (np.all(np.isfinite(w)) and np.all(w > 0)):
        raise InvalidInputError("edge weights must be finite and > 0")
    if not 0 <= offtree_ratio:
        raise InvalidInputError("offtree_ratio must be >= 0")

    mask = spanning_forest(n, u, v, w, seed=seed)
    off = np.flatnonzero(~mask)
    budget = min(int(round(offtree_ratio * n)), off.shape[0])
    if budget == 0:
        return mask
    if budget == off.shape[0]:
        mask[:] = True
        return mask

    rounds = default_rounds(n) if rounds is None else max(1, int(rounds))
    rounds = min(rounds, budget)
    rng = np.random.default_rng([int(seed), 0x6A55])
    lg = sp.csr_array(_laplacian(n, u, v, w))
    lg_ptr, lg_idx = lg.indptr.astype(np.int64), lg.indices.astype(np.int64)
    adj = sp.csr_array((np.ones(2 * m), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    indptr = adj.indptr.astype(np.int64)
    indices = adj.indices.astype(np.int64)
    nv = max(1, int(n_vectors))
    nblocks = 2 if nv >= 2 else 1
    added = 0
    for r in range(rounds):
        k = math.ceil((budget - added) / (rounds - r))
        if k <= 0:
            break
        hm = np.flatnonzero(mask)
        lu = splu(_laplacian(n, u[hm], v[hm], w[hm]), permc_spec="COLAMD")
        lfac, ufac = lu.L, lu.U
        lp, li, lx, dg = _split_factors(
            n, lfac.indptr.astype(np.int64), lfac.indices.astype(np.int64), lfac.data,
            ufac.indptr.astype(np.int64), ufac.indices.astype(np.int64), ufac.data,
        )
        q = np.empty(n, np.int64)
        q[lu.perm_c] = np.arange(n, dtype=np.int64)
        del lu, lfac, ufac
        x = rng.standard_normal((n, nv))
        x -= x.mean(axis=0)
        for _ in range(max(1, int(power_steps))):
            x = _ldl_solve(lp, li, lx, dg, q, _spmm(lg_ptr, lg_idx, lg.data, x), nblocks)
            _colmax_normalise(x)
        score = _scores(x, u, v, w, mask, _SHIFT)
        cand = np.flatnonzero(~mask)
        order = cand[np.argsort(-score[cand], kind="stable")]
        take = _select(order, u, v, indptr, indices, n, k, r < rounds - 1)
        if take.shape[0] < k:  # marks exhausted the candidates: fill without them
            rest = order[~np.isin(order, take)]
            take = np.concatenate([take, _select(rest, u, v, indptr, indices, n, k - take.shape[0], False)])
        mask[take] = True
        added += take.shape[0]
    return mask
