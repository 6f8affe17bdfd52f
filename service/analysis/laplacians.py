"""Signed Laplacians (spec §1.2).

With ``d_i = sum_j |a_ij|`` and ``s_i = sum_j a_ij``:

* ``opposing`` (Altafini 2013, default): ``L = diag(d) - A``.  Gershgorin discs centred ``d_i`` with radius
  ``d_i``: every eigenvalue has ``Re >= 0``; undirected ``L`` is PSD with
  ``x'Lx = sum_edges |a| (x_i - sgn(a) x_j)^2``.
* ``repelling`` (Shi–Altafini–Baras 2019): ``L = diag(s) - A``; ``L 1 = 0`` but eigenvalues may have ``Re < 0``.
  This is what ``networkx.laplacian_matrix`` and ``scipy.sparse.csgraph.laplacian`` compute for signed input.
* ``unsigned``: ``diag(d) - |A|``, the ordinary Laplacian of the magnitudes.

Dense construction, ``O(n^2)`` memory.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from .graph import SignedGraph

VARIANTS = ("opposing", "repelling", "unsigned")


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise InvalidInputError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def laplacian_from_adjacency(a: np.ndarray, variant: str = "opposing") -> np.ndarray:
    """Laplacian of a dense adjacency ``A`` (row ``i`` lists who ``i`` listens to)."""
    check_variant(variant)
    if variant == "opposing":
        return np.diag(np.abs(a).sum(axis=1)) - a
    if variant == "repelling":
        return np.diag(a.sum(axis=1)) - a
    b = np.abs(a)
    return np.diag(b.sum(axis=1)) - b


def laplacian_rows(a_rows: np.ndarray, rows: np.ndarray, variant: str = "opposing") -> np.ndarray:
    """Rows ``rows`` of the Laplacian of an adjacency whose rows ``rows`` are ``a_rows``: row ``i`` of ``L``
    depends on row ``i`` of ``A`` only, so a change to a few rows of ``A`` changes only those rows of ``L``."""
    check_variant(variant)
    mags = np.abs(a_rows)
    off = -mags if variant == "unsigned" else -a_rows
    diag = a_rows.sum(axis=1) if variant == "repelling" else mags.sum(axis=1)
    out = off.copy()
    out[np.arange(rows.shape[0]), rows] += diag
    return out


def laplacian(graph: SignedGraph, variant: str = "opposing") -> np.ndarray:
    """Dense signed Laplacian of ``graph`` for ``variant`` (see module docstring)."""
    return laplacian_from_adjacency(graph.adjacency(), variant)
