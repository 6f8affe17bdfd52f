"""H0 quality benchmark: build time and kappa(G, H0) on real graphs.

Usage: ``.venv/bin/python benchmarks/h0_quality.py [--g3] [--ratio 0.10] [--seed 0] [--rounds N]``
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sparsewire.engine.h0 import default_rounds, initial_sparsifier
from sparsewire.engine.mmio import read_graph
from sparsewire.engine.quality import components, kappa

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "undirected"


def _adj(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_array:
    return sp.csr_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(name: str, ratio: float, seed: int, rounds: int | None) -> None:
    path = DATA / f"{name}.mtx.gz"
    if not path.exists():
        print(f"{name}: ../shared/data not present, skipped")
        return
    t0 = time.perf_counter()
    g = read_graph(path)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    mask = initial_sparsifier(g.n, g.u, g.v, g.w, offtree_ratio=ratio, seed=seed, rounds=rounds)
    t_build = time.perf_counter() - t0
    gadj = _adj(g.n, g.u, g.v, g.w)
    hadj = _adj(g.n, g.u[mask], g.v[mask], g.w[mask])
    c = components(gadj)
    off = int(mask.sum()) - (g.n - c)
    t0 = time.perf_counter()
    k = kappa(gadj, hadj)
    t_k = time.perf_counter() - t0
    r = default_rounds(g.n) if rounds is None else rounds
    print(f"{name:14s} n={g.n:>9,d} m={g.m:>9,d} read={t_read:6.2f}s rounds={r:3d} "
          f"offtree={off:>8,d} ({off / g.n:.3f} n) build={t_build:7.2f}s kappa={k:9.2f} "
          f"kappa_time={t_k:6.2f}s dens={mask.sum() / g.n:.4f} comps(G)={c} peak_rss={_rss_mb():,.0f} MB",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--g3", action="store_true", help="also run G3_circuit (1.58M vertices, ~2.5 min)")
    ap.add_argument("--ratio", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--graphs", nargs="*", default=["fe_4elt2", "delaunay_n16"])
    a = ap.parse_args()
    names = list(a.graphs) + (["G3_circuit"] if a.g3 else [])
    for name in names:
        run(name, a.ratio, a.seed, a.rounds)


if __name__ == "__main__":
    main()
