"""Edge signs of a signed graph, kept beside the sparsifier.

A signed graph has edge weights ``w != 0``; the sparsifier works on conductances ``|w|`` (spectral similarity of
the unsigned Laplacians) and this table remembers which edges are negative.  Rules for a batch:

* an insertion of a new edge sets its sign; an insertion of an existing edge **with the same sign** merges
  (magnitudes add, as for unsigned graphs);
* an insertion with the **opposite sign** of the existing edge is an invalid operation (the sum could cross
  zero, which is not an edge): delete the edge first, in the same batch if wanted, to flip its sign;
* a deletion forgets the sign.

Negative edges are stored as int64 keys ``u << 32 | v`` with ``u < v`` (vertex indices are below ``2**31``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sparsewire.engine.batch import DELETE, INSERT, EdgeBatch, validate_batch
from sparsewire.engine.dyngraph import MAX_VERTICES
from sparsewire.errors import InvalidBatchError

_SHIFT = np.int64(32)


def edge_keys(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Canonical int64 keys of undirected pairs."""
    u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
    return (np.minimum(u, v) << _SHIFT) | np.maximum(u, v)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(keys, np.int64)
    return keys >> _SHIFT, keys & np.int64(0xFFFFFFFF)


@dataclass(frozen=True)
class SignPlan:
    """A batch's effect on signs: keys that end up negative / no longer negative, and the magnitude batch."""

    batch: EdgeBatch
    set_negative: np.ndarray
    clear: np.ndarray


class EdgeSigns:
    """The set of negative edges of a signed graph (every other edge of G is positive)."""

    def __init__(self, negative_keys: np.ndarray | None = None) -> None:
        self.negative: set[int] = set() if negative_keys is None else set(np.asarray(negative_keys).tolist())

    @classmethod
    def from_edges(cls, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> EdgeSigns:
        neg = np.asarray(w) < 0
        return cls(edge_keys(np.asarray(u)[neg], np.asarray(v)[neg]))

    def keys(self) -> np.ndarray:
        """Sorted keys of the negative edges."""
        return np.array(sorted(self.negative), np.int64)

    def signs(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``+1``/``-1`` per pair (pairs that are not edges read as ``+1``)."""
        if not self.negative:
            return np.ones(len(u), np.float64)
        neg = np.isin(edge_keys(u, v), self.keys())
        return np.where(neg, -1.0, 1.0)

    def signed(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Magnitudes ``w`` with their edges' signs."""
        return np.asarray(w, np.float64) * self.signs(u, v)

    def plan(self, batch: EdgeBatch, has_edge: Callable[[int, int], bool], *,
             max_vertices: int = MAX_VERTICES - 1) -> SignPlan:
        """Check a batch of signed operations against the current signs, in order; return the magnitude batch.

        ``has_edge(u, v)`` says whether the edge is in G before the batch.  Raises :class:`InvalidBatchError`
        naming every invalid operation: those :func:`validate_batch` finds on the magnitudes, insertions of
        weight 0, and insertions of the opposite sign of the edge they would merge into.
        """
        magnitudes = EdgeBatch(batch.kind, batch.u, batch.v, np.abs(batch.w))
        state: dict[int, int] = {}  # key -> sign after the ops so far (0: no edge)
        bad: list[dict[str, object]] = []
        try:
            validate_batch(magnitudes, max_vertices=max_vertices)
        except InvalidBatchError as exc:
            bad = list(exc.details)
        kinds, us, vs, ws = batch.kind.tolist(), batch.u.tolist(), batch.v.tolist(), batch.w.tolist()
        for i, (k, u, v, w) in enumerate(zip(kinds, us, vs, ws, strict=True)):
            if u == v or u < 0 or v < 0:
                continue  # validate_batch names these
            key = (min(u, v) << 32) | max(u, v)
            if k == DELETE:
                state[key] = 0
                continue
            if k != INSERT:
                continue
            if w == 0:
                bad.append({"index": i, "error": "weight 0 is not a signed edge (use a positive or negative w)"})
                continue
            if w != w:
                continue
            sign = -1 if w < 0 else 1
            now = state.get(key)
            if now is None:
                now = (-1 if key in self.negative else 1) if has_edge(u, v) else 0
            if now and now != sign:
                old = "+" if now > 0 else "-"
                bad.append({"index": i, "error": f"the edge exists with sign {old} and an insertion cannot flip a "
                            "sign (delete the edge first, in the same batch if wanted)"})
                continue
            state[key] = sign
        if bad:
            merged: dict[int, list[str]] = {}
            for b in bad:
                merged.setdefault(int(b["index"]), []).append(str(b["error"]))
            bad = [{"index": i, "error": "; ".join(merged[i])} for i in sorted(merged)]
            shown = ", ".join(f"op {b['index']}: {b['error']}" for b in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise InvalidBatchError(f"{len(bad)} invalid operation(s): {shown}{more}", details=bad)
        items = list(state.items())
        neg = np.array([k for k, s in items if s < 0], np.int64)
        clear = np.array([k for k, s in items if s >= 0 and k in self.negative], np.int64)
        return SignPlan(magnitudes, neg, clear)

    def commit(self, plan: SignPlan) -> None:
        """Apply a planned batch's sign changes (after the engine accepted the batch)."""
        self.negative.difference_update(plan.clear.tolist())
        self.negative.update(plan.set_negative.tolist())

    def replay(self, set_negative: np.ndarray, clear: np.ndarray) -> None:
        self.negative.difference_update(np.asarray(clear).tolist())
        self.negative.update(np.asarray(set_negative).tolist())
