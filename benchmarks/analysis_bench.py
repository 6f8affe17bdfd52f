"""Benchmarks for the analysis package.

* chordality with certificate on a ~10^6-edge chordal graph (random 10-tree, PEO + cliques) and on the same
  graph plus a few random chords (not chordal: hole + violation), target < 10 s each on 2 cores;
* structural balance on SNAP Bitcoin OTC (needs ../shared/data), target < 0.5 s.

Run: ``.venv/bin/python benchmarks/analysis_bench.py``.  The first call includes numba compilation (cached on
disk afterwards); it is timed separately as "warm-up".
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from sparsewire.analysis.balance import structural_balance
from sparsewire.analysis.chordal import chordal_check
from sparsewire.analysis.graph import SignedGraph
from sparsewire.analysis.loaders import load_graph

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def k_tree(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.arange(k + 1)
    att = np.zeros((n, k), dtype=np.int64)
    us, vs = [], []
    a, b = np.triu_indices(k + 1, 1)
    us.append(a)
    vs.append(b)
    for v in range(k + 1):
        att[v] = np.delete(base, v)[:k]
    parents = rng.integers(0, np.arange(k + 1, n), size=n - k - 1) if n > k + 1 else []
    drop = rng.integers(0, k, size=n)
    for v, p in zip(range(k + 1, n), parents, strict=True):
        clique = att[p].copy()
        clique[drop[v]] = p  # a k-clique inside the (k+1)-clique {p} ∪ att[p]
        att[v] = clique
    src = np.repeat(np.arange(k + 1, n), k)
    dst = att[k + 1:].ravel()
    us.append(src)
    vs.append(dst)
    return np.concatenate(us), np.concatenate(vs)


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - t:.3f} s")
    return out


def main() -> None:
    timed("warm-up (numba compile/cache load)", lambda: chordal_check(SignedGraph.from_arrays(
        5, [0, 1, 2, 3], [1, 2, 3, 0])))
    n, k = 100_001, 10
    u, v = k_tree(n, k)
    g = timed(f"build SignedGraph (n={n}, m={u.size})", lambda: SignedGraph.from_arrays(n, u, v))
    r = timed("chordal_check chordal 10-tree (PEO + maximal cliques)", lambda: chordal_check(g))
    print(f"  chordal={r.chordal} treewidth={r.treewidth} cliques={len(r.maximal_cliques)}")
    rng = np.random.default_rng(1)
    extra = rng.integers(0, n, size=(20, 2))
    g2 = SignedGraph.from_arrays(n, np.concatenate([u, extra[:, 0]]), np.concatenate([v, extra[:, 1]]))
    r2 = timed(f"chordal_check non-chordal (m={g2.m}, hole + violation, no O(nm) bound)",
               lambda: chordal_check(g2, upper_bound=False))
    print(f"  chordal={r2.chordal} hole length={len(r2.hole) if r2.hole else None}")
    otc = DATA / "signed" / "soc-sign-bitcoinotc.csv.gz"
    if otc.exists():
        go = load_graph(otc)
        rb = timed(f"structural_balance Bitcoin OTC (n={go.n}, m={go.m}, heuristic frustration + spectral-free "
                   "bound)", lambda: structural_balance(go))
        print(f"  balanced={rb.balanced} cycle length={len(rb.negative_cycle)} "
              f"frustration<={rb.frustration['value']} lower_bound={rb.frustration['lower_bound']}")
        timed("structural_balance Bitcoin OTC, verdict + witness only (frustration='none')",
              lambda: structural_balance(go, frustration="none"))
    else:
        print(f"skipped Bitcoin OTC: {otc} not found")


if __name__ == "__main__":
    main()
