"""Structural balance with certificates, and the frustration index (spec §1.4).

A signed graph is *structurally balanced* iff every cycle of its underlying undirected multigraph has an even
number of negative edges, iff its vertices split into two camps with positive edges inside and negative edges
across (Harary 1953; Cartwright–Harary 1956).  Directions are ignored; two reciprocal arcs with opposite signs are
a negative 2-cycle.

Algorithm (Harary–Kabell 1980 style), ``O(n + m)``: BFS every connected component from its smallest vertex (input
order) with ``sigma(root) = +1`` and ``sigma(v) = sigma(u) * sign(u, v)`` along tree edges.  A non-tree edge with
``sigma(u) sigma(v) != sign(u, v)`` is a violation; the first one (edge input order) closes the negative-cycle
witness ``tree-path(u -> lca) + tree-path(lca -> v) + (v, u)``, whose sign product is negative by construction.

Frustration index ``F = min_sigma sum_{(u,v): sigma_u sigma_v != sign} |a_uv|`` is NP-hard (it contains max-cut;
Aref–Mason–Wilson 2020, Facchetti–Iacono–Altafini 2011).  It is additive over components and zero on balanced
ones; unbalanced components with at most ``exact_max_nodes`` (20) vertices are solved exactly by enumeration
(``2^(n_c - 1)`` signatures), larger ones get a heuristic upper bound (BFS signature + greedy single-vertex flips).
Spectral lower bound: ``sigma' L_opp sigma = 4 F(sigma)``, so ``F_c >= n_c lambda_min(L_opp,c) / 4`` (Rayleigh;
dense, components up to ``max_dense_nodes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError, TooLargeError
from .graph import DEFAULT_MAX_DENSE_NODES, SignedGraph, conventions

EXACT_MAX_NODES = 20


@dataclass(frozen=True)
class _Bfs:
    sigma: np.ndarray  # +1 / -1 per vertex
    comp: np.ndarray  # component label per vertex (labels in order of smallest vertex)
    parent: np.ndarray  # parent vertex (-1 for roots)
    parent_edge: np.ndarray  # edge index of the tree edge to the parent (-1 for roots)
    depth: np.ndarray
    roots: list


def _csr(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multigraph incidence in CSR form: for vertex x, ``nbr[ptr[x]:ptr[x+1]]`` with edge ids ``eid``."""
    ends = np.concatenate([u, v])
    other = np.concatenate([v, u])
    eids = np.concatenate([np.arange(u.size), np.arange(u.size)])
    order = np.lexsort((eids, ends))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    return ptr, other[order], eids[order]


def _bfs_signature(n: int, u: np.ndarray, v: np.ndarray, sign: np.ndarray) -> _Bfs:
    ptr, nbr, eid = _csr(n, u, v)
    ptr_l, nbr_l, eid_l, sign_l = ptr.tolist(), nbr.tolist(), eid.tolist(), sign.tolist()
    sigma = [0] * n
    comp = [-1] * n
    parent = [-1] * n
    parent_edge = [-1] * n
    depth = [0] * n
    roots = []
    for r in range(n):
        if comp[r] != -1:
            continue
        label = len(roots)
        roots.append(r)
        comp[r] = label
        sigma[r] = 1
        queue = [r]
        head = 0
        while head < len(queue):
            x = queue[head]
            head += 1
            sx, dx = sigma[x], depth[x] + 1
            for k in range(ptr_l[x], ptr_l[x + 1]):
                y = nbr_l[k]
                if comp[y] == -1:
                    e = eid_l[k]
                    comp[y] = label
                    sigma[y] = sx * sign_l[e]
                    parent[y] = x
                    parent_edge[y] = e
                    depth[y] = dx
                    queue.append(y)
    return _Bfs(np.array(sigma, dtype=np.int64), np.array(comp, dtype=np.int64), np.array(parent),
                np.array(parent_edge), np.array(depth), roots)


