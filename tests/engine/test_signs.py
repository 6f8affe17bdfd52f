"""Signed graphs: sign bookkeeping beside the sparsifier, and the live balance verdict against a from-scratch
check after every batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsewire.analysis.balance import structural_balance
from sparsewire.analysis.graph import SignedGraph
from sparsewire.engine.batch import DELETE, INSERT, EdgeBatch
from sparsewire.engine.dyngraph import DynamicGraph
from sparsewire.engine.signs import EdgeSigns, edge_keys, split_keys
from sparsewire.engine.sparsifier import Sparsifier, SparsifierParams
from sparsewire.errors import InvalidBatchError
from sparsewire.signed_state import SignedState

PARAMS = SparsifierParams(K=5.0, steps=20, walkers=16, seed=3)


def batch(*ops: tuple) -> EdgeBatch:
    kind = [INSERT if o[0] == "i" else DELETE for o in ops]
    w = [o[3] if o[0] == "i" else np.nan for o in ops]
    return EdgeBatch(np.array(kind), np.array([o[1] for o in ops]), np.array([o[2] for o in ops]), np.array(w))


class Signed:
    """A sparsifier plus its signed state, driven like the service's writer does."""

    def __init__(self) -> None:
        self.s = Sparsifier(DynamicGraph(0), DynamicGraph(0), PARAMS, backend="cpu")
        self.state = SignedState(EdgeSigns(), self.s.graph)

    def apply(self, b: EdgeBatch) -> bool:
        plan = self.state.plan(b, self.s.graph, 1 << 20)
        result = self.s.apply(plan.batch)
        return self.state.commit(plan, b, result, self.s.graph)

    def signed_edges(self) -> dict[tuple[int, int], float]:
        u, v, w = self.s.graph.edges()
        sw = self.state.signs.signed(u, v, w)
        return {(int(a), int(b)): float(c) for a, b, c in zip(u, v, sw, strict=True)}


def test_keys_round_trip() -> None:
    u, v = np.array([5, 0, 7]), np.array([2, 9, 7 + 2**30])
    a, b = split_keys(edge_keys(u, v))
    assert a.tolist() == [2, 0, 7] and b.tolist() == [5, 9, 7 + 2**30]


def test_signs_merge_flip_and_reject() -> None:
    g = Signed()
    assert g.apply(batch(("i", 0, 1, -1.5), ("i", 1, 2, 2.0), ("i", 2, 3, -1.0))) is False
    assert g.signed_edges() == {(0, 1): -1.5, (1, 2): 2.0, (2, 3): -1.0}
    assert g.state.balanced
    # same sign merges (magnitudes add); the sparsifier holds the magnitude
    g.apply(batch(("i", 1, 0, -0.5)))
    assert g.signed_edges()[(0, 1)] == -2.0 and g.s.graph.weight(0, 1) == 2.0
    # the opposite sign is refused, naming the op; nothing of the batch is applied
    with pytest.raises(InvalidBatchError) as err:
        g.apply(batch(("i", 3, 4, 1.0), ("i", 0, 1, 1.0), ("i", 4, 5, 0.0)))
    assert [d["index"] for d in err.value.details] == [1, 2]
    assert "cannot flip a sign" in err.value.details[0]["error"]
    assert "weight 0" in err.value.details[1]["error"]
    assert g.signed_edges() == {(0, 1): -2.0, (1, 2): 2.0, (2, 3): -1.0}
    # delete then insert in one batch flips the sign
    g.apply(batch(("d", 0, 1), ("i", 0, 1, 3.0)))
    assert g.signed_edges()[(0, 1)] == 3.0
    assert g.state.signs.negative == {int(edge_keys(np.array([2]), np.array([3]))[0])}
    # insert then opposite insert in one batch is refused (the first creates the edge)
    with pytest.raises(InvalidBatchError):
        g.apply(batch(("i", 7, 8, 1.0), ("i", 8, 7, -1.0)))


def test_verdict_changes_with_witness_and_camps() -> None:
    g = Signed()
    assert g.apply(batch(("i", 0, 1, -1.0), ("i", 1, 2, -1.0))) is False
    assert g.apply(batch(("i", 0, 2, -1.0))) is True  # three enemies: unbalanced
    ev = g.state.event(lambda a: [int(x) for x in a], g.s.graph.n)
    assert ev["balanced"] is False and sorted(ev["negative_cycle"]) == [0, 1, 2]
    assert np.prod([e["weight"] for e in ev["negative_cycle_edges"]]) < 0
    assert g.apply(batch(("i", 2, 3, 1.0))) is False  # still unbalanced, no event
    assert g.apply(batch(("d", 2, 0))) is True  # deleting the odd edge restores balance
    ev = g.state.event(lambda a: [int(x) for x in a], g.s.graph.n)
    side = dict.fromkeys(ev["camp_plus"], 1) | dict.fromkeys(ev["camp_minus"], -1)
    assert sorted(side) == [0, 1, 2, 3]
    for (a, b), w in g.signed_edges().items():
        assert side[a] * side[b] == np.sign(w)  # no frustrated edge
    # deletions from a balanced graph keep it balanced; the stale union-find is rebuilt before insertions
    assert g.apply(batch(("d", 0, 1))) is False
    assert g.apply(batch(("i", 0, 3, 1.0))) is False  # 0 and 3 are now joined only through this edge
    assert g.state.balanced


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from("iid"), st.integers(0, 7), st.integers(0, 7),
                                   st.sampled_from([-2.0, -1.0, 1.0, 3.0])), min_size=1, max_size=6),
                min_size=1, max_size=12))
def test_live_verdict_matches_recomputation(batches: list[list[tuple]]) -> None:
    g = Signed()
    verdict = True
    for ops in batches:
        ops = [o for o in ops if o[1] != o[2]]
        if not ops:
            continue
        try:
            changed = g.apply(batch(*ops))
        except InvalidBatchError:
            continue  # a sign flip without a deletion; nothing applied
        edges = g.signed_edges()
        truth = structural_balance(SignedGraph.from_arrays(
            8, [a for a, _ in edges], [b for _, b in edges], list(edges.values())), frustration="none").balanced
        assert g.state.balanced == truth
        assert changed == (truth != verdict)
        verdict = truth
