"""External node ids ↔ internal vertex indices.

* ``int`` graphs: internal index = id − ``base`` (``base`` is 1 for graphs imported from Matrix Market, whose ids
  are 1-based, and 0 otherwise); the vertex count is the largest id seen − base + 1.
* ``str`` graphs: ids get consecutive internal indices in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sparsewire.engine.dyngraph import MAX_VERTICES


class IdMap:
    def __init__(self, kind: str = "int", *, base: int = 0, names: Sequence[str] = ()) -> None:
        if kind not in ("int", "str"):
            raise ValueError(f"node_ids must be 'int' or 'str', got {kind!r}")
        self.kind = kind
        self.base = int(base)
        self.names: list[str] = list(names)
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.names)}

    def to_internal(self, ids: Sequence[object], *, create: bool | Sequence[bool]) -> tuple[np.ndarray, list[int]]:
        """Internal indices of ``ids`` and the positions of invalid ones (-1 there).

        ``create`` (one flag, or one per id) adds unseen string ids (insertions); otherwise an unseen id maps to
        :data:`MAX_VERTICES` without being an error (a deletion of an unknown vertex is an absent edge).
        """
        out = np.empty(len(ids), np.int64)
        bad: list[int] = []
        if self.kind == "int":
            fast = self._ints_fast(ids)
            if fast is not None:
                return fast, []
            for i, x in enumerate(ids):
                if isinstance(x, bool) or not isinstance(x, int):
                    out[i] = -1
                    bad.append(i)
                    continue
                k = x - self.base
                if not 0 <= k < MAX_VERTICES - 1:
                    out[i] = -1
                    bad.append(i)
                    continue
                out[i] = k
            return out, bad
        creating = [create] * len(ids) if isinstance(create, bool) else create
        for i, x in enumerate(ids):
            if not isinstance(x, str) or not x:
                out[i] = -1
                bad.append(i)
                continue
            k = self.index.get(x)
            if k is None:
                if not creating[i]:
                    out[i] = MAX_VERTICES  # unknown: never an edge
                    continue
                k = len(self.names)
                self.names.append(x)
                self.index[x] = k
            out[i] = k
        return out, bad

    def _ints_fast(self, ids: Sequence[object]) -> np.ndarray | None:
        """Vectorised path for a clean list of in-range Python ints (no bools); None sends it the slow way."""
        if not all(type(x) is int for x in ids):
            return None
        try:
            arr = np.fromiter(ids, dtype=np.int64, count=len(ids)) - self.base
        except OverflowError:
            return None
        if arr.size and (arr.min() < 0 or arr.max() >= MAX_VERTICES - 1):
            return None
        return arr

    def to_external(self, idx: np.ndarray) -> list[object]:
        if self.kind == "int":
            return (np.asarray(idx, np.int64) + self.base).tolist()
        return [self.names[i] for i in np.asarray(idx, np.int64).tolist()]

    def rollback(self, size: int) -> None:
        """Forget string ids created after the map had ``size`` names (a rejected batch)."""
        for name in self.names[size:]:
            del self.index[name]
        del self.names[size:]

    def to_state(self) -> dict[str, object]:
        return {"kind": self.kind, "base": self.base, "names": self.names if self.kind == "str" else []}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> IdMap:
        return cls(str(state["kind"]), base=int(state["base"]), names=list(state.get("names") or []))  # type: ignore[arg-type]
