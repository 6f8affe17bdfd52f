"""Initial sparsifier: spanning forest + budgeted spectrally critical off-tree edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsewire.engine.h0 import initial_sparsifier, spanning_forest
from sparsewire.engine.mmio import read_graph
from sparsewire.engine.quality import kappa
from sparsewire.errors import InvalidInputError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "undirected"


def _load(name: str):  # noqa: ANN202
    path = DATA / f"{name}.mtx.gz"
    if not path.exists():
        pytest.skip(f"../shared/data not present: {path}")
    return read_graph(path)


def _adj(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_array:
    return sp.csr_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))


def _ncomp(n: int, u: np.ndarray, v: np.ndarray) -> int:
    return int(connected_components(_adj(n, u, v, np.ones(u.shape[0])), directed=False)[0])


def _check_forest_plus_budget(n: int, u: np.ndarray, v: np.ndarray, mask: np.ndarray, ratio: float) -> None:
    c = _ncomp(n, u, v)
    forest = spanning_forest(n, u, v, np.ones(u.shape[0]))
    assert forest.sum() == n - c
    assert _ncomp(n, u[mask], v[mask]) == c  # same components as G
    assert mask.sum() - (n - c) <= round(ratio * n)


@pytest.mark.parametrize("name", ["fe_pwt", "ca-GrQc", "USPowerGrid", "memplus"])
def test_forest_plus_budget_on_real_graphs(name: str) -> None:
    g = _load(name)
    mask = initial_sparsifier(g.n, g.u, g.v, g.w, offtree_ratio=0.05, rounds=5)
    assert mask.dtype == bool and mask.shape == (g.m,)
    _check_forest_plus_budget(g.n, g.u, g.v, mask, 0.05)
    c = _ncomp(g.n, g.u, g.v)
    assert mask.sum() - (g.n - c) == min(round(0.05 * g.n), g.m - (g.n - c))  # budget spent


def test_spanning_forest_is_forest_weighted() -> None:
    g = _load("Andrews")
    mask = spanning_forest(g.n, g.u, g.v, g.w, seed=3)
    assert mask.sum() == g.n - 1 and _ncomp(g.n, g.u[mask], g.v[mask]) == 1


def test_fe_4elt2_kappa_at_most_100() -> None:
    g = _load("fe_4elt2")
    mask = initial_sparsifier(g.n, g.u, g.v, g.w, offtree_ratio=0.10, seed=0)
    _check_forest_plus_budget(g.n, g.u, g.v, mask, 0.10)
    assert mask.sum() - (g.n - 1) == round(0.10 * g.n)
    k = kappa(_adj(g.n, g.u, g.v, g.w), _adj(g.n, g.u[mask], g.v[mask], g.w[mask]))
    assert k <= 100.0, k


def test_spectral_ranking_beats_random_off_tree_edges() -> None:
    g = _load("3elt")
    mask = initial_sparsifier(g.n, g.u, g.v, g.w, offtree_ratio=0.10, seed=1, rounds=10)
    gadj = _adj(g.n, g.u, g.v, g.w)
    k_ours = kappa(gadj, _adj(g.n, g.u[mask], g.v[mask], g.w[mask]))
    rnd = spanning_forest(g.n, g.u, g.v, g.w, seed=1)
    rng = np.random.default_rng(0)
    rnd[rng.choice(np.flatnonzero(~rnd), round(0.10 * g.n), replace=False)] = True
    k_rand = kappa(gadj, _adj(g.n, g.u[rnd], g.v[rnd], g.w[rnd]))
    assert k_ours < 0.3 * k_rand, (k_ours, k_rand)


def test_deterministic_and_seed_dependent() -> None:
    g = _load("3elt")
    a = initial_sparsifier(g.n, g.u, g.v, g.w, seed=7, rounds=4)
    b = initial_sparsifier(g.n, g.u, g.v, g.w, seed=7, rounds=4)
    c = initial_sparsifier(g.n, g.u, g.v, g.w, seed=8, rounds=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_small_cases_and_validation() -> None:
    # a triangle plus an isolated vertex: forest of 2 edges, budget round(0.5*4) = 2 > 1 off-tree edge
    u, v, w = np.array([0, 0, 1]), np.array([1, 2, 2]), np.ones(3)
    assert initial_sparsifier(4, u, v, w, offtree_ratio=0.5).all()
    assert initial_sparsifier(4, u, v, w, offtree_ratio=0.0).sum() == 2
    assert initial_sparsifier(3, u[:0], v[:0], w[:0]).shape == (0,)
    with pytest.raises(InvalidInputError):
        initial_sparsifier(3, np.array([1]), np.array([0]), np.ones(1))
    with pytest.raises(InvalidInputError):
        initial_sparsifier(3, np.array([0]), np.array([1]), np.array([0.0]))
    with pytest.raises(InvalidInputError):
        initial_sparsifier(3, np.array([0]), np.array([1]), np.ones(2))
