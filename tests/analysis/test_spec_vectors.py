"""Spec §1 worked examples and §5 test vectors."""

import numpy as np
import pytest

from sparsewire.analysis.balance import structural_balance
from sparsewire.analysis.chordal import chordal_check, chordal_completion, verify_peo
from sparsewire.analysis.consensus import consensus
from sparsewire.analysis.laplacians import laplacian
from sparsewire.analysis.observability import observability
from sparsewire.analysis.perturbation import suggest_perturbations

from .conftest import g, nxg

approx = pytest.approx


def spec(res):
    return sorted((complex(s["re"], s["im"]) for s in res.spectrum for _ in range(s["multiplicity"])),
                  key=lambda z: (z.real, z.imag))


def test_laplacian_worked_values():
    neg = g([(0, 1, -1), (1, 2, -1), (0, 2, -1)])
    bal = g([(0, 1, 1), (1, 2, -1), (0, 2, -1)])
    ev = lambda gr, v: np.sort(np.linalg.eigvalsh(laplacian(gr, v)))  # noqa: E731
    assert ev(neg, "opposing") == approx([1, 1, 4])
    assert ev(neg, "repelling") == approx([-3, -3, 0], abs=1e-12)
    assert ev(neg, "unsigned") == approx([0, 3, 3], abs=1e-12)
    assert ev(bal, "opposing") == approx([0, 3, 3], abs=1e-12)
    assert ev(bal, "repelling") == approx([-3, 0, 1], abs=1e-12)


def test_balanced_triangle():
    gr = g([(0, 1, 1), (1, 2, -1), (0, 2, -1)], nodes=[0, 1, 2])
    b = structural_balance(gr)
    assert b.balanced and b.camps[0] == {"plus": [0, 1], "minus": [2]} and b.negative_cycle is None
    r = consensus(gr, initial_state=[3, 1, -2])
    assert r.regime == "bipartite_consensus"
    assert [x.real for x in spec(r)] == approx([0, 3, 3], abs=1e-9)
    assert r.predicted_limit == approx([2, 2, -2])


def test_unbalanced_directed_cycle():
    gr = g([(1, 0, 1), (2, 1, 1), (0, 2, -1)], directed=True, nodes=[0, 1, 2])
    b = structural_balance(gr)
    assert not b.balanced and sorted(b.negative_cycle) == [0, 1, 2]
    r = consensus(gr)
    assert r.regime == "neutralized" and r.oscillatory
    vals = spec(r)
    assert [v.real for v in vals] == approx([0.5, 0.5, 2]) and sorted(abs(v.imag) for v in vals) == approx(
        [0, 0.8660254, 0.8660254], abs=1e-6)
    rr = consensus(gr, variant="repelling")
    assert rr.regime == "unstable"
    assert [v.real for v in spec(rr)] == approx([-0.618034, 0, 1.618034], abs=1e-6)
    d = consensus(gr, time="discrete")
    assert d.regime == "neutralized" and d.discrete["step_condition_holds"]


def test_frustrating_chord_and_consistent_chord():
    p3 = g([(0, 1, 1), (1, 2, 1)])
    s = suggest_perturbations(p3, allowed_pairs=[[0, 2]], weight_grid=[0.1], sign=-1).suggestions[0]
    assert s["exact_shift"] == approx(0.1303, abs=1e-4) and s["predicted_shift"] == approx(0.4 / 3)
    assert s["regime_after"] == "neutralized"
    chord = g([(0, 1, 1), (1, 2, 1), (0, 2, -0.1)])
    assert np.linalg.eigvalsh(laplacian(chord))[0] == approx(0.1303, abs=1e-4)
    s = suggest_perturbations(p3, allowed_pairs=[[0, 2]], weight_grid=[0.5], sign=1).suggestions[0]
    assert s["after"]["min_re"] == 0.0 and s["exact_shift"] == 0.0


