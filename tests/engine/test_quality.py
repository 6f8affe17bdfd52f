"""Quality measurement: kappa against dense generalised eigensolver, components, density."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

from sparsewire.engine.h0 import spanning_forest
from sparsewire.engine.mmio import read_graph
from sparsewire.engine.quality import components, density, kappa, laplacian

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "undirected"


def _adj(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_array:
    return sp.csr_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))


def _dense_kappa(g: sp.csr_array, h: sp.csr_array, shift: float = 1e-6) -> tuple[float, float]:
    lam = sla.eigh(laplacian(g, shift).toarray(), laplacian(h, shift).toarray(), eigvals_only=True)
    return float(lam[-1]), float(lam[0])


def _random_graph(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # a path keeps it connected, plus random chords with random weights
    pairs = {(i, i + 1) for i in range(n - 1)}
    while len(pairs) < m:
        a, b = sorted(rng.integers(0, n, 2).tolist())
        if a != b:
            pairs.add((a, b))
    p = np.array(sorted(pairs))
    return p[:, 0], p[:, 1], rng.uniform(0.1, 10.0, p.shape[0])


def test_laplacian_quadratic_form() -> None:
    u, v, w = np.array([0, 1, 0]), np.array([1, 2, 3]), np.array([2.0, 3.0, 0.5])
    lap = laplacian(_adj(4, u, v, w), shift=0.25)
    x = np.array([1.0, -2.0, 0.5, 3.0])
    expect = float(np.sum(w * (x[u] - x[v]) ** 2) + 0.25 * x @ x)
    assert lap.shape == (4, 4) and abs(float(x @ (lap @ x)) - expect) < 1e-12
    assert np.allclose(laplacian(_adj(4, u, v, w)).sum(axis=1), 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_dense_eigh_random_weighted(seed: int) -> None:
    n = 120
    u, v, w = _random_graph(n, 400, seed)
    mask = spanning_forest(n, u, v, w, seed=seed)
    rng = np.random.default_rng(seed)
    mask[rng.choice(np.flatnonzero(~mask), 12, replace=False)] = True
    g, h = _adj(n, u, v, w), _adj(n, u[mask], v[mask], w[mask])
    lmax, lmin = _dense_kappa(g, h)
    assert abs(lmin - 1.0) < 1e-6  # H subgraph of G with equal weights: lambda_min = 1
    k = kappa(g, h)
    assert k == pytest.approx(lmax, rel=1e-6)
    assert kappa(g, h) == k  # deterministic


def test_kappa_matches_dense_on_real_mesh() -> None:
    path = DATA / "jagmesh7.mtx.gz"
    if not path.exists():
        pytest.skip(f"../shared/data not present: {path}")
    gd = read_graph(path)
    mask = spanning_forest(gd.n, gd.u, gd.v, gd.w, seed=0)
    rng = np.random.default_rng(0)
    mask[rng.choice(np.flatnonzero(~mask), gd.n // 10, replace=False)] = True
    g = _adj(gd.n, gd.u, gd.v, gd.w)
    h = _adj(gd.n, gd.u[mask], gd.v[mask], gd.w[mask])
    lmax, _ = _dense_kappa(g, h)
    assert kappa(g, h) == pytest.approx(lmax, rel=1e-6)


def test_kappa_identity_and_disconnected() -> None:
    n = 30
    u, v, w = _random_graph(n, 80, 5)
    g = _adj(n, u, v, w)
    assert kappa(g, g) == pytest.approx(1.0, abs=1e-8)
    # two components in both G and H (isolated vertex 30)
    g2 = _adj(n + 1, u, v, w)
    mask = spanning_forest(n + 1, u, v, w)
    h2 = _adj(n + 1, u[mask], v[mask], w[mask])
    assert kappa(g2, h2) == pytest.approx(_dense_kappa(g2, h2)[0], rel=1e-6)
    with pytest.raises(ValueError):
        kappa(g, _adj(n + 1, u, v, w))
    with pytest.raises(ValueError):
        kappa(g, g, shift=0.0)


def test_components_and_density() -> None:
    u, v, w = np.array([0, 2]), np.array([1, 3]), np.ones(2)
    assert components(_adj(5, u, v, w)) == 3
    assert components(_adj(0, u[:0], v[:0], w[:0])) == 0
    assert density(11, 10) == 1.1 and density(3, 0) == 0.0
    path = DATA / "fe_pwt.mtx.gz"
    if path.exists():
        gd = read_graph(path)
        assert components(_adj(gd.n, gd.u, gd.v, gd.w)) == 57
