"""numba kernels for the chordal module: linear-time MCS and Lex-BFS, PEO test, hole search, cliques, MCS-M.

All kernels take the undirected simple graph in CSR form (``ptr``, ``nbr``; no loops, no duplicates).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def mcs_visit_order(ptr, nbr, n):  # pragma: no cover - compiled
    """Maximum cardinality search (Tarjan–Yannakakis 1984) with a bucket queue, O(n + m).

    Buckets are doubly linked lists; within a bucket the most recently promoted vertex comes first, and the
    initial bucket lists vertices in input order, so the search starts at vertex 0 (deterministic).
    """
    weight = np.zeros(n, np.int64)
    numbered = np.zeros(n, np.bool_)
    head = np.full(n + 1, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    order = np.empty(n, np.int64)
    for v in range(n - 1, -1, -1):
        h = head[0]
        nxt[v] = h
        prv[v] = -1
        if h != -1:
            prv[h] = v
        head[0] = v
    maxw = 0
    for i in range(n):
        while head[maxw] == -1:
            maxw -= 1
        v = head[maxw]
        # unlink v
        h = nxt[v]
        head[maxw] = h
        if h != -1:
            prv[h] = -1
        numbered[v] = True
        order[i] = v
        for k in range(ptr[v], ptr[v + 1]):
            y = nbr[k]
            if numbered[y]:
                continue
            wy = weight[y]
            # unlink y from bucket wy
            if prv[y] != -1:
                nxt[prv[y]] = nxt[y]
            else:
                head[wy] = nxt[y]
            if nxt[y] != -1:
                prv[nxt[y]] = prv[y]
            wy += 1
            weight[y] = wy
            h = head[wy]
            nxt[y] = h
            prv[y] = -1
            if h != -1:
                prv[h] = y
            head[wy] = y
            if wy > maxw:
                maxw = wy
    return order


@njit(cache=True, nogil=True)
def lexbfs_visit_order(ptr, nbr, n):  # pragma: no cover - compiled
    """Lexicographic breadth-first search (Rose–Tarjan–Lueker 1976) by partition refinement, O(n + m).

    The unvisited vertices sit in ``order[i+1:]`` as consecutive classes (equal labels).  Visiting a pivot
    moves each unvisited neighbour to the front of its class, into a new class just before it (a larger
    label), so the first vertex of the first class always has the lexicographically largest label.  Ties go
    to the vertex in front of its class (the search starts at vertex 0), so the order is deterministic.
    """
    order = np.arange(n, dtype=np.int64)
    pos = np.arange(n, dtype=np.int64)
    cap = n + 2 * ptr[n] + 1
    cls = np.zeros(n, np.int64)
    start = np.zeros(cap, np.int64)
    end = np.zeros(cap, np.int64)
    split_to = np.full(cap, -1, np.int64)
    stamp = np.full(cap, -1, np.int64)
    end[0] = n
    n_cls = 1
    for i in range(n):
        v = order[i]
        start[cls[v]] += 1  # v leaves its class (it is the class's first vertex)
        for k in range(ptr[v], ptr[v + 1]):
            y = nbr[k]
            if pos[y] <= i:
                continue
            c = cls[y]
            if stamp[c] != i:  # first neighbour of v in class c: open the class in front of it
                stamp[c] = i
                split_to[c] = n_cls
                start[n_cls] = start[c]
                end[n_cls] = start[c]
                n_cls += 1
            d = split_to[c]
            f = start[c]  # swap y to the front of c, then hand that slot to d
            z = order[f]
            py = pos[y]
            order[f] = y
            pos[y] = f
            order[py] = z
            pos[z] = py
            start[c] = f + 1
            end[d] = f + 1
            cls[y] = d
    return order


@njit(cache=True, nogil=True)
def peo_parents(ptr, nbr, pos, n):  # pragma: no cover - compiled
    """For each vertex: number of later neighbours and the parent (earliest later neighbour, -1 if none)."""
    later = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    for v in range(n):
        pv = pos[v]
        best = -1
        bpos = n + 1
        c = 0
        for k in range(ptr[v], ptr[v + 1]):
            y = nbr[k]
            py = pos[y]
            if py > pv:
                c += 1
                if py < bpos:
                    bpos = py
                    best = y
        later[v] = c
        parent[v] = best
    return later, parent


@njit(cache=True, nogil=True)
def peo_violation(ptr, nbr, pos, parent, n):  # pragma: no cover - compiled
    """Tarjan–Yannakakis zero-fill test, O(n + m).

    Returns ``(v, p, u)`` for the earliest (in the order) vertex ``v`` whose later neighbour ``u`` (earliest such)
    is not adjacent to its parent ``p``; ``(-1, -1, -1)`` when the order is a PEO.
    """
    # children lists of each parent (CSR)
    cnt = np.zeros(n + 1, np.int64)
    for v in range(n):
        if parent[v] >= 0:
            cnt[parent[v] + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    fill = cnt[:-1].copy()
    kids = np.empty(cnt[n], np.int64)
    for v in range(n):
        p = parent[v]
        if p >= 0:
            kids[fill[p]] = v
            fill[p] += 1
    mark = np.full(n, -1, np.int64)
    bv, bp, bu = -1, -1, -1
    bvpos = n + 1
    for p in range(n):
        if cnt[p] == cnt[p + 1]:
            continue
        for k in range(ptr[p], ptr[p + 1]):
            mark[nbr[k]] = p
        for j in range(cnt[p], cnt[p + 1]):
            v = kids[j]
            if pos[v] >= bvpos:
                continue
            pv = pos[v]
            upos = n + 1
            uu = -1
            for k in range(ptr[v], ptr[v + 1]):
                y = nbr[k]
                if y != p and pos[y] > pv and mark[y] != p and pos[y] < upos:
                    upos = pos[y]
                    uu = y
            if uu >= 0:
                bvpos = pv
                bv, bp, bu = v, p, uu
    return bv, bp, bu


@njit(cache=True, nogil=True)
def hole_path(ptr, nbr, n, v, a, b):  # pragma: no cover - compiled
    """Shortest ``a``–``b`` path avoiding ``N[v] \\ {a, b}`` (BFS); empty array if none.

    With ``a``, ``b`` non-adjacent neighbours of ``v``, the cycle ``v, a, path, b`` is chordless: a shortest path
    is induced and its inner vertices avoid ``N(v)``.
    """
    banned = np.zeros(n, np.bool_)
    banned[v] = True
    for k in range(ptr[v], ptr[v + 1]):
        banned[nbr[k]] = True
    banned[a] = False
    banned[b] = False
    prev = np.full(n, -2, np.int64)
    queue = np.empty(n, np.int64)
    queue[0] = a
    prev[a] = -1
    head, tail = 0, 1
    found = False
    while head < tail and not found:
        x = queue[head]
        head += 1
        for k in range(ptr[x], ptr[x + 1]):
            y = nbr[k]
            if banned[y] or prev[y] != -2:
                continue
            if x == a and y == b:
                continue
            prev[y] = x
            if y == b:
                found = True
                break
            queue[tail] = y
            tail += 1
    if not found:
        return np.empty(0, np.int64)
    length = 0
    x = b
    while x != -1:
        length += 1
        x = prev[x]
    path = np.empty(length, np.int64)
    x = b
    i = length - 1
    while x != -1:
        path[i] = x
        i -= 1
        x = prev[x]
    return path


@njit(cache=True, nogil=True)
def clique_roots(later, parent, n):  # pragma: no cover - compiled
    """Fulkerson–Gross filter: ``C_v = {v} ∪ later(v)`` is maximal unless a child ``u`` (``parent(u) = v``) has
    ``|later(u)| = |later(v)| + 1``.  Returns a boolean mask of vertices whose ``C_v`` is maximal."""
    keep = np.ones(n, np.bool_)
    for u in range(n):
        p = parent[u]
        if p >= 0 and later[u] == later[p] + 1:
            keep[p] = False
    return keep


@njit(cache=True, nogil=True)
def mcs_m(ptr, nbr, n):  # pragma: no cover - compiled
    """MCS-M (Berry–Blair–Heggernes–Peyton 2004): an inclusion-minimal triangulation, O(n m).

    Returns ``(selection order, fill_u, fill_v)``; the reverse of the selection order is a PEO of the completed
    graph.  Each step searches from the chosen vertex ``z`` through unnumbered vertices, visiting buckets in
    increasing order of the largest weight met so far; ``x`` is reached "through lower weights" iff it is
    entered from a bucket ``j < w(x)``.
    """
    weight = np.zeros(n, np.int64)
    numbered = np.zeros(n, np.bool_)
    reached = np.full(n, -1, np.int64)
    adj = np.full(n, -1, np.int64)
    order = np.empty(n, np.int64)
    # bucket stacks as linked lists
    bhead = np.full(n + 1, -1, np.int64)
    bnext = np.empty(n, np.int64)
    sel = np.empty(n, np.int64)
    fu = []
    fv = []
    for i in range(n):
        z = -1
        bw = -1
        for x in range(n):
            if not numbered[x] and weight[x] > bw:
                bw = weight[x]
                z = x
        numbered[z] = True
        order[i] = z
        reached[z] = i
        ns = 0
        maxb = 0
        for k in range(ptr[z], ptr[z + 1]):
            y = nbr[k]
            adj[y] = i
            if numbered[y]:
                continue
            reached[y] = i
            sel[ns] = y
            ns += 1
            wy = weight[y]
            bnext[y] = bhead[wy]
            bhead[wy] = y
            if wy > maxb:
                maxb = wy
        j = 0
        while j <= maxb:
            y = bhead[j]
            if y == -1:
                j += 1
                continue
            bhead[j] = bnext[y]
            for k in range(ptr[y], ptr[y + 1]):
                x = nbr[k]
                if numbered[x] or reached[x] == i:
                    continue
                reached[x] = i
                wx = weight[x]
                if wx > j:
                    sel[ns] = x
                    ns += 1
                    bnext[x] = bhead[wx]
                    bhead[wx] = x
                    if wx > maxb:
                        maxb = wx
                else:
                    bnext[x] = bhead[j]
                    bhead[j] = x
        for s in range(ns):
            x = sel[s]
            weight[x] += 1
            if adj[x] != i:
                fu.append(z)
                fv.append(x)
    fu_a = np.empty(len(fu), np.int64)
    fv_a = np.empty(len(fv), np.int64)
    for k in range(len(fu)):
        fu_a[k] = fu[k]
        fv_a[k] = fv[k]
    return order, fu_a, fv_a


@njit(cache=True, nogil=True)
def degeneracy(ptr, nbr, n):  # pragma: no cover - compiled
    """Degeneracy (max over the min-degree elimination of the current minimum degree), a treewidth lower bound."""
    deg = np.empty(n, np.int64)
    for v in range(n):
        deg[v] = ptr[v + 1] - ptr[v]
    removed = np.zeros(n, np.bool_)
    best = 0
    for _ in range(n):
        v = -1
        dv = n + 1
        for x in range(n):
            if not removed[x] and deg[x] < dv:
                dv = deg[x]
                v = x
        if dv > best:
            best = dv
        removed[v] = True
        for k in range(ptr[v], ptr[v + 1]):
            deg[nbr[k]] -= 1
    return best
