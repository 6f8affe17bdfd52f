"""Perturbation ranking: first-order prefilter vs exhaustive exact evaluation, and row-local Laplacian updates."""

import numpy as np
import pytest

from sparsewire.analysis import perturbation as pert
from sparsewire.analysis.graph import SignedGraph
from sparsewire.analysis.laplacians import laplacian_from_adjacency, laplacian_rows


def _random_signed(n: int, m: int, directed: bool, seed: int) -> SignedGraph:
    rng = np.random.default_rng(seed)
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    w = rng.choice([-1.0, 1.0], m) * rng.uniform(0.5, 2.0, m)
    return SignedGraph.from_arrays(n, u[keep], v[keep], w[keep], directed=directed)


@pytest.mark.parametrize("variant", ["opposing", "repelling", "unsigned"])
def test_laplacian_rows_match_a_full_rebuild(variant: str) -> None:
    g = _random_signed(30, 90, True, 1)
    adj = g.adjacency()
    full = laplacian_from_adjacency(adj, variant)
    rows = np.array([3, 17, 29])
    assert np.array_equal(laplacian_rows(adj[rows], rows, variant), full[rows])


@pytest.mark.parametrize(("directed", "goal"), [(False, "stabilize"), (True, "stabilize"),
                                                (False, "break_symmetry")])
def test_prefilter_keeps_the_exhaustive_ranking(monkeypatch: pytest.MonkeyPatch, directed: bool,
                                                goal: str) -> None:
    """With 40 nodes there are 780-1,560 pairs (x 3 weights): far more than the exact budget.  The top
    suggestions from the prefiltered run must be those of the exhaustive run, with the same exact shifts."""
    if goal == "break_symmetry":  # a star: its leaves give a 35-fold eigenvalue to split
        n = 36
        g = SignedGraph.from_arrays(n, np.zeros(n - 1, int), np.arange(1, n), np.ones(n - 1), directed=False)
    else:
        g = _random_signed(40, 120, directed, 2)
    fast = pert.suggest_perturbations(g, goal=goal, top_k=5)
    assert fast.conventions["exact_evaluations"] == pert.EXACT_CANDIDATES < fast.candidates_evaluated
    monkeypatch.setattr(pert, "EXACT_CANDIDATES", 10**9)
    full = pert.suggest_perturbations(g, goal=goal, top_k=5)
    assert full.conventions["exact_evaluations"] == full.candidates_evaluated
    key = lambda s: (s.get("edge", {}).get("source"), s.get("edge", {}).get("target"), s["weight"])  # noqa: E731
    assert [key(s) for s in fast.suggestions] == [key(s) for s in full.suggestions]
    assert [s["exact_shift"] for s in fast.suggestions] == [s["exact_shift"] for s in full.suggestions]
