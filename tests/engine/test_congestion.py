"""Congestion accounting: the support-theory certificate, re-routing on deletions, replay and persistence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la

from sparsewire.engine import Sparsifier, SparsifierParams
from sparsewire.engine.congestion import EdgeLoads, edge_key
from sparsewire.engine.h0 import initial_sparsifier
from sparsewire.engine.quality import laplacian
from sparsewire.engine.streams import local_insertions, sparsifier_deletions
from sparsewire.errors import InvalidInputError
from sparsewire.idmap import IdMap
from sparsewire.store import codec


def _lambda_max(a_rows, a_cols, a_w, h_csr, n: int) -> float:
    """Exact λ_max(L_A, L_H) on dense matrices (1e-6 shift on both, as in the κ recipe)."""
    import scipy.sparse as sp  # noqa: PLC0415

    a = sp.csr_array((np.r_[a_w, a_w], (np.r_[a_rows, a_cols], np.r_[a_cols, a_rows])), shape=(n, n))
    la_ = laplacian(a, 1e-6).toarray()
    lh = laplacian(h_csr, 1e-6).toarray()
    return float(la.eigh(la_, lh, eigvals_only=True)[-1])


def _stream(make_grid, congestion: float, K: float, frac: float = 0.6):  # noqa: ANN001, ANN202
    n, u, v, w = make_grid(16, 16)
    mask = initial_sparsifier(n, u, v, w, offtree_ratio=0.05, seed=0)
    s = Sparsifier.from_edges(n, u, v, w, params=SparsifierParams(K=K, seed=3, congestion=congestion), h0_mask=mask,
                              backend="cpu")
    iu, iv, iw = local_insertions(s.graph, int(frac * n), seed=4)
    for part in np.array_split(np.arange(iu.shape[0]), 6):
        s.insert_batch(iu[part], iv[part], iw[part])
    return s, iu, iv


def _skipped(s: Sparsifier, iu: np.ndarray, iv: np.ndarray):  # noqa: ANN202
    a, b = np.minimum(iu, iv), np.maximum(iu, iv)
    keep = (s.sparsifier.weights(a, b) == 0) & (s.graph.weights(a, b) > 0)
    return a[keep], b[keep], s.graph.weights(a[keep], b[keep])


@pytest.mark.parametrize("congestion", [1.0, 2.0])
def test_skipped_insertions_together_stay_below_the_cap(make_grid, congestion: float) -> None:  # noqa: ANN001
    """λ_max(L_skipped, L_H) ≤ max load < congestion · K: the per-edge test alone does not give this."""
    K = 8.0
    s, iu, iv = _stream(make_grid, congestion, K)
    a, b, w = _skipped(s, iu, iv)
    lam = _lambda_max(a, b, w, s.sparsifier.to_csr(), s.n)
    assert len(a) > 20
    assert s.loads.max_load() < congestion * K
    assert lam <= s.loads.max_load() * (1 + 1e-6) + 1e-6
    # without the cap, edges that each pass the per-edge test (w R < K) pile more than K onto H together
    s0, iu0, iv0 = _stream(make_grid, 0.0, K)
    a0, b0, w0 = _skipped(s0, iu0, iv0)
    assert _lambda_max(a0, b0, w0, s0.sparsifier.to_csr(), s0.n) > K
    assert len(s0.loads) == 0


def test_loads_follow_deletions(make_grid) -> None:  # noqa: ANN001
    """Deleting loaded H edges moves their load onto the recovery paths: the certificate still holds."""
    s, iu, iv = _stream(make_grid, 1.0, 8.0)
    du, dv = sparsifier_deletions(s.graph, s.sparsifier, 25, seed=5)
    gone = edge_key(du, dv)
    assert s.loads.get(gone).max() > 0  # some deleted edges carried load
    for part in np.array_split(np.arange(du.shape[0]), 5):
        s.delete_batch(du[part], dv[part])
    assert not s.loads.get(gone).any()
    a, b, w = _skipped(s, iu, iv)
    lam = _lambda_max(a, b, w, s.sparsifier.to_csr(), s.n)
    assert lam <= s.loads.max_load() * (1 + 1e-6) + 1e-6
    k, _ = s.loads.items()  # every loaded edge is an edge of H
    assert np.all(s.sparsifier.weights(k // 2**31, k % 2**31) > 0)


def test_replay_save_and_codec_reproduce_the_loads(make_grid, tmp_path) -> None:  # noqa: ANN001
    n, u, v, w = make_grid(12, 12)
    mask = initial_sparsifier(n, u, v, w, offtree_ratio=0.05, seed=0)
    params = SparsifierParams(K=6.0, seed=1, congestion=1.0)
    live = Sparsifier.from_edges(n, u, v, w, params=params, h0_mask=mask, backend="cpu")
    iu, iv, iw = local_insertions(live.graph, 90, seed=2)
    runs, n_ops = [], 0
    for part in np.array_split(np.arange(60), 3):
        runs += live.insert_batch(iu[part], iv[part], iw[part]).runs
        n_ops += len(part)
    du, dv = sparsifier_deletions(live.graph, live.sparsifier, 6, seed=3)
    runs += live.delete_batch(du, dv).runs
    n_ops += len(du)
    assert any(len(r.load_keys) for r in runs)
    replayed = Sparsifier.from_edges(n, u, v, w, params=params, h0_mask=mask, backend="cpu")
    replayed.replay(codec.decode_runs(codec.encode_runs(runs)), n_ops)
    live.save(tmp_path / "s.npz")
    loaded = Sparsifier.load(tmp_path / "s.npz", backend="cpu")
    snap, _, _ = codec.decode_snapshot(codec.encode_snapshot(live, IdMap("int")), backend="cpu")
    want = live.loads.items()
    for other in (replayed, loaded, snap):
        got = other.loads.items()
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    rest = np.arange(60, 90)
    results = [x.insert_batch(iu[rest], iv[rest], iw[rest]) for x in (live, replayed, loaded, snap)]
    assert all(np.array_equal(r.action, results[0].action) for r in results)
    assert len({x.sparsifier.m for x in (live, replayed, loaded, snap)}) == 1


def test_congestion_parameter_is_checked() -> None:
    with pytest.raises(InvalidInputError, match="congestion"):
        SparsifierParams(congestion=-1.0)
    for bad in (float("inf"), float("nan"), 1e9):  # the API's bound (1e6) holds for the library and CLI too
        with pytest.raises(InvalidInputError, match="congestion"):
            SparsifierParams(congestion=bad)
    assert SparsifierParams(congestion=1e6).congestion == 1e6


def test_edge_loads_table_grows_and_drops_zeros() -> None:
    t = EdgeLoads(4)
    keys = edge_key(np.arange(5000), np.arange(5000) + 7)
    t.add(keys, 1.5)
    t.add(keys[:10], 1.0)
    assert len(t) == 5000 and t.get(keys[:10]).tolist() == [2.5] * 10 and t.get(keys[10:12]).tolist() == [1.5] * 2
    t.set(keys[:4000], np.zeros(4000))
    assert len(t) == 1000 and t.get(edge_key(np.array([1]), np.array([2]))).tolist() == [0.0]
    k, x = t.items()
    assert np.all(np.diff(k) > 0) and np.all(x == 1.5)