def _tree_cycle(bfs: _Bfs, a: int, b: int) -> tuple[list[int], list[int]]:
    """Vertices ``a .. lca .. b`` along the BFS tree and the tree edge ids in that order."""
    left, right, le, re_ = [a], [b], [], []
    x, y = a, b
    while bfs.depth[x] > bfs.depth[y]:
        le.append(int(bfs.parent_edge[x]))
        x = int(bfs.parent[x])
        left.append(x)
    while bfs.depth[y] > bfs.depth[x]:
        re_.append(int(bfs.parent_edge[y]))
        y = int(bfs.parent[y])
        right.append(y)
    while x != y:
        le.append(int(bfs.parent_edge[x]))
        x = int(bfs.parent[x])
        left.append(x)
        re_.append(int(bfs.parent_edge[y]))
        y = int(bfs.parent[y])
        right.append(y)
    right.pop()  # lca already in left
    return left + right[::-1], le + re_[::-1]


def _frustrated_mask(sigma: np.ndarray, u: np.ndarray, v: np.ndarray, sign: np.ndarray) -> np.ndarray:
    return sigma[u] * sigma[v] != sign


def _exact_component(verts: np.ndarray, u: np.ndarray, v: np.ndarray, sign: np.ndarray, mag: np.ndarray):
    """Exhaustive minimum over signatures with ``sigma(verts[0]) = +1``; returns (F, sigma on verts)."""
    k = verts.size
    local = {int(x): i for i, x in enumerate(verts)}
    lu = np.array([local[int(x)] for x in u], dtype=np.int64)
    lv = np.array([local[int(x)] for x in v], dtype=np.int64)
    want = (sign < 0).astype(np.int64)  # an edge is satisfied iff bit(u) xor bit(v) == want
    best_val, best_code = np.inf, 0
    total = 1 << (k - 1)
    chunk = 1 << 16
    for start in range(0, total, chunk):
        codes = (np.arange(start, min(total, start + chunk), dtype=np.int64) << 1)  # bit 0 = root = +1
        f = np.zeros(codes.size)
        for e in range(lu.size):
            bad = (((codes >> lu[e]) ^ (codes >> lv[e])) & 1) != want[e]
            f += mag[e] * bad
        j = int(np.argmin(f))
        if f[j] < best_val - 1e-12:
            best_val, best_code = float(f[j]), int(codes[j])
    sig = np.array([-1 if (best_code >> i) & 1 else 1 for i in range(k)], dtype=np.int64)
    return best_val, sig


def _greedy_flips(n: int, sigma: np.ndarray, u: np.ndarray, v: np.ndarray, sign: np.ndarray,
                  mag: np.ndarray) -> np.ndarray:
    """Single-vertex flips while one lowers ``F`` (each flip lowers F strictly, so this terminates)."""
    sigma = sigma.copy()
    frus = _frustrated_mask(sigma, u, v, sign)
    contrib = np.where(frus, -mag, mag)
    delta = np.bincount(u, weights=contrib, minlength=n) + np.bincount(v, weights=contrib, minlength=n)
    ptr, nbr, eid = _csr(n, u, v)
    ptr_l, nbr_l, eid_l = ptr.tolist(), nbr.tolist(), eid.tolist()
    frus_l, mag_l, delta_l, sig_l = frus.tolist(), mag.tolist(), delta.tolist(), sigma.tolist()
    eps = 1e-12 * max(1.0, float(mag.max()) if mag.size else 1.0)
    changed = True
    while changed:
        changed = False
        for x in range(n):
            if delta_l[x] < -eps:
                changed = True
                sig_l[x] = -sig_l[x]
                delta_l[x] = -delta_l[x]
                for k in range(ptr_l[x], ptr_l[x + 1]):
                    e, y = eid_l[k], nbr_l[k]
                    if y == x:
                        continue
                    step = 2.0 * mag_l[e]
                    delta_l[y] += step if frus_l[e] else -step
                    frus_l[e] = not frus_l[e]
    return np.array(sig_l, dtype=np.int64)


