"""Modified Gram–Schmidt with re-orthogonalisation (spec §1.8).

"Twice is enough" (Giraud–Langou–Rozložník 2005): each vector is orthogonalised against the accepted basis twice
with modified Gram–Schmidt; a vector whose residual norm falls below ``drop_tol`` times its original norm is
dropped as numerically dependent.  ``O(n k^2)`` for ``k`` vectors of length ``n``.
"""

from __future__ import annotations

import numpy as np


def mgs(vectors: np.ndarray, drop_tol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of the span of the columns of ``vectors``; its width is the numerical rank."""
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim == 1:
        vectors = vectors[:, None]
    basis: list[np.ndarray] = []
    for j in range(vectors.shape[1]):
        x = vectors[:, j].copy()
        norm0 = np.linalg.norm(x)
        if norm0 == 0:
            continue
        for _ in range(2):
            for q in basis:
                x -= (q @ x) * q
        norm = np.linalg.norm(x)
        if norm > drop_tol * norm0:
            basis.append(x / norm)
    if not basis:
        return np.zeros((vectors.shape[0], 0))
    return np.stack(basis, axis=1)


def canonical_sign(x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Flip ``x`` so that its first entry with ``|x_i| > tol max|x|`` is positive (deterministic output)."""
    big = np.abs(x).max() if x.size else 0.0
    if big == 0:
        return x
    first = np.flatnonzero(np.abs(x) > tol * big)[0]
    return x if x[first] > 0 else -x
