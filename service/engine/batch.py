"""Edge-update batches, their validation, and the records a batch leaves behind.

A batch is a sequence of operations ``insert(u, v, w)`` / ``delete(u, v)`` on vertex indices.  It is
validated as a whole before anything changes: one bad operation rejects the batch, naming every bad one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparsewire.engine.dyngraph import MAX_VERTICES
from sparsewire.errors import InvalidBatchError

INSERT = 0
DELETE = 1

#: Accepted edge weights (conductances).  Outside this range resistances 1/w and Laplacian entries overflow or
#: underflow in double precision, and merged weights could reach infinity.
MIN_WEIGHT = 1e-100
MAX_WEIGHT = 1e100

#: Per-operation outcome on G.
STATUS = ("applied", "merged", "absent")
APPLIED, MERGED, ABSENT = 0, 1, 2

#: Per-operation outcome on the sparsifier H.
ACTIONS = ("added", "skipped", "removed", "recovered", "unchanged", "reweighted")
ADDED, SKIPPED, REMOVED, RECOVERED, UNCHANGED, REWEIGHTED = range(6)


@dataclass(frozen=True)
class EdgeBatch:
    """Operations in order: ``kind`` (0 insert, 1 delete), endpoints ``u``, ``v`` and weight ``w``.

    Weights of deletions are ignored (NaN by convention).
    """

    kind: np.ndarray
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _exact_ints(self.kind, np.int8))
        object.__setattr__(self, "u", _exact_ints(self.u, np.int64))
        object.__setattr__(self, "v", _exact_ints(self.v, np.int64))
        object.__setattr__(self, "w", np.ascontiguousarray(self.w, np.float64))
        if not (len(self.kind) == len(self.u) == len(self.v) == len(self.w)):
            raise ValueError("kind, u, v and w must have the same length")

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def insertions(cls, u: np.ndarray, v: np.ndarray, w: np.ndarray | None = None) -> EdgeBatch:
        u = np.asarray(u)
        w = np.ones(len(u)) if w is None else w
        return cls(np.zeros(len(u), np.int8), u, v, w)

    @classmethod
    def deletions(cls, u: np.ndarray, v: np.ndarray) -> EdgeBatch:
        u = np.asarray(u)
        return cls(np.ones(len(u), np.int8), u, v, np.full(len(u), np.nan))

    def runs(self) -> list[tuple[int, int, int]]:
        """Maximal stretches of one kind: ``(kind, start, stop)``."""
        if len(self) == 0:
            return []
        cuts = np.flatnonzero(np.diff(self.kind)) + 1
        bounds = [0, *cuts.tolist(), len(self)]
        return [(int(self.kind[a]), a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _exact_ints(values: object, dtype: type) -> np.ndarray:
    """Cast to ``dtype`` without silent truncation or wrap-around: values that are not integers, or that do not
    fit, become -1 so that :func:`validate_batch` rejects them by index."""
    a = np.asarray(values)
    if a.dtype.kind in "iub" and np.can_cast(a.dtype, dtype):
        return np.ascontiguousarray(a, dtype)
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        f = a.astype(np.float64) if a.dtype.kind in "iufb" else np.full(a.shape, np.nan)
    ok = np.isfinite(f) & (f == np.round(f)) & (f >= info.min) & (f <= info.max)
    if a.dtype.kind in "iu":  # large integers: compare exactly, not through float64
        ok = (a >= info.min) & (a <= info.max)
    out = np.full(a.shape, -1, dtype)
    out[ok] = a[ok].astype(dtype)
    return np.ascontiguousarray(out)


def validate_batch(batch: EdgeBatch, *, max_vertices: int = MAX_VERTICES - 1) -> None:
    """Raise :class:`InvalidBatchError` listing every bad operation (``details`` = ``[{"index", "error"}]``).

    Checks: known op kind, integer vertex ids in ``[0, max_vertices)``, no self-loop, and for insertions a
    weight in ``[MIN_WEIGHT, MAX_WEIGHT]``.
    """
    bad: list[dict[str, object]] = []
    kind, u, v, w = batch.kind, batch.u, batch.v, batch.w
    problems = {
        "unknown op kind (expected insert or delete)": (kind != INSERT) & (kind != DELETE),
        f"vertex id out of range [0, {max_vertices})": (u < 0) | (v < 0) | (u >= max_vertices) | (v >= max_vertices),
        "self-loop (u == v)": u == v,
        f"insertion weight must be finite and in [{MIN_WEIGHT:g}, {MAX_WEIGHT:g}]":
            (kind == INSERT) & ~(np.isfinite(w) & (w >= MIN_WEIGHT) & (w <= MAX_WEIGHT)),
    }
    flagged = np.zeros(len(batch), bool)
    for mask in problems.values():
        flagged |= mask
    for i in np.flatnonzero(flagged).tolist():
        reasons = [msg for msg, mask in problems.items() if mask[i]]
        bad.append({"index": i, "error": "; ".join(reasons)})
    if bad:
        shown = ", ".join(f"op {b['index']}: {b['error']}" for b in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InvalidBatchError(f"{len(bad)} invalid operation(s): {shown}{more}", details=bad)


@dataclass(frozen=True)
class Run:
    """What one stretch of a batch did, enough to redo it without walks (recovery replay).

    ``u < v`` canonical ops of one ``kind`` and the sparsifier edges added, in the order applied.
    """

    kind: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    h_added_u: np.ndarray
    h_added_v: np.ndarray
    h_added_w: np.ndarray
    #: congestion loads this run changed (edge keys, final loads; 0 = dropped), empty when congestion is off
    load_keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    load_vals: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))


@dataclass(frozen=True)
class SparsifierDelta:
    """Net change of H over one batch (sorted by ``(u, v)``): edges that appeared (with weight), edges
    that disappeared, and edges whose weight changed (new weight)."""

    added: tuple[np.ndarray, np.ndarray, np.ndarray]
    removed: tuple[np.ndarray, np.ndarray]
    reweighted: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.added[0]) + len(self.removed[0]) + len(self.reweighted[0])


@dataclass(frozen=True)
class BatchResult:
    """Outcome of one batch.

    ``status[i]`` indexes :data:`STATUS` and ``action[i]`` indexes :data:`ACTIONS` for operation ``i``;
    ``delta`` is the net change of H; ``runs`` is the replay record; ``first_uid`` is the RNG update id of
    operation 0 (operation ``i`` uses ``first_uid + i``).
    """

    status: np.ndarray
    action: np.ndarray
    delta: SparsifierDelta
    runs: list[Run]
    first_uid: int
    stats: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of operations per action name."""
        return {ACTIONS[a]: int(c) for a, c in zip(*np.unique(self.action, return_counts=True), strict=True)}
