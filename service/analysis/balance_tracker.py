"""Incremental structural balance for edge streams (parity union-find).

Each vertex stores its parent and the parity ``p(x) = [sigma(x) != sigma(parent(x))]``; ``find`` with path
compression returns the root and the parity to it.  Adding edge ``{u, v}`` with sign ``s`` (parity
``q = [s < 0]``): different roots → union by rank with the parity that satisfies the edge (the edge becomes a
spanning-forest edge); same root → the edge is consistent iff ``p(u) xor p(v) == q``.  Each insertion costs
``O(alpha(n))`` amortised (Tarjan 1975).  The first inconsistent edge makes the graph unbalanced for good (until a
deletion); the witness is the spanning-forest path ``u .. v`` plus the edge, found by one BFS in the forest,
``O(n)``, once.  Deletions cannot be handled by union-find: call :meth:`BalanceTracker.rebuild` with the
surviving edges (``O(m alpha(n))``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError


@dataclass(frozen=True)
class BalanceUpdate:
    """Outcome of one insertion: the verdict after it, whether it changed, and the witness if it just broke."""

    balanced: bool
    changed: bool
    negative_cycle: list | None = None
    negative_cycle_edges: list | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"balanced": self.balanced, "changed": self.changed, "negative_cycle": self.negative_cycle,
                "negative_cycle_edges": self.negative_cycle_edges}


class BalanceTracker:
    """Maintain the structural-balance verdict of a growing signed multigraph.

    Nodes are any hashable ids, created on first use.  Self-loops are ignored (they are not interactions).

    Examples
    --------
    >>> t = BalanceTracker()
    >>> t.add_edge(0, 1, -1).balanced, t.add_edge(1, 2, -1).balanced, t.add_edge(0, 2, -1).balanced
    (True, True, False)
    """

    def __init__(self) -> None:
        self.rebuild(())

    # ------------------------------------------------------------------ state
    def rebuild(self, edges: Iterable[tuple[Hashable, Hashable, float]]) -> BalanceUpdate:
        """Reset and insert ``(u, v, weight)`` edges (call after deletions)."""
        was = getattr(self, "_balanced", True)
        self._index: dict[Hashable, int] = {}
        self._ids: list[Hashable] = []
        self._parent: list[int] = []
        self._parity: list[int] = []
        self._rank: list[int] = []
        self._forest: list[list[tuple[int, int, tuple]]] = []  # (neighbour, sign, edge record)
        self._balanced = True
        self._witness: tuple[list, list] | None = None
        self.edges = 0
        for u, v, w in edges:
            self.add_edge(u, v, w)
        return BalanceUpdate(self._balanced, self._balanced != was, *(self._witness or (None, None)))

    @property
    def balanced(self) -> bool:
        return self._balanced

    @property
    def witness(self) -> tuple[list, list] | None:
        """``(negative_cycle, negative_cycle_edges)`` from the first violation, or ``None``."""
        return self._witness

    def _node(self, x: Hashable) -> int:
        k = self._index.get(x)
        if k is None:
            k = len(self._ids)
            self._index[x] = k
            self._ids.append(x)
            self._parent.append(k)
            self._parity.append(0)
            self._rank.append(0)
            self._forest.append([])
        return k

    def _find(self, x: int) -> tuple[int, int]:
        parent, parity = self._parent, self._parity
        path = []
        while parent[x] != x:
            path.append(x)
            x = parent[x]
        root, acc = x, 0
        for y in reversed(path):  # from the node nearest the root outwards
            acc ^= parity[y]
            parity[y] = acc
            parent[y] = root
        return root, (parity[path[0]] if path else 0)

    def side(self, x: Hashable) -> int:
        """``+1``/``-1``: the camp of ``x`` relative to the root of its component."""
        r, p = self._find(self._index[x])
        return -1 if p else 1

    def sides(self) -> dict[Hashable, int]:
        """Camp (``+1``/``-1``) of every node seen, relative to the root of its component; a bipartition with
        no frustrated edge while :attr:`balanced`."""
        return {x: (-1 if self._find(k)[1] else 1) for k, x in enumerate(self._ids)}

    # ------------------------------------------------------------------ updates
    def add_edge(self, u: Hashable, v: Hashable, weight: float) -> BalanceUpdate:
        """Insert the signed edge ``{u, v}``; ``O(alpha(n))`` amortised."""
        if not weight or weight != weight:
            raise InvalidInputError(f"edge ({u!r}, {v!r}): weight must be nonzero and finite")
        self.edges += 1
        if u == v:
            return BalanceUpdate(self._balanced, False)
        a, b = self._node(u), self._node(v)
        q = 1 if weight < 0 else 0
        ra, pa = self._find(a)
        rb, pb = self._find(b)
        rec = (u, v, float(weight))
        if ra != rb:
            if self._rank[ra] < self._rank[rb]:
                ra, rb = rb, ra
            self._parent[rb] = ra
            self._parity[rb] = pa ^ pb ^ q
            if self._rank[ra] == self._rank[rb]:
                self._rank[ra] += 1
            s = -1 if q else 1
            self._forest[a].append((b, s, rec))
            self._forest[b].append((a, s, rec))
            return BalanceUpdate(self._balanced, False)
        if (pa ^ pb) == q or not self._balanced:
            return BalanceUpdate(self._balanced, False)
        self._balanced = False
        self._witness = self._cycle(a, b, rec)
        return BalanceUpdate(False, True, *self._witness)

    def _cycle(self, a: int, b: int, rec: tuple) -> tuple[list, list]:
        prev: dict[int, tuple[int, tuple]] = {a: (-1, ())}
        queue = [a]
        for x in queue:
            if x == b:
                break
            for y, _s, r in self._forest[x]:
                if y not in prev:
                    prev[y] = (x, r)
                    queue.append(y)
        nodes, recs = [b], []
        x = b
        while x != a:
            x, r = prev[x][0], prev[x][1]
            recs.append(r)
            nodes.append(x)
        nodes.reverse()
        recs.reverse()
        ids = self._ids
        edges = [{"source": s, "target": t, "weight": w} for s, t, w in recs]
        edges.append({"source": rec[0], "target": rec[1], "weight": rec[2]})
        return [ids[x] for x in nodes], edges