def _component_lower_bound(verts: np.ndarray, u: np.ndarray, v: np.ndarray, sign: np.ndarray,
                           mag: np.ndarray) -> float:
    local = {int(x): i for i, x in enumerate(verts)}
    k = verts.size
    lap = np.zeros((k, k))
    for a, b, s, w in zip(u.tolist(), v.tolist(), sign.tolist(), mag.tolist(), strict=True):
        i, j = local[a], local[b]
        lap[i, i] += w
        lap[j, j] += w
        lap[i, j] -= s * w
        lap[j, i] -= s * w
    lam = float(np.linalg.eigvalsh(lap)[0])
    return max(0.0, k * lam / 4.0)


@dataclass(frozen=True)
class BalanceResult:
    """Structural-balance verdict with certificates.

    Attributes
    ----------
    balanced : bool
    signature : tuple of int
        ``sigma`` per node (input order); the BFS signature when balanced, the best signature found otherwise.
    camps : tuple of dict
        Per connected component (ordered by smallest vertex) ``{"plus": [...], "minus": [...]}`` from ``sigma``.
    negative_cycle : list or None
        Node ids of a negative cycle (closed implicitly), ``None`` when balanced.
    negative_cycle_edges : list or None
        The cycle's edges ``{source, target, weight}`` as stored (original direction), in cycle order.
    frustrated_edges : list
        Edges ``{source, target, weight}`` frustrated w.r.t. ``signature``.
    frustration : dict
        ``{value, exact, lower_bound, method}``.
    components : int
    """

    balanced: bool
    signature: tuple
    camps: tuple
    camp_plus: tuple
    camp_minus: tuple
    negative_cycle: list | None
    negative_cycle_edges: list | None
    frustrated_edges: list
    frustration: dict
    components: int
    warnings: tuple
    conventions: dict

    def to_dict(self) -> dict[str, Any]:
        return {
            "balanced": self.balanced,
            "camps": list(self.camps),
            "camp_plus": list(self.camp_plus),
            "camp_minus": list(self.camp_minus),
            "signature": list(self.signature),
            "negative_cycle": self.negative_cycle,
            "negative_cycle_edges": self.negative_cycle_edges,
            "frustrated_edges": self.frustrated_edges,
            "frustration": dict(self.frustration),
            "components": self.components,
            "warnings": list(self.warnings),
            "conventions": dict(self.conventions),
        }


