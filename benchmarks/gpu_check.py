"""One prepared GPU check for sparsewire's CUDA walk backend (finishes in well under 5 minutes).

1. Equality: CPU (numba) vs GPU (CuPy) walk results on fe_4elt2 and G3_circuit update streams (local
   insertions 2-4 hops away, walked in a sparsifier H; deletions of H edges, walked in G minus the batch):
   flags, winners, steps, resistances (bit for bit) and deletion paths.
2. G3_circuit timing: insertion and deletion batches (updates/s, walker steps/s, transfer vs kernel seconds,
   incremental patching of H after the batch), CPU baseline on the same stream.
3. A generated 4,194,304-vertex Delaunay-like graph (2048 x 2048 grid triangulated with random diagonals,
   degree ~6 like a planar Delaunay triangulation; scipy.spatial.Delaunay on 4M points is too slow for a
   5-minute budget): one 10 % |V| insertion batch.

Writes one JSON file: ``--out`` (default ``$OUT/gpu_check.json`` when ``OUT`` is set, else
``gpu_check.json``).  ``--cpu-only`` skips every GPU part (used by the tests on machines without a GPU);
``--quick`` shrinks every size.

    python benchmarks/gpu_check.py                 # on a machine with an NVIDIA GPU and CuPy
    python benchmarks/gpu_check.py --cpu-only --quick --out /tmp/x.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from sparsewire.engine.backend import CpuBackend
from sparsewire.engine.dyngraph import DynamicGraph

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "undirected"


def log(msg: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs
def load(name: str, data: Path) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    a = sp.coo_array(scipy.io.mmread(data / f"{name}.mtx.gz"))
    u, v, w = a.row.astype(np.int64), a.col.astype(np.int64), np.abs(a.data.astype(np.float64))
    keep = (u != v) & (w > 0)
    u, v, w = np.minimum(u, v)[keep], np.maximum(u, v)[keep], w[keep]
    n = a.shape[0]
    _, first = np.unique(u * n + v, return_index=True)
    return n, u[first], v[first], w[first]


def sparsifier(n, u, v, w, rng, extra=0.1):  # noqa: ANN001, ANN201
    """Maximum-weight spanning forest plus ``extra * n`` random off-tree edges."""
    t = sp.coo_array(sp.csgraph.minimum_spanning_tree(sp.coo_array((-(w + 1.0), (u, v)), shape=(n, n)).tocsr()))
    tk = np.minimum(t.row, t.col).astype(np.int64) * n + np.maximum(t.row, t.col)
    in_tree = np.isin(u * n + v, tk)
    rest = np.flatnonzero(~in_tree)
    sel = np.sort(np.concatenate([np.flatnonzero(in_tree),
                                  rng.choice(rest, size=min(rest.size, int(extra * n)), replace=False)]))
    return u[sel], v[sel], w[sel]


def local_pairs(n, u, v, count, rng):  # noqa: ANN001, ANN201
    """Vectorised: from random p, a 2-4 hop random walk in G; drops q == p and existing edges."""
    a = sp.coo_array((np.ones(u.size), (u, v)), shape=(n, n)).tocsr()
    a = (a + a.T).tocsr()
    indptr, idx = a.indptr, a.indices
    deg = np.diff(indptr)
    ps = rng.integers(0, n, size=int(count * 3) + 100)
    ps = ps[deg[ps] > 0]
    hops = rng.integers(2, 5, size=ps.size)
    cur = ps.copy()
    for h in range(4):
        live = hops > h
        c = cur[live]
        cur[live] = idx[indptr[c] + (rng.random(c.size) * deg[c]).astype(np.int64)]
    ok = cur != ps
    lo, hi = np.minimum(ps, cur), np.maximum(ps, cur)
    ok &= ~np.isin(lo * n + hi, u * n + v)
    return ps[ok][:count], cur[ok][:count]


def grid_delaunay(side: int, rng) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """side x side grid, every cell split by a random diagonal: a planar triangulation, degree ~6."""
    n = side * side
    idx = np.arange(n, dtype=np.int64).reshape(side, side)
    hu, hv = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    vu, vv = idx[:-1, :].ravel(), idx[1:, :].ravel()
    flip = rng.random((side - 1, side - 1)) < 0.5
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    du = np.where(flip, a, b).ravel()
    dv = np.where(flip, d, c).ravel()
    u = np.concatenate([hu, vu, du])
    v = np.concatenate([hv, vv, dv])
    return n, np.minimum(u, v), np.maximum(u, v), np.ones(u.size)


def comb_sparsifier(side: int, u, v, rng, extra=0.1):  # noqa: ANN001, ANN201
    """Spanning comb of the grid (all row edges + column 0) plus ``extra * n`` random other edges."""
    row = (v - u == 1) & (u // side == v // side)
    col0 = (v - u == side) & (u % side == 0)
    tree = row | col0
    rest = np.flatnonzero(~tree)
    sel = np.sort(np.concatenate([np.flatnonzero(tree),
                                  rng.choice(rest, size=int(extra * side * side), replace=False)]))
    return u[sel], v[sel]


# ---------------------------------------------------------------- checks
FIELDS_I = ("found", "steps", "resistance", "winner")
FIELDS_D = (*FIELDS_I, "paths")


def compare(a, b, fields) -> dict:  # noqa: ANN001
    out = {}
    for f in fields:
        x, y = getattr(a, f), getattr(b, f)
        if f == "resistance":
            x, y = x.view(np.int64), y.view(np.int64)
        out[f] = int(np.count_nonzero(x != y))
    out["equal"] = all(v == 0 for v in out.values())
    return out


def equality(name, n, u, v, w, gpu, cpu, args, rng, n_ins, n_del) -> dict:  # noqa: ANN001
    g = DynamicGraph.from_edges(n, u, v, w)
    hu, hv, hw = sparsifier(n, u, v, w, rng)
    h = DynamicGraph.from_edges(n, hu, hv, hw)
    ps, qs = local_pairs(n, u, v, n_ins, rng)
    ws = rng.choice(np.unique(w)[:8] if np.unique(w).size > 1 else np.array([1.0, 2.0, 3.0]), size=ps.size)
    uids = np.arange(ps.size, dtype=np.int64)
    res = {"vertices": n, "edges": int(u.size), "sparsifier_edges": int(hu.size)}
    t = time.perf_counter()
    c = cpu.insertion(h, ps, qs, ws, uids, seed=args.seed, K=args.K, T=args.T, W=args.W, first_step_exempt=True)
    res["insert"] = {"updates": int(ps.size), "found_frac": float(c.found.mean()),
                     "cpu_s": time.perf_counter() - t}
    if gpu is not None:
        a = gpu.insertion(h, ps, qs, ws, uids, seed=args.seed, K=args.K, T=args.T, W=args.W,
                          first_step_exempt=True)
        res["insert"] |= compare(a, c, FIELDS_I)
    pick = rng.choice(hu.size, size=min(n_del, hu.size), replace=False)
    dp, dq = hu[pick], hv[pick]
    g.remove_edges(dp, dq)
    duids = np.arange(dp.size, dtype=np.int64) + 10**9
    t = time.perf_counter()
    c = cpu.deletion(g, dp, dq, duids, seed=args.seed, T=args.T, W=args.W)
    res["delete"] = {"updates": int(dp.size), "found_frac": float(c.found.mean()), "cpu_s": time.perf_counter() - t}
    if gpu is not None:
        a = gpu.deletion(g, dp, dq, duids, seed=args.seed, T=args.T, W=args.W)
        res["delete"] |= compare(a, c, FIELDS_D)
    log(f"equality {name}: {json.dumps(res)}")
    return res


def timing(label, n, u, v, w, h_edges, gpu, cpu, args, rng, n_ins, n_del, n_cpu) -> dict:  # noqa: ANN001
    hu, hv, hw = h_edges
    h = DynamicGraph.from_edges(n, hu, hv, hw)
    res: dict = {"vertices": n, "edges": int(u.size), "sparsifier_edges": int(hu.size), "W": args.W, "T": args.T,
                 "K": args.K}
    ps, qs = local_pairs(n, u, v, n_ins, rng)
    ws = rng.choice([1.0, 2.0, 3.0], size=ps.size)
    uids = np.arange(ps.size, dtype=np.int64)
    kw = {"seed": args.seed, "K": args.K, "T": args.T, "W": args.W, "first_step_exempt": True}
    m = min(n_cpu, ps.size)
    t = time.perf_counter()
    c = cpu.insertion(h, ps[:m], qs[:m], ws[:m], uids[:m], **kw)
    cpu_s = time.perf_counter() - t
    res["cpu_insert"] = {"updates": m, "seconds": cpu_s, "updates_per_s": m / cpu_s,
                         "walker_steps": int(c.work.sum()), "found_frac": float(c.found.mean())}
    log(f"{label} cpu insert: {res['cpu_insert']}")
    if gpu is not None:
        gpu.insertion(h, ps[:64], qs[:64], ws[:64], uids[:64], **kw)  # compile + first upload
        gpu.reset_timings()
        t = time.perf_counter()
        a = gpu.insertion(h, ps, qs, ws, uids, **kw)
        wall = time.perf_counter() - t
        tm = dict(gpu.timings)
        res["gpu_insert"] = {"updates": int(ps.size), "wall_s": wall, "updates_per_s": ps.size / wall,
                             "kernel_s": tm["kernel_s"], "kernel_updates_per_s": ps.size / tm["kernel_s"],
                             "walker_steps": int(a.work.sum()),
                             "walker_steps_per_s": float(a.work.sum()) / tm["kernel_s"],
                             "transfer_s": gpu.timings.transfer_s, "timings": tm,
                             "found_frac": float(a.found.mean()),
                             "speedup_vs_cpu": (ps.size / wall) / res["cpu_insert"]["updates_per_s"],
                             "cpu_subset_equal": compare(InsSlice(a, m), c, FIELDS_I)["equal"]}
        log(f"{label} gpu insert: {res['gpu_insert']}")
        # add the critical edges to H, then run the next batch: only touched rows are patched
        crit = ~a.found
        h.add_edges(ps[crit], qs[crit], ws[crit], merge=False)
        gpu.reset_timings()
        t = time.perf_counter()
        gpu.insertion(h, ps, qs, ws, uids + ps.size, **kw)
        res["gpu_insert_after_patch"] = {"added_edges": int(crit.sum()), "wall_s": time.perf_counter() - t,
                                         "timings": dict(gpu.timings)}
        log(f"{label} gpu insert after patch: {res['gpu_insert_after_patch']}")
    if n_del:
        g = DynamicGraph.from_edges(n, u, v, w)
        pick = rng.choice(hu.size, size=min(n_del, hu.size), replace=False)
        dp, dq = hu[pick], hv[pick]
        g.remove_edges(dp, dq)
        duids = np.arange(dp.size, dtype=np.int64)
        m = min(n_cpu // 4, dp.size)
        t = time.perf_counter()
        c = cpu.deletion(g, dp[:m], dq[:m], duids[:m], seed=args.seed, T=args.T, W=args.W)
        cpu_s = time.perf_counter() - t
        res["cpu_delete"] = {"updates": m, "seconds": cpu_s, "updates_per_s": m / cpu_s,
                             "walker_steps": int(c.work.sum())}
        if gpu is not None:
            gpu.deletion(g, dp[:64], dq[:64], duids[:64], seed=args.seed, T=args.T, W=args.W)
            gpu.reset_timings()
            t = time.perf_counter()
            a = gpu.deletion(g, dp, dq, duids, seed=args.seed, T=args.T, W=args.W)
            wall = time.perf_counter() - t
            tm = dict(gpu.timings)
            res["gpu_delete"] = {"updates": int(dp.size), "wall_s": wall, "updates_per_s": dp.size / wall,
                                 "kernel_s": tm["kernel_s"], "walker_steps": int(a.work.sum()),
                                 "walker_steps_per_s": float(a.work.sum()) / tm["kernel_s"],
                                 "transfer_s": gpu.timings.transfer_s, "timings": tm,
                                 "found_frac": float(a.found.mean()),
                                 "speedup_vs_cpu": (dp.size / wall) / res["cpu_delete"]["updates_per_s"]}
            log(f"{label} gpu delete: {res['gpu_delete']}")
    return res


class InsSlice:
    """First ``m`` rows of a walk result (to compare the GPU batch with the CPU subset)."""

    def __init__(self, r, m: int) -> None:  # noqa: ANN001
        for f in FIELDS_D:
            if hasattr(r, f):
                setattr(self, f, getattr(r, f)[:m])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else Path("gpu_check.json")
    ap.add_argument("--out", type=Path, default=default_out)
    ap.add_argument("--cpu-only", action="store_true", help="skip every GPU part")
    ap.add_argument("--quick", action="store_true", help="small sizes (tests)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--W", type=int, default=512)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--K", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    q = args.quick
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "python": sys.version.split()[0],
                    "machine": platform.node(), "cpu_count": os.cpu_count()}
    gpu = None
    if not args.cpu_only:
        from sparsewire.kernels.walks_cuda import CudaBackend

        gpu = CudaBackend()
        props = gpu.cp.cuda.runtime.getDeviceProperties(0)
        report["gpu"] = {"name": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
                         "cupy": gpu.cp.__version__}
    cpu = CpuBackend()
    report["equality"] = {}
    report["equality_skipped"] = "--cpu-only: GPU results not computed" if gpu is None else None
    for name, ni, nd in (("fe_4elt2", 2000 if q else 20000, 200 if q else 2000),
                         ("G3_circuit", 1000 if q else 20000, 100 if q else 2000)):
        n, u, v, w = load(name, args.data)
        report["equality"][name] = equality(name, n, u, v, w, gpu, cpu, args, rng, ni, nd)
        if name == "G3_circuit":
            g3 = (n, u, v, w)
    n, u, v, w = g3
    h3 = sparsifier(n, u, v, w, rng)
    report["g3_circuit"] = timing("G3_circuit", n, u, v, w, h3, gpu, cpu, args, rng,
                                  n_ins=2000 if q else n // 10, n_del=200 if q else n // 100,
                                  n_cpu=1000 if q else 50000)
    side = 128 if q else 2048
    t = time.perf_counter()
    n, u, v, w = grid_delaunay(side, rng)
    hu, hv = comb_sparsifier(side, u, v, rng)
    gen_s = time.perf_counter() - t
    report["delaunay_like"] = timing(f"grid_delaunay_{side}", n, u, v, w, (hu, hv, np.ones(hu.size)), gpu, cpu,
                                     args, rng, n_ins=n // 10, n_del=0, n_cpu=1000 if q else 20000)
    report["delaunay_like"]["generate_s"] = gen_s
    report["delaunay_like"]["kind"] = f"{side}x{side} grid with random diagonals"
    report["elapsed_s"] = time.perf_counter() - t0
    eq = [r[k]["equal"] for r in report["equality"].values() for k in ("insert", "delete") if "equal" in r[k]]
    report["all_equal"] = all(eq) if eq else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=float))
    log(f"wrote {args.out} in {report['elapsed_s']:.1f} s; all_equal={report['all_equal']}")
    return 0 if report["all_equal"] in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