@pytest.mark.parametrize(("w", "expected"), [(0.4, [0, 0.2, 3]), (0.5, [0, 0, 3]), (0.6, [-0.2, 0, 3])])
def test_zelazo_burger(w, expected):
    r = consensus(g([(0, 1, 1), (1, 2, 1), (0, 2, -w)]), variant="repelling")
    assert [v.real for v in spec(r)] == approx(expected, abs=1e-9)
    assert r.regime == {0.4: "consensus", 0.5: "fragmented", 0.6: "unstable"}[w]


def test_hidden_middle():
    p3 = g([(0, 1, 1), (1, 2, 1)])
    r = observability(p3, visible=[1])
    assert r.unobservable_dim == 1 and not r.observable
    m = r.unobservable_modes[0]
    assert m["eigenvalue"] == approx(1) and np.abs(m["basis"][0]) == approx(np.array([1, 0, 1]) / np.sqrt(2))
    assert m["basis"][0][0] * m["basis"][0][2] < 0 and m["support"] == [0, 2]
    assert r.kalman_rank == 2
    assert observability(p3, visible=[0]).observable


def test_star_hidden_twins():
    star = g([(0, 1, 1), (0, 2, 1), (0, 3, 1)])
    r = observability(star, visible=[0, 1])
    assert r.unobservable_dim == 1
    assert np.abs(r.unobservable_modes[0]["basis"][0]) == approx(np.array([0, 0, 1, 1]) / np.sqrt(2))
    assert r.symmetry_explanations[0]["nodes"] == [2, 3]


def test_star_degenerate_first_order():
    star = g([(0, 1, 1), (0, 2, 1), (0, 3, 1)])
    r = suggest_perturbations(star, goal="break_symmetry", allowed_pairs=[[0, 2]], weight_grid=[0.01])
    s = r.suggestions[0]
    assert s["predicted_shift"] == approx(2 * 0.01 / 3) and s["exact_shift"] == approx(0.00664, abs=1e-5)
    assert r.updates_needed == 1


def test_hidden_steering():
    e = [(0, 1, 1), (1, 0, 1), (1, 2, 1), (2, 1, 1), (0, 2, 1), (2, 0, 1), (3, 0, 1)]
    gr = g(e, directed=True, nodes=[0, 1, 2, 3])
    r = consensus(gr, hidden=[3], initial_state=[1, 2, 3, 7])
    assert r.regime == "consensus" and r.influence_share == approx(1.0)
    assert r.predicted_limit == approx([7, 7, 7, 7])
    assert observability(gr, hidden=[3]).observable


def test_grounding():
    p3 = g([(0, 1, 1), (1, 2, 1)])
    r = suggest_perturbations(p3, allowed_pairs=[], ground=True, weight_grid=[1.0], top_k=3)
    best = r.suggestions[0]
    assert best["ground"] == 1 and best["exact_shift"] == approx(0.2679, abs=1e-4)
    lap = laplacian(p3)
    lap[1, 1] += 1
    assert np.linalg.eigvalsh(lap) == approx([2 - np.sqrt(3), 1, 2 + np.sqrt(3)])


def test_c4_vector():
    import networkx as nx

    r = chordal_check(nxg(nx.cycle_graph(4)))
    assert not r.chordal and sorted(r.hole) == [0, 1, 2, 3]
    c = chordal_completion(nxg(nx.cycle_graph(4)))
    assert len(c.fill_edges) == 1 and c.treewidth_of_completion == 2


def test_star_peo_vector():
    import networkx as nx

    v = verify_peo(nxg(nx.star_graph(3)), [0, 1, 2, 3])
    assert not v.is_peo and v.violation["vertex"] == 0


def test_frustration_lower_bound_triangle():
    b = structural_balance(g([(0, 1, -1), (1, 2, -1), (0, 2, -1)]))
    assert b.frustration["value"] == 1 and b.frustration["exact"]
    assert b.frustration["lower_bound"] == approx(0.75)


def test_algebraic_connectivity_c9():
    neg = g([(0, 1, -1), (1, 2, -1), (0, 2, -1)])
    assert consensus(neg, variant="unsigned").algebraic_connectivity["value"] == approx(3)
    ac = consensus(neg).algebraic_connectivity
    assert ac["variant"] == "opposing" and ac["value"] is None and ac["lambda_min"] == approx(1)