def structural_balance(
    graph: SignedGraph,
    *,
    frustration: str = "auto",
    exact_max_nodes: int = EXACT_MAX_NODES,
    max_dense_nodes: int = DEFAULT_MAX_DENSE_NODES,
) -> BalanceResult:
    """Balance test with bipartition or negative-cycle witness, and the frustration index.

    Parameters
    ----------
    graph : SignedGraph
    frustration : {"auto", "exact", "heuristic", "none"}
        ``auto``: exact on unbalanced components with ``<= exact_max_nodes`` vertices, heuristic otherwise.
        ``exact`` raises :class:`TooLargeError` if some unbalanced component is larger.  ``none`` skips the index
        (and the spectral bound).

    Complexity
    ----------
    ``O(n + m)`` for the test and witness; ``O(2^(n_c) m_c)`` per small unbalanced component for the exact
    index; ``O(n_c^3)`` for the spectral bound per unbalanced component.
    """
    if frustration not in ("auto", "exact", "heuristic", "none"):
        raise InvalidInputError(f"frustration must be auto|exact|heuristic|none, got {frustration!r}")
    n = graph.n
    u, v, w = graph.src, graph.dst, graph.weight
    sign = np.where(w > 0, 1, -1).astype(np.int64)
    mag = np.abs(w)
    bfs = _bfs_signature(n, u, v, sign)
    viol = _frustrated_mask(bfs.sigma, u, v, sign) if u.size else np.zeros(0, dtype=bool)
    balanced = not bool(viol.any())
    ids = graph.ids

    def edge_dict(e: int) -> dict[str, Any]:
        return {"source": ids[int(u[e])], "target": ids[int(v[e])], "weight": float(w[e])}

    cycle = cycle_edges = None
    if not balanced:
        e = int(np.flatnonzero(viol)[0])
        path, tree_edges = _tree_cycle(bfs, int(u[e]), int(v[e]))
        cycle = [ids[x] for x in path]
        cycle_edges = [edge_dict(t) for t in tree_edges] + [edge_dict(e)]

    sigma = bfs.sigma.copy()
    ncomp = len(bfs.roots)
    comp_edges = bfs.comp[u] if u.size else np.zeros(0, dtype=np.int64)
    bad_comps = sorted(set(bfs.comp[u[viol]].tolist())) if not balanced else []
    value, exact, lower = 0.0, True, 0.0
    method = "bfs_signature"
    if frustration != "none" and bad_comps:
        methods = set()
        heuristic_mask = np.zeros(n, dtype=bool)
        for c in bad_comps:
            verts = np.flatnonzero(bfs.comp == c)
            emask = comp_edges == c
            cu, cv, cs, cm = u[emask], v[emask], sign[emask], mag[emask]
            small = verts.size <= exact_max_nodes
            if frustration == "exact" and not small:
                raise TooLargeError(f"exact frustration index is limited to components of {exact_max_nodes} "
                                    f"nodes (an unbalanced component has {verts.size})")
            if small and frustration != "heuristic":
                fval, sig = _exact_component(verts, cu, cv, cs, cm)
                sigma[verts] = sig
                methods.add("exhaustive")
            else:
                heuristic_mask[verts] = True
                exact = False
                methods.add("greedy_flips")
            if verts.size <= max_dense_nodes:
                lower += _component_lower_bound(verts, cu, cv, cs, cm)
            else:
                lower += float(cm.min())
        if heuristic_mask.any():
            flipped = _greedy_flips(n, sigma, u, v, sign, mag)
            sigma[heuristic_mask] = flipped[heuristic_mask]
        # normalise: every component's smallest vertex in camp_plus (flipping a component keeps F)
        sigma = sigma * sigma[np.array(bfs.roots)][bfs.comp]
        method = "+".join(sorted(methods))
    frus = _frustrated_mask(sigma, u, v, sign) if u.size else np.zeros(0, dtype=bool)
    value = float(mag[frus].sum())
    if frustration == "none" and not balanced:
        exact, lower, value_out = False, None, None
    else:
        value_out = value
    camps = []
    order = np.argsort(bfs.comp, kind="stable")
    bounds = np.searchsorted(bfs.comp[order], np.arange(ncomp + 1))
    for c in range(ncomp):
        verts = order[bounds[c]:bounds[c + 1]]
        camps.append({"plus": [ids[x] for x in verts if sigma[x] > 0],
                      "minus": [ids[x] for x in verts if sigma[x] < 0]})
    return BalanceResult(
        balanced=balanced,
        signature=tuple(int(s) for s in sigma),
        camps=tuple(camps),
        camp_plus=tuple(ids[x] for x in range(n) if sigma[x] > 0),
        camp_minus=tuple(ids[x] for x in range(n) if sigma[x] < 0),
        negative_cycle=cycle,
        negative_cycle_edges=cycle_edges,
        frustrated_edges=[edge_dict(e) for e in np.flatnonzero(frus)],
        frustration={"value": value_out, "exact": exact, "lower_bound": lower, "method": method,
                     "weighted": True},
        components=ncomp,
        warnings=graph.warnings,
        conventions=conventions(graph, None, balance="directions ignored; opposite-sign digons are negative "
                                                    "2-cycles; BFS from the smallest vertex of each component"),
    )


def is_balanced(graph: SignedGraph) -> bool:
    """Only the verdict, ``O(n + m)``."""
    sign = np.where(graph.weight > 0, 1, -1).astype(np.int64)
    bfs = _bfs_signature(graph.n, graph.src, graph.dst, sign)
    return not bool(_frustrated_mask(bfs.sigma, graph.src, graph.dst, sign).any())
