"""Chordality with certificates: PEO, verified holes, PEO verification, cliques, treewidth (spec §1.7).

Works on the *underlying simple undirected graph* (directions and signs dropped; loops and parallel edges were
already dropped/merged and reported by :class:`~sparsewire.analysis.graph.SignedGraph`).

* **Ordering**: maximum cardinality search (Tarjan–Yannakakis 1984) with a bucket queue, ``O(n + m)``, numba.
  The PEO is the **reverse** of the visit order (trap C5/C10: only explicit ordered lists are returned).
* **Test**: Tarjan–Yannakakis zero-fill test, ``O(n + m)``: with ``p(v)`` the earliest later neighbour, the order
  is a PEO iff ``later(v) \\ {p(v)} ⊆ N(p(v))`` for every ``v``.
* **Hole**: when the test fails at ``v`` with later neighbours ``a = p(v)``, ``b`` non-adjacent, a shortest
  ``a``–``b`` path in ``G - (N[v] \\ {a, b})`` closes a chordless cycle ``v, a, ..., b`` of length ``>= 4``.  Every
  hole is re-verified before it is returned.
* **Cliques** (Fulkerson–Gross 1965): ``C_v = {v} ∪ later(v)`` filtered in ``O(n + m)``; ``treewidth = ω - 1``
  (``-1`` for the empty graph, ``0`` edgeless).
* **Completion**: MCS-M (Berry–Blair–Heggernes–Peyton 2004), inclusion-minimal, ``O(n m)``
  (Rose–Tarjan–Lueker 1976 characterise minimality: removing any single fill edge breaks chordality).

networkx's ``is_chordal`` / ``complete_to_chordal_graph`` are quadratic and miss certificates; see spec §3–§4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError, NotChordalError, TooLargeError
from . import _chordal_kernels as K
from .graph import SignedGraph

#: MCS-M costs O(n m); above this n * (n + m) the completion-based treewidth bound is skipped in checks.
COMPLETION_WORK_CAP = 2 * 10**8
#: Largest ``n (n + m)`` :func:`chordal_completion` takes on a non-chordal graph (MCS-M is ``O(n m)``: about
#: 4.4 s on 2 cores at the cap); above it the call raises :class:`TooLargeError` (HTTP 413).
COMPLETION_MAX_WORK = 4 * 10**9


# ---------------------------------------------------------------------------- structure
@dataclass(frozen=True, eq=False)
class Pattern:
    """Undirected simple graph in CSR form (``nbr[ptr[v]:ptr[v+1]]`` sorted)."""

    n: int
    ptr: np.ndarray
    nbr: np.ndarray

    @property
    def m(self) -> int:
        return int(self.nbr.size // 2)

    @classmethod
    def from_pairs(cls, n: int, u: np.ndarray, v: np.ndarray) -> Pattern:
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        keep = u != v
        a, b = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
        key = np.unique(a * max(n, 1) + b)
        a, b = key // max(n, 1), key % max(n, 1)
        ends = np.concatenate([a, b])
        other = np.concatenate([b, a])
        order = np.argsort(ends * max(n, 1) + other, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
        return cls(n, ptr, np.ascontiguousarray(other[order]))

    def has_edge(self, a: int, b: int) -> bool:
        row = self.nbr[self.ptr[a]:self.ptr[a + 1]]
        k = int(np.searchsorted(row, b))
        return k < row.size and int(row[k]) == b

    def neighbours(self, v: int) -> np.ndarray:
        return self.nbr[self.ptr[v]:self.ptr[v + 1]]


def pattern_of(graph: SignedGraph) -> Pattern:
    """The cached undirected simple pattern of ``graph``: every input pair, also those whose weights cancelled."""
    pat = graph.__dict__.get("_pattern_cache")
    if pat is None:
        pat = Pattern.from_pairs(graph.n, np.concatenate([graph.src, graph.cancelled[:, 0]]),
                                 np.concatenate([graph.dst, graph.cancelled[:, 1]]))
        object.__setattr__(graph, "_pattern_cache", pat)
    return pat


# ---------------------------------------------------------------------------- kernels wrapped
def mcs_peo(pat: Pattern) -> np.ndarray:
    """Reverse of the MCS visit order (a PEO iff the graph is chordal), ``O(n + m)``."""
    if pat.n == 0:
        return np.zeros(0, dtype=np.int64)
    return K.mcs_visit_order(pat.ptr, pat.nbr, pat.n)[::-1].copy()


def lexbfs_peo(pat: Pattern) -> np.ndarray:
    """Reverse of the Lex-BFS visit order (a PEO iff the graph is chordal), ``O(n + m)``."""
    if pat.n == 0:
        return np.zeros(0, dtype=np.int64)
    return K.lexbfs_visit_order(pat.ptr, pat.nbr, pat.n)[::-1].copy()


ORDERINGS = {"mcs": mcs_peo, "lexbfs": lexbfs_peo}


def _positions(order: np.ndarray, n: int) -> np.ndarray:
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    return pos


def find_violation(pat: Pattern, order: np.ndarray) -> tuple[int, int, int] | None:
    """First ``(v, parent, u)`` with ``u ∈ later(v)`` not adjacent to ``parent``; ``None`` for a PEO."""
    if pat.n == 0:
        return None
    pos = _positions(order, pat.n)
    _, parent = K.peo_parents(pat.ptr, pat.nbr, pos, pat.n)
    v, p, u = K.peo_violation(pat.ptr, pat.nbr, pos, parent, pat.n)
    return None if v < 0 else (int(v), int(p), int(u))


def verify_hole(pat: Pattern, cycle: Sequence[int]) -> bool:
    """True iff ``cycle`` is a chordless cycle of ``pat``: length >= 4, distinct vertices, consecutive vertices
    adjacent, no other adjacency among its vertices.  ``O(sum of degrees on the cycle)``."""
    k = len(cycle)
    if k < 4 or len(set(cycle)) != k:
        return False
    where = {int(x): i for i, x in enumerate(cycle)}
    for i, x in enumerate(cycle):
        nb = pat.neighbours(int(x))
        inside = sorted(where[int(y)] for y in nb.tolist() if int(y) in where) if nb.size < 4 * k else \
            sorted(where[int(y)] for y in cycle if pat.has_edge(int(x), int(y)))
        if inside != sorted({(i - 1) % k, (i + 1) % k}):
            return False
    return True


def find_hole(pat: Pattern, violation: tuple[int, int, int], order: np.ndarray) -> list[int] | None:
    """A verified hole from a violation triple (spec §1.7), trying further later-neighbour pairs if needed."""
    v, p, u = violation
    path = K.hole_path(pat.ptr, pat.nbr, pat.n, v, p, u)
    if path.size:
        cyc = [v, *path.tolist()]
        if verify_hole(pat, cyc):
            return cyc
    # fallback (not observed in practice): other non-adjacent pairs of later(v)
    pos = _positions(order, pat.n)
    later = [int(y) for y in pat.neighbours(v) if pos[y] > pos[v]]
    tries = 0
    for i, a in enumerate(later):
        for b in later[i + 1:]:
            if pat.has_edge(a, b):
                continue
            tries += 1
            path = K.hole_path(pat.ptr, pat.nbr, pat.n, v, a, b)
            if path.size:
                cyc = [v, *path.tolist()]
                if verify_hole(pat, cyc):
                    return cyc
            if tries > 1000:
                return None
    return None


def _cliques_from_peo(pat: Pattern, order: np.ndarray) -> list[np.ndarray]:
    pos = _positions(order, pat.n)
    later, parent = K.peo_parents(pat.ptr, pat.nbr, pos, pat.n)
    keep = K.clique_roots(later, parent, pat.n)
    out = []
    for v in order[keep[order]].tolist():
        nb = pat.neighbours(v)
        members = np.concatenate([[v], nb[pos[nb] > pos[v]]])
        out.append(np.sort(members))
    out.sort(key=lambda c: c.tolist())
    return out


def _clique_number(pat: Pattern, peo: np.ndarray) -> int:
    """``ω = 1 + max |later(v)|`` for a PEO (0 for the empty graph)."""
    if pat.n == 0:
        return 0
    later, _ = K.peo_parents(pat.ptr, pat.nbr, _positions(peo, pat.n), pat.n)
    return int(later.max()) + 1


# ---------------------------------------------------------------------------- results
def _conv(**extra: Any) -> dict[str, Any]:
    return {"graph": "underlying simple undirected graph (directions and signs ignored)",
            "peo": "v_1..v_n with every v_i simplicial in G[v_i..v_n]; the PEO is the reverse of the visit order",
            **extra}


@dataclass(frozen=True)
class ChordalResult:
    """Chordality verdict with certificate.

    Attributes
    ----------
    chordal : bool
    peo : list or None
        Perfect elimination ordering (node ids) when chordal.
    visit_order : list or None
        The MCS visit order (the PEO reversed), for transparency.
    hole : list or None
        Verified chordless cycle (node ids, closed implicitly) when not chordal.
    violation : dict or None
        ``{vertex, parent, non_adjacent_pair}`` where the computed order fails.
    maximal_cliques : list or None
        When chordal (and requested): cliques as lists of node ids.
    clique_number, treewidth : int or None
        When chordal; ``treewidth = -1`` for the empty graph.
    treewidth_upper_bound : int or None
        When not chordal: ``ω(H) - 1`` of the MCS-M completion ``H`` (skipped above the work cap).
    """

    chordal: bool
    peo: list | None
    visit_order: list | None
    hole: list | None
    violation: dict | None
    maximal_cliques: list | None
    clique_number: int | None
    treewidth: int | None
    treewidth_upper_bound: int | None
    certificate_reason: str | None
    n: int
    m: int
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def chordal_check(
    graph: SignedGraph,
    *,
    ordering: str = "lexbfs",
    certificate: bool = True,
    cliques: bool = True,
    upper_bound: bool = True,
) -> ChordalResult:
    """Chordality test with a PEO (chordal) or a verified hole + violation triple (not chordal).

    Parameters
    ----------
    ordering : {"lexbfs", "mcs"}
        Lexicographic BFS by partition refinement (Rose–Tarjan–Lueker; the default) or maximum cardinality
        search (Tarjan–Yannakakis). Both run in ``O(n + m)`` and give a PEO exactly when the graph is chordal.
    certificate : bool
        Compute the hole when not chordal.
    cliques : bool
        Return maximal cliques when chordal.
    upper_bound : bool
        When not chordal, compute ``treewidth_upper_bound`` from an MCS-M completion (``O(n m)``, skipped with a
        warning when ``n (n + m)`` exceeds the work cap).

    Complexity
    ----------
    ``O(n + m)`` (plus the optional completion).
    """
    warns = list(graph.warnings)
    if ordering not in ORDERINGS:
        raise InvalidInputError(f"ordering must be 'mcs' or 'lexbfs', got {ordering!r}")
    pat = pattern_of(graph)
    order = ORDERINGS[ordering](pat)
    viol = find_violation(pat, order)
    ids = graph.ids
    conv = _conv(ordering=ordering)
    if viol is None:
        omega = _clique_number(pat, order)
        cl = _cliques_from_peo(pat, order) if cliques else []
        return ChordalResult(
            chordal=True, peo=graph.id_list(order), visit_order=graph.id_list(order[::-1]), hole=None,
            violation=None, maximal_cliques=[graph.id_list(c) for c in cl] if cliques else None,
            clique_number=omega, treewidth=omega - 1, treewidth_upper_bound=omega - 1, certificate_reason=None,
            n=graph.n, m=pat.m, warnings=tuple(warns), conventions=conv,
        )
    v, p, u = viol
    hole = reason = None
    if certificate:
        h = find_hole(pat, viol, order)
        if h is None:
            reason = "no chordless cycle found from the violating vertex"
        else:
            hole = [ids[x] for x in h]
    tw_ub = None
    if upper_bound:
        if pat.n * (pat.n + pat.m) <= COMPLETION_WORK_CAP:
            tw_ub = _completion(pat)[3]
        else:
            warns.append({"code": "upper_bound_skipped",
                          "message": "treewidth_upper_bound needs an O(n m) completion; graph above the work cap"})
    return ChordalResult(
        chordal=False, peo=None, visit_order=None, hole=hole,
        violation={"vertex": ids[v], "parent": ids[p], "non_adjacent_pair": [ids[p], ids[u]]},
        maximal_cliques=None, clique_number=None, treewidth=None, treewidth_upper_bound=tw_ub,
        certificate_reason=reason, n=graph.n, m=pat.m, warnings=tuple(warns), conventions=conv,
    )


@dataclass(frozen=True)
class PeoVerification:
    """Result of :func:`verify_peo`: ``is_peo``, ``violation`` and ``input_errors {missing, duplicates,
    unknown}``."""

    is_peo: bool
    violation: dict | None
    input_errors: dict | None
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {"is_peo": self.is_peo, "violation": self.violation, "input_errors": self.input_errors,
                "warnings": list(self.warnings), "conventions": dict(self.conventions)}


def verify_peo(graph: SignedGraph, ordering: Sequence[Any]) -> PeoVerification:
    """Is ``ordering`` (node ids, first eliminated first) a perfect elimination ordering?  ``O(n + m)``.

    An ordering that is not a permutation of the nodes gives ``is_peo = false`` with ``input_errors`` listing
    ``missing``, ``duplicates`` and ``unknown`` ids (no exception).  On failure ``violation`` is
    ``{vertex: v, parent: p(v), non_adjacent_pair: [p(v), u]}`` for the earliest failing ``v``.
    """
    if ordering is None or isinstance(ordering, (str, bytes)) or not isinstance(ordering, Sequence):
        raise InvalidInputError("ordering must be a list of node ids")
    lookup = graph._lookup()
    seen: set = set()
    dups, unknown, idx = [], [], []
    for x in ordering:
        try:
            k = lookup.get(x)
        except TypeError:
            k = None
        if k is None:
            unknown.append(x)
        elif k in seen:
            if x not in dups:
                dups.append(x)
        else:
            seen.add(k)
            idx.append(k)
    missing = [graph.ids[k] for k in range(graph.n) if k not in seen]
    conv = _conv()
    if dups or unknown or missing:
        return PeoVerification(False, None, {"missing": missing, "duplicates": dups, "unknown": unknown},
                               graph.warnings, conv)
    pat = pattern_of(graph)
    viol = find_violation(pat, np.asarray(idx, dtype=np.int64))
    if viol is None:
        return PeoVerification(True, None, None, graph.warnings, conv)
    v, p, u = viol
    ids = graph.ids
    return PeoVerification(False, {"vertex": ids[v], "parent": ids[p], "non_adjacent_pair": [ids[p], ids[u]]},
                           None, graph.warnings, conv)


# ---------------------------------------------------------------------------- completion
def _completion(pat: Pattern):
    if pat.n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, -1
    sel, fu, fv = K.mcs_m(pat.ptr, pat.nbr, pat.n)
    peo = sel[::-1].copy()
    full = Pattern.from_pairs(pat.n, np.concatenate([_pairs(pat)[0], fu]), np.concatenate([_pairs(pat)[1], fv]))
    return peo, fu, fv, _clique_number(full, peo) - 1


def _pairs(pat: Pattern) -> tuple[np.ndarray, np.ndarray]:
    src = np.repeat(np.arange(pat.n), np.diff(pat.ptr))
    keep = src < pat.nbr
    return src[keep], pat.nbr[keep]


@dataclass(frozen=True)
class CompletionResult:
    """Inclusion-minimal chordal completion.

    Attributes
    ----------
    fill_edges : list
        ``[a, b]`` node-id pairs added (each pair in input order of its ends; list sorted by input index).
    minimal : bool
        ``True`` for MCS-M (inclusion-minimal, Berry et al. 2004).
    elimination_order : list
        A PEO of the completed graph (a real ordering, also when ``already_chordal``).
    treewidth_of_completion : int
        ``ω(H) - 1`` (``-1`` for the empty graph).
    already_chordal : bool
    """

    fill_edges: list
    minimal: bool
    elimination_order: list
    treewidth_of_completion: int
    already_chordal: bool
    method: str
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def chordal_completion(graph: SignedGraph, *, method: str = "mcs_m") -> CompletionResult:
    """Inclusion-minimal triangulation by MCS-M, ``O(n m)``; a non-chordal graph with ``n (n + m)`` above
    :data:`COMPLETION_MAX_WORK` raises :class:`TooLargeError` (a chordal one is answered in linear time).

    ``method`` accepts ``"mcs_m"`` only (``lex_m``, ``min_fill``, ``min_degree`` are not implemented and raise
    :class:`InvalidInputError`).  For an already chordal input the fill is empty and the elimination order is the
    MCS PEO of the input (never a vector of zeros; trap C3).
    """
    if method != "mcs_m":
        raise InvalidInputError(f"completion method {method!r} is not available (supported: 'mcs_m')")
    pat = pattern_of(graph)
    conv = _conv(method="mcs_m")
    peo = mcs_peo(pat)
    if find_violation(pat, peo) is None:
        return CompletionResult([], True, graph.id_list(peo), _clique_number(pat, peo) - 1, True,
                                "mcs_m", graph.warnings, conv)
    work = pat.n * (pat.n + pat.m)
    if work > COMPLETION_MAX_WORK:
        raise TooLargeError(f"chordal completion (MCS-M) costs O(n m) on a non-chordal graph: n (n + m) = {work} "
                            f"exceeds {COMPLETION_MAX_WORK}", details={"n": pat.n, "m": pat.m,
                                                                     "max_work": COMPLETION_MAX_WORK})
    peo, fu, fv, tw = _completion(pat)
    a, b = np.minimum(fu, fv), np.maximum(fu, fv)
    order = np.lexsort((b, a))
    fill = [[graph.ids[int(a[k])], graph.ids[int(b[k])]] for k in order]
    return CompletionResult(fill, True, graph.id_list(peo), int(tw), False, "mcs_m", graph.warnings, conv)


# ---------------------------------------------------------------------------- cliques and treewidth
@dataclass(frozen=True)
class CliquesResult:
    """Maximal cliques of a chordal graph (lists of node ids, sorted), clique number and treewidth."""

    maximal_cliques: list
    clique_number: int
    treewidth: int
    chromatic_number: int
    peo: list
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _not_chordal(res: ChordalResult) -> NotChordalError:
    return NotChordalError("graph is not chordal", details={"hole": res.hole, "violation": res.violation})


def maximal_cliques(graph: SignedGraph, *, require_chordal: bool = True) -> CliquesResult:
    """Maximal cliques via a PEO (Fulkerson–Gross), ``O(n + m)``.

    Raises
    ------
    NotChordalError
        When the graph is not chordal; ``details = {"hole": [...], "violation": {...}}`` (never garbage cliques).
        ``require_chordal=False`` is not supported (general maximal-clique enumeration is exponential).
    """
    if not require_chordal:
        raise InvalidInputError("require_chordal=false is not supported: cliques are computed from a PEO")
    res = chordal_check(graph, cliques=True, upper_bound=False)
    if not res.chordal:
        raise _not_chordal(res)
    return CliquesResult(res.maximal_cliques, res.clique_number, res.treewidth, res.clique_number, res.peo,
                         res.warnings, res.conventions)


def chordal_treewidth(graph: SignedGraph) -> int:
    """Treewidth of a chordal graph: ``ω - 1``; ``-1`` for 0 nodes, ``0`` for edgeless graphs (traps C6, C7).

    Raises :class:`NotChordalError` carrying the hole when the graph is not chordal.
    """
    res = chordal_check(graph, cliques=True, upper_bound=False)
    if not res.chordal:
        raise _not_chordal(res)
    return int(res.treewidth)


def treewidth_upper_bound(graph: SignedGraph) -> int:
    """``ω(H) - 1`` of the MCS-M minimal completion ``H`` (exact when the graph is chordal)."""
    return chordal_completion(graph).treewidth_of_completion


def treewidth_bounded(graph: SignedGraph, bound: int) -> dict[str, Any]:
    """Answer "is treewidth <= bound?" without ever failing with an assertion (trap C8).

    Returns ``{"status": "ok", "treewidth": t, "exact": true}`` (chordal, ``t <= bound``),
    ``{"status": "bound_exceeded", "bound": b, "lower_bound": l}`` when a lower bound (exact treewidth for chordal
    graphs, degeneracy otherwise) exceeds ``bound``, ``{"status": "within_bound", "upper_bound": u, ...}`` when
    the completion's width is ``<= bound``, else ``{"status": "undecided", "lower_bound", "upper_bound"}``.
    """
    bound = int(bound)
    pat = pattern_of(graph)
    res = chordal_check(graph, cliques=True, upper_bound=False)
    if res.chordal:
        tw = int(res.treewidth)
        if tw > bound:
            return {"status": "bound_exceeded", "bound": bound, "lower_bound": tw}
        return {"status": "ok", "treewidth": tw, "exact": True, "bound": bound}
    lower = int(K.degeneracy(pat.ptr, pat.nbr, pat.n)) if pat.n else -1
    if lower > bound:
        return {"status": "bound_exceeded", "bound": bound, "lower_bound": lower}
    upper = treewidth_upper_bound(graph)
    if upper <= bound:
        return {"status": "within_bound", "bound": bound, "lower_bound": lower, "upper_bound": upper}
    return {"status": "undecided", "bound": bound, "lower_bound": lower, "upper_bound": upper}
