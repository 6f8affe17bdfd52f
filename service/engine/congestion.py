"""Congestion accounting for skipped insertions: a certificate that the stream's distortion stays bounded.

dyGRASS skips an inserted edge ``e = (p, q, w_e)`` when a walker finds a path ``P_e`` in H with
``w_e · R(P_e) < K``.  Each skipped edge on its own raises ``λ_max(L_G, L_H)`` by less than K, but skipped
edges whose paths share sparsifier edges add up: on a long stream the per-edge test alone lets κ grow without
bound in regions where H is thin.  Support theory (Boman–Hendrickson) bounds the sum: by Cauchy–Schwarz,
``w_e (x_p − x_q)² ≤ w_e R(P_e) Σ_{h ∈ P_e} w_h (x_h⁺ − x_h⁻)²``, hence

    Σ_{e skipped} w_e b_e b_eᵀ  ⪯  Σ_{h ∈ H} load(h) · w_h b_h b_hᵀ  ⪯  (max_h load(h)) · L_H,

with ``load(h) = Σ_{e skipped, h ∈ P_e} w_e R(P_e)``.  With a cap ``C = congestion · K`` an insertion whose
path would lift some edge's load to ``C`` or more is treated as spectrally critical and joins H; otherwise its
``w_e R(P_e)`` is charged to every distinct edge of its path.  So ``λ_max(L_skipped, L_H) < C`` holds for every
stream, and ``κ(L_G, L_H) ≤ κ(L_{G₀}, L_H) + C`` (Weyl).

``P_e`` is the first successful walker's walk (lowest index), re-simulated from its counter-based key, so the
accounting is the same for every backend.  Loads only over-estimate: H gaining edges or weight keeps the bound,
and a skipped edge deleted from G keeps its charge.  Deleting a loaded H edge ``h`` re-routes its load over the
recovery path ``P_rec`` (in H afterwards): each route through h grows by at most the factor ``w_h R(P_rec)``,
so ``load(h) · w_h · R(P_rec)`` is charged to every distinct edge of ``P_rec``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sparsewire.kernels.rng import walker_key
from sparsewire.kernels.walks_cpu import _walk

__all__ = ["EdgeLoads", "edge_key", "winner_path"]

_EMPTY = np.int64(-1)
_SHIFT = np.int64(2**31)
_HASH_MULT = np.int64(0x1E3779B97F4A7C15)


def edge_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Canonical key ``min · 2³¹ + max`` of undirected edges (vertex ids below 2³¹)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    return np.minimum(a, b) * _SHIFT + np.maximum(a, b)


@njit(cache=True, nogil=True)
def _slot(keys, k):  # noqa: ANN001
    mask = keys.shape[0] - 1
    s = (k * _HASH_MULT) & mask
    while keys[s] != -1 and keys[s] != k:
        s = (s + 1) & mask
    return s


@njit(cache=True, nogil=True)
def _path_keys(path, steps, out):  # noqa: ANN001
    """Distinct edge keys of the walk ``path[0..steps]`` into ``out``; returns their count."""
    c = 0
    for s in range(steps):
        a = path[s]
        b = path[s + 1]
        k = min(a, b) * np.int64(2**31) + max(a, b)
        dup = False
        for t in range(c):
            if out[t] == k:
                dup = True
                break
        if not dup:
            out[c] = k
            c += 1
    return c


@njit(cache=True, nogil=True, error_model="numpy")
def _charge_kernel(start, deg, nbr, wt, ps, qs, ws, uids, winner, steps, resist, seed, K, T, exempt,  # noqa: ANN001
                   cap, keys, vals, congested, touched):
    """Serial, in candidate order: re-walk each successful winner, then charge its path or mark it congested.

    Returns ``(number of touched keys written, number of re-walks that disagreed with the kernel)``.
    """
    path = np.empty(T + 1, np.int64)
    pk = np.empty(T, np.int64)
    nt = 0
    bad = 0
    for i in range(ps.shape[0]):
        congested[i] = False
        if winner[i] < 0:
            continue
        key = walker_key(np.uint64(seed), np.uint64(uids[i]), np.uint64(winner[i]))
        st, R, _ = _walk(start, deg, nbr, wt, ps[i], qs[i], ws[i], K, T, key, True, exempt, np.inf, path)
        if st != steps[i] or R != resist[i]:
            bad += 1
            continue
        c = _path_keys(path, st, pk)
        charge = ws[i] * R
        worst = 0.0
        for t in range(c):
            s = _slot(keys, pk[t])
            if keys[s] == pk[t] and vals[s] > worst:
                worst = vals[s]
        if worst + charge >= cap:
            congested[i] = True
            continue
        for t in range(c):
            s = _slot(keys, pk[t])
            if keys[s] != pk[t]:
                keys[s] = pk[t]
                vals[s] = 0.0
            vals[s] += charge
            touched[nt] = pk[t]
            nt += 1
    return nt, bad


@njit(cache=True, nogil=True)
def _add_kernel(keys, vals, pkeys, amount):  # noqa: ANN001
    for t in range(pkeys.shape[0]):
        s = _slot(keys, pkeys[t])
        if keys[s] != pkeys[t]:
            keys[s] = pkeys[t]
            vals[s] = 0.0
        vals[s] += amount


@njit(cache=True, nogil=True)
def _get_kernel(keys, vals, q, out):  # noqa: ANN001
    for t in range(q.shape[0]):
        s = _slot(keys, q[t])
        out[t] = vals[s] if keys[s] == q[t] else 0.0


@njit(cache=True, nogil=True)
def _set_kernel(keys, vals, q, x):  # noqa: ANN001
    for t in range(q.shape[0]):
        s = _slot(keys, q[t])
        keys[s] = q[t]
        vals[s] = x[t]


class EdgeLoads:
    """Open-addressing table ``edge key → load`` (float64, same unit as ``w · R``: dimensionless).

    A zero load means "no entry"; :meth:`items` lists the non-zero ones sorted by key.
    """

    def __init__(self, capacity: int = 1024) -> None:
        cap = 1 << max(10, int(capacity - 1).bit_length())
        self.keys = np.full(cap, _EMPTY, np.int64)
        self.vals = np.zeros(cap, np.float64)
        self.used = 0

    # ------------------------------------------------------------------ table upkeep
    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more keys at a fill of at most 1/2 (rehash, dropping zero loads)."""
        if 2 * (self.used + extra) <= self.keys.shape[0]:
            return
        k, v = self.items()
        fresh = EdgeLoads(2 * (k.shape[0] + extra) + 1)
        _set_kernel(fresh.keys, fresh.vals, k, v)
        fresh.used = k.shape[0]
        self.keys, self.vals, self.used = fresh.keys, fresh.vals, fresh.used

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Non-zero loads as ``(keys, loads)`` sorted by key."""
        sel = (self.keys != _EMPTY) & (self.vals != 0.0)
        k, v = self.keys[sel], self.vals[sel]
        o = np.argsort(k, kind="stable")
        return k[o], v[o]

    @classmethod
    def from_items(cls, keys: np.ndarray, vals: np.ndarray) -> EdgeLoads:
        t = cls(2 * len(keys) + 1)
        t.set(np.asarray(keys, np.int64), np.asarray(vals, np.float64))
        return t

    def __len__(self) -> int:
        return int(np.count_nonzero((self.keys != _EMPTY) & (self.vals != 0.0)))

    # ------------------------------------------------------------------ reads and writes
    def get(self, keys: np.ndarray) -> np.ndarray:
        keys = np.ascontiguousarray(keys, np.int64)
        out = np.zeros(keys.shape[0], np.float64)
        _get_kernel(self.keys, self.vals, keys, out)
        return out

    def set(self, keys: np.ndarray, vals: np.ndarray) -> None:
        """Set loads (0 drops an edge's load); exact, so replaying recorded values reproduces the table."""
        keys = np.ascontiguousarray(keys, np.int64)
        self.reserve(keys.shape[0])
        _set_kernel(self.keys, self.vals, keys, np.ascontiguousarray(vals, np.float64))
        self.used += keys.shape[0]  # upper bound (keys may exist already); reserve() recounts on rehash

    def add(self, keys: np.ndarray, amount: float) -> None:
        keys = np.ascontiguousarray(keys, np.int64)
        self.reserve(keys.shape[0])
        _add_kernel(self.keys, self.vals, keys, float(amount))
        self.used += keys.shape[0]

    def max_load(self) -> float:
        return float(self.vals.max(initial=0.0))

    def charge_walks(self, view, ps, qs, ws, uids, walks, *, seed: int, K: float, T: int,  # noqa: ANN001
                     first_step_exempt: bool, cap: float) -> tuple[np.ndarray, np.ndarray]:
        """Charge every successful insertion test's winning walk, in order, unless it would reach ``cap``.

        Returns ``(congested, touched_keys)``: the candidates that must join H although a walker succeeded,
        and the keys whose load changed (with repeats).
        """
        b = len(ps)
        winner = np.where(walks.found, walks.winner, -1).astype(np.int64)
        n_steps = np.asarray(walks.steps, np.int64)
        self.reserve(int(n_steps[winner >= 0].sum()))
        congested = np.zeros(b, np.bool_)
        touched = np.empty(max(int(n_steps[winner >= 0].sum()), 1), np.int64)
        nt, bad = _charge_kernel(view.start, view.deg, view.nbr, view.wt, np.ascontiguousarray(ps, np.int64),
                                 np.ascontiguousarray(qs, np.int64), np.ascontiguousarray(ws, np.float64),
                                 np.ascontiguousarray(uids, np.int64), winner, n_steps,
                                 np.ascontiguousarray(walks.resistance, np.float64), np.uint64(seed), float(K),
                                 int(T), bool(first_step_exempt), float(cap), self.keys, self.vals, congested,
                                 touched)
        if bad:
            raise RuntimeError(f"{bad} winning walks could not be reproduced on the host: backend RNG mismatch")
        self.used += nt
        return congested, touched[:nt]


def winner_path(view, p: int, q: int, w: float, uid: int, walks, *, seed: int, K: float, T: int,  # noqa: ANN001
                first_step_exempt: bool) -> np.ndarray:
    """Vertex sequence of the first successful walker of a one-update insertion test (re-simulated)."""
    path = np.empty(T + 1, np.int64)
    key = walker_key(np.uint64(seed), np.uint64(uid), np.uint64(walks.winner[0]))
    st, _, _ = _walk(view.start, view.deg, view.nbr, view.wt, np.int64(p), np.int64(q), float(w), float(K), int(T),
                     np.uint64(key), True, bool(first_step_exempt), np.inf, path)
    if st != walks.steps[0]:
        raise RuntimeError("a winning walk could not be reproduced on the host: backend RNG mismatch")
    return path[: st + 1].copy()
