"""Graph builders shared by the engine tests (deterministic for their arguments)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay


def grid_edges(rows: int, cols: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Unit-weight rows x cols grid graph: ``(n, u, v, w)`` with ``u < v``."""
    idx = np.arange(rows * cols).reshape(rows, cols)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()].astype(np.int64)
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()].astype(np.int64)
    return rows * cols, u, v, np.ones(u.shape[0])


def delaunay_edges(points: int, seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Unit-weight Delaunay triangulation of ``points`` uniform random points in the unit square."""
    pts = np.random.default_rng(seed).random((points, 2))
    tri = Delaunay(pts).simplices
    e = np.sort(np.r_[tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]], axis=1)
    e = np.unique(e, axis=0).astype(np.int64)
    return points, e[:, 0], e[:, 1], np.ones(e.shape[0])


@pytest.fixture(scope="session")
def grid60() -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    return grid_edges(60, 60)


@pytest.fixture(scope="session")
def delaunay5000() -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    return delaunay_edges(5000, seed=0)


@pytest.fixture(scope="session")
def make_grid():  # noqa: ANN201
    """The :func:`grid_edges` builder (conftest modules are not importable by name from the tests)."""
    return grid_edges
