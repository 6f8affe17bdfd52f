"""Observability of digraphs: the unobservable dimension is the dimension of the staircase subspace (issue #6).

Complex-conjugate eigenvalue pairs are one mode with a 2-column real basis (not counted twice) and defective
(Jordan) eigenvalues get their whole generalised eigenspace (not only the eigenvectors).  Ground truth: the exact
rational rank of the Kalman matrix ``[C; CL; ...; CL^(n-1)]`` (integer weights, ``fractions.Fraction``).
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest import approx

from sparsewire.analysis.laplacians import laplacian
from sparsewire.analysis.observability import _invariant_modes, kalman_rank, observability, unobservable_modes
from sparsewire.analysis.perturbation import suggest_perturbations

from .conftest import g


def exact_rank(rows: list[list[int]]) -> int:
    mat = [[Fraction(x) for x in r] for r in rows]
    rank = 0
    for c in range(len(mat[0]) if mat else 0):
        piv = next((i for i in range(rank, len(mat)) if mat[i][c] != 0), None)
        if piv is None:
            continue
        mat[rank], mat[piv] = mat[piv], mat[rank]
        for i in range(len(mat)):
            if i != rank and mat[i][c] != 0:
                f = mat[i][c] / mat[rank][c]
                mat[i] = [a - f * b for a, b in zip(mat[i], mat[rank], strict=True)]
        rank += 1
    return rank


def exact_unobservable_dim(lap: np.ndarray, visible: list[int]) -> int:
    n = lap.shape[0]
    lap_q = [[Fraction(round(x)) for x in row] for row in lap.tolist()]
    assert np.array_equal(lap, np.round(lap))
    cur = [[Fraction(int(j == v)) for j in range(n)] for v in visible]
    rows = []
    for _ in range(n):
        rows += cur
        cur = [[sum(r[i] * lap_q[i][j] for i in range(n)) for j in range(n)] for r in cur]
    return n - (exact_rank(rows) if rows else 0)


def check_modes(lap: np.ndarray, modes: list[dict], dim: int) -> None:
    """Bases: orthonormal, each spans an L-invariant subspace, widths sum to dim, together independent."""
    assert sum(m["basis"].shape[1] for m in modes) == dim
    for m in modes:
        b = m["basis"]
        assert b.T @ b == approx(np.eye(b.shape[1]), abs=1e-9)
        assert np.abs(lap @ b - b @ (b.T @ lap @ b)).max() < 1e-7  # invariant
        lam = np.linalg.eigvals(b.T @ lap @ b)
        near = np.minimum(np.abs(lam - m["eigenvalue"]), np.abs(lam - np.conj(m["eigenvalue"])))
        assert near.max() < 1e-3 * max(1.0, abs(m["eigenvalue"]))  # a pair's block holds lam and conj(lam)
        assert m["eigenvalue"].imag >= 0  # a conjugate pair is reported once
    if modes:
        s = np.linalg.svd(np.hstack([m["basis"] for m in modes]), compute_uv=False)
        assert s[-1] > 1e-6


def test_complex_pair_counted_once():
    # 0 -> 1 (+1), 2 -> 1 (+1), 1 -> 2 (-1), hidden {1, 2}: the restricted Laplacian [[2, -1], [1, 1]] has the
    # pair 1.5 ± 0.866i; the old eigenvector sum reported 4 (> n = 3)
    gr = g([(0, 1, 1), (2, 1, 1), (1, 2, -1)], directed=True)
    r = observability(gr, hidden=[1, 2])
    assert r.unobservable_dim == 2 and not r.observable and r.kalman_rank == 1
    assert gr.n - r.kalman_rank == r.unobservable_dim
    assert not [w for w in r.warnings if w["code"] == "kalman_mismatch"]
    (mode,) = r.unobservable_modes
    assert mode["eigenvalue"] == approx(1.5) and mode["eigenvalue_im"] == approx(np.sqrt(3) / 2)
    assert len(mode["basis"]) == 2 and mode["support"] == [1, 2]
    assert exact_unobservable_dim(laplacian(gr, "opposing"), [0]) == 2


def test_jordan_chain_counts_generalised_eigenvectors():
    # chain 0 -> 1 -> 2, hidden {1, 2}: eigenvalue 1 with a 2x2 Jordan block; the old code reported 1
    gr = g([(0, 1, 1), (1, 2, 1)], directed=True)
    r = observability(gr, hidden=[1, 2])
    assert r.unobservable_dim == 2 and r.kalman_rank == 1
    (mode,) = r.unobservable_modes
    assert mode["eigenvalue"] == approx(1.0) and mode["eigenvalue_im"] == 0 and len(mode["basis"]) == 2
    assert mode["support"] == [1, 2]
    long = g([(k, k + 1, 1) for k in range(6)], directed=True)
    r = observability(long, hidden=list(range(1, 7)))
    assert r.unobservable_dim == 6 and [len(m["basis"]) for m in r.unobservable_modes] == [6]


@pytest.mark.parametrize("size", [2, 3, 4])
def test_rotated_jordan_block_is_one_mode(size):
    # a Jordan block seen through a random rotation: eig splits it by ~eps^(1/size); one mode must result
    rng = np.random.default_rng(size)
    jordan = 2 * np.eye(size) + np.diag(np.ones(size - 1), 1)
    rot, _ = np.linalg.qr(rng.normal(size=(size, size)))
    modes = _invariant_modes(rot @ jordan @ rot.T, np.eye(size), 1e-9)
    assert [m["basis"].shape[1] for m in modes] == [size]
    assert modes[0]["eigenvalue"] == approx(2.0, abs=1e-3)


def test_symmetric_branch_unchanged():
    # undirected path 0-1-2 seen at the middle: one mode, eigenvalue 1, (1, 0, -1)/sqrt 2 (spec §5)
    r = observability(g([(0, 1, 1), (1, 2, 1)]), visible=[1])
    assert r.unobservable_dim == 1 and r.method == "pbh_eigenspace_mgs"
    (mode,) = r.unobservable_modes
    assert mode["eigenvalue"] == approx(1.0)
    assert mode["basis"][0] == approx([1 / np.sqrt(2), 0, -1 / np.sqrt(2)])


@st.composite
def digraphs(draw, max_n=7):
    n = draw(st.integers(1, max_n))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=16)) if pairs else []
    edges = [(a, b, draw(st.sampled_from([-2.0, -1.0, 1.0, 2.0]))) for a, b in chosen]
    hidden = draw(st.lists(st.integers(0, n - 1), unique=True))
    variant = draw(st.sampled_from(["opposing", "repelling", "unsigned"]))
    return n, edges, sorted(hidden), variant


@settings(max_examples=300, deadline=None)
@given(digraphs())
def test_unobservable_dim_is_n_minus_kalman_rank(case):
    n, edges, hidden, variant = case
    gr = g(edges, directed=True, nodes=list(range(n)))
    r = observability(gr, hidden=hidden, variant=variant)
    lap = laplacian(gr, variant)
    visible = [k for k in range(n) if k not in set(hidden)]
    assert r.unobservable_dim == exact_unobservable_dim(lap, visible)
    assert r.observable == (r.unobservable_dim == 0)
    assert sum(len(m["basis"]) for m in r.unobservable_modes) == r.unobservable_dim
    check_modes(lap, unobservable_modes(lap, np.array(visible, dtype=np.int64), False, gr.tolerance()),
                r.unobservable_dim)


def test_kalman_rank_equilibrated():
    # rows of C L^j span 5 orders of magnitude here: unscaled, the 1e-9 relative threshold dropped a direction
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(3, 9))
        adj = (rng.random((n, n)) < 0.45) * rng.choice([-2, -1, 1, 2], size=(n, n))
        np.fill_diagonal(adj, 0)
        lap = np.diag(np.abs(adj).sum(axis=1)) - adj
        visible = np.flatnonzero(rng.random(n) < 0.3)
        assert n - kalman_rank(lap, visible) == exact_unobservable_dim(lap.astype(float), visible.tolist())


def test_perturbation_observe_uses_the_dimension():
    # directed chain 0 -> 1 -> 2 with {1, 2} hidden: 2 -> 0 makes everything observable (dimension 2 -> 0)
    res = suggest_perturbations(g([(0, 1, 1), (1, 2, 1)], directed=True), goal="observe", hidden=[1, 2], top_k=3)
    assert res.before["unobservable_dim"] == 2
    best = res.suggestions[0]
    assert best["edge"] == {"source": 2, "target": 0} and best["unobservable_dim_after"] == 0
    assert best["after"]["unobservable_dim"] == 0 and best["score"] == approx(2.0, abs=1e-3)
    # the complex-pair repro: before is 2 (it was 4)
    res = suggest_perturbations(g([(0, 1, 1), (2, 1, 1), (1, 2, -1)], directed=True), goal="observe",
                                hidden=[1, 2], top_k=1)
    assert res.before["unobservable_dim"] == 2 and res.suggestions[0]["unobservable_dim_after"] == 0


def test_star_of_hidden_twins_directed():
    # directed star with reciprocal edges, all 5 leaves hidden: eigenvalue 1 carries 4 twin directions
    edges = [(0, k, 1.0) for k in range(1, 6)] + [(k, 0, 1.0) for k in range(1, 6)]
    gr = g(edges, directed=True)
    r = observability(gr, hidden=[1, 2, 3, 4, 5])
    assert r.unobservable_dim == 4 == gr.n - r.kalman_rank
    assert [(m["eigenvalue"], len(m["basis"])) for m in r.unobservable_modes] == [(approx(1.0), 4)]
