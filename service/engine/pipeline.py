"""The dyGRASS paper pipeline (spec ``dygrass.md`` §7) as one function.

Steps, each timed separately (``report["seconds"]``):

``read``
    :func:`~sparsewire.engine.mmio.read_graph` (Matrix Market or edge list, gzip detected).
``h0``
    the GRASS-style initial sparsifier (:func:`~sparsewire.engine.h0.initial_sparsifier`, off-tree budget
    ``offtree_ratio · |V|``) and the :class:`~sparsewire.engine.sparsifier.Sparsifier` built on it.
``kappa_initial``
    κ(L_G0, L_H0) with the spec §1 recipe.
``insert``
    ``round(insert_frac · |V|)`` local edges (2–4 hops apart in G0, weights from {1, 2, 3}, no duplicates,
    :func:`~sparsewire.engine.streams.local_insertions`) applied in ``batches`` batches. Only the
    ``insert_batch`` calls are timed (the stream generation is reported apart, ``seconds.stream_insert``).
``kappa_after_insert``
    κ(L_G_inc, L_H_inc).
``delete``
    ``round(delete_frac · |V|)`` edges of H_inc that are not bridges of G_inc
    (:func:`~sparsewire.engine.streams.sparsifier_deletions`), in ``batches`` batches; again only the
    ``delete_batch`` calls are timed.
``kappa_after_delete``
    κ(L_G_dec, L_H_dec).
``write``
    ``H0.mtx``, ``G.mtx``, ``H.mtx`` (Matrix Market, 1-based, the input's vertex count) and ``report.json``.

The numba kernels are compiled (or loaded from numba's cache) on a tiny graph before anything is timed
(``seconds.warmup``), so compilation never counts as update time.

Determinism: every random choice derives from ``seed`` (tree weights, power vectors, both streams and
the walks' counter-based RNG), so two runs with the same arguments write byte-identical ``H0.mtx``,
``G.mtx`` and ``H.mtx``; only the timings in ``report.json`` differ.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sparsewire.engine.h0 import default_rounds, initial_sparsifier
from sparsewire.engine.mmio import GraphData, read_graph, write_matrix_market
from sparsewire.engine.sparsifier import Sparsifier, SparsifierParams
from sparsewire.engine.streams import local_insertions, sparsifier_deletions
from sparsewire.errors import InvalidInputError

__all__ = ["PHASES", "ProgressCallback", "run_pipeline", "warm_up"]

#: Timed phases, in order (keys of ``report["seconds"]``, besides ``warmup`` and the stream generation).
PHASES = ("read", "h0", "kappa_initial", "insert", "kappa_after_insert", "delete", "kappa_after_delete", "write")

#: ``progress(phase, done, total)``: called with ``done == 0`` when a phase starts, after every batch of the
#: ``insert``/``delete`` phases (``total`` = number of batches) and with ``done == total`` when it ends.
ProgressCallback = Callable[[str, int, int], None]

# Distinct, fixed offsets so the two streams never share random numbers with each other or with H0.
_INSERT_STREAM_TAG = 0x1A5E47
_DELETE_STREAM_TAG = 0xDE1E7E


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports ``ru_maxrss`` in KiB, macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def warm_up(backend: str = "cpu") -> float:
    """Compile (or load from numba's on-disk cache) every kernel the pipeline runs, on a 12×12 grid.

    Both the parallel and the serial (small-batch) walk kernels are exercised, for insertions and
    deletions, plus the stream generators, the H0 selection and κ. Returns the seconds spent.
    """
    t0 = time.perf_counter()
    side = 12
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()]).astype(np.int64)
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()]).astype(np.int64)
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    w = np.ones(len(u))
    n = side * side
    mask = initial_sparsifier(n, u, v, w, offtree_ratio=0.1, seed=0, rounds=2)
    s = Sparsifier.from_edges(n, u, v, w, params=SparsifierParams(K=5.0, steps=20, walkers=16, seed=0),
                              h0_mask=mask, backend=backend)
    iu, iv, iw = local_insertions(s.graph, 24, seed=0)
    s.insert_batch(iu[:16], iv[:16], iw[:16])  # parallel kernel (>= 8 updates)
    s.insert_batch(iu[16:18], iv[16:18], iw[16:18])  # serial kernel
    du, dv = sparsifier_deletions(s.graph, s.sparsifier, 12, seed=0)
    s.delete_batch(du[:9], dv[:9])
    s.delete_batch(du[9:], dv[9:])
    s.kappa()
    s.components()
    return time.perf_counter() - t0


def _split(count: int, batches: int) -> list[tuple[int, int]]:
    """``batches`` contiguous, near-equal ``[a, b)`` slices of ``range(count)`` (empty ones dropped)."""
    bounds = np.linspace(0, count, batches + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _check_args(K: float, insert_frac: float, delete_frac: float, batches: int, seed: int, walkers: int,
                steps: int, offtree_ratio: float, h0_rounds: int | None) -> None:
    checks = [
        (math.isfinite(K) and K > 0, f"--K must be finite and > 0, got {K!r}"),
        (math.isfinite(insert_frac) and 0 <= insert_frac <= 10,
         f"--insert-frac must be in [0, 10], got {insert_frac!r}"),
        (math.isfinite(delete_frac) and 0 <= delete_frac <= 1,
         f"--delete-frac must be in [0, 1], got {delete_frac!r}"),
        (batches >= 1, f"--batches must be >= 1, got {batches!r}"),
        (0 <= seed < 2**31, f"--seed must be in [0, 2**31), got {seed!r}"),
        (1 <= walkers <= 1024, f"--walkers must be in [1, 1024], got {walkers!r}"),
        (1 <= steps <= 4096, f"--steps must be in [1, 4096], got {steps!r}"),
        (0 <= offtree_ratio <= 1, f"--offtree-ratio must be in [0, 1], got {offtree_ratio!r}"),
        (h0_rounds is None or h0_rounds >= 1, f"--h0-rounds must be >= 1, got {h0_rounds!r}"),
    ]
    for ok, message in checks:
        if not ok:
            raise InvalidInputError(message)


def _write_ids(path: Path, g: GraphData) -> None:
    """For inputs whose external ids are not ``1..n``: line ``i`` names the vertex written as ``i``."""
    if g.node_ids is None:
        ids = [str(i + g.base) for i in range(g.n)]
    else:
        ids = [str(x) for x in (g.node_ids.tolist() if isinstance(g.node_ids, np.ndarray) else g.node_ids)]
    path.write_text("".join(f"{x}\n" for x in ids), encoding="utf-8")


def run_pipeline(
    graph_path: str | os.PathLike[str],
    *,
    K: float,
    insert_frac: float = 0.25,
    delete_frac: float = 0.01,
    batches: int = 10,
    seed: int = 0,
    out_dir: str | os.PathLike[str],
    backend: str = "cpu",
    walkers: int = 512,
    steps: int = 100,
    offtree_ratio: float = 0.10,
    h0_rounds: int | None = None,
    congestion: float = 0.0,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run the dyGRASS pipeline on one graph file and write ``H0.mtx``, ``G.mtx``, ``H.mtx``, ``report.json``.

    Parameters
    ----------
    graph_path : path
        Matrix Market (``.mtx``/``.mtx.gz``) or edge-list file.
    K : float
        Distortion threshold of the walks (an insertion is critical when no walker finds ``w · R < K``).
    insert_frac, delete_frac : float
        Stream sizes as fractions of ``|V|`` (paper: about 0.25 and 0.01).
    batches : int
        Number of batches each stream is cut into.
    seed : int
        Root of every random choice.
    out_dir : path
        Created if missing; existing files of the same names are overwritten.
    backend : {"cpu", "cuda", "auto"}
    walkers, steps : int
        W and T of the walks.
    offtree_ratio : float
        Off-tree budget of H0 as a fraction of ``|V|``.
    congestion : float
        Congestion cap of the insertions in units of K (0: off); see :class:`SparsifierParams`.
    h0_rounds : int, optional
        Ranking rounds of the initial sparsifier (default :func:`~sparsewire.engine.h0.default_rounds`: up to
        160 on small graphs, 40 up to 250k vertices, fewer beyond); more rounds give a lower κ(G0, H0) at a
        higher build time.
    progress : callable, optional
        ``progress(phase, done, total)``; see :data:`ProgressCallback`.

    Returns
    -------
    dict
        The report also written to ``out_dir/report.json`` (densities are ``|E_H| / |V|``, κ is
        λ_max(L_G, L_H) with a 1e-6 diagonal shift, times in seconds, throughputs in updates or walker
        steps per second of timed update work, memory in MiB).

    Raises
    ------
    FileNotFoundError
        ``graph_path`` does not exist.
    ParseError
        The graph file is malformed.
    InvalidInputError
        A parameter is out of range.
    BackendUnavailableError
        ``backend="cuda"`` without a CUDA device.
    """
    _check_args(K, insert_frac, delete_frac, batches, seed, walkers, steps, offtree_ratio, h0_rounds)
    graph_path = Path(graph_path)
    if not graph_path.is_file():
        raise FileNotFoundError(f"graph file not found: {graph_path}")
    out = Path(out_dir)

    def tick(phase: str, done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    seconds: dict[str, float] = {}
    params = SparsifierParams(K=float(K), steps=int(steps), walkers=int(walkers), seed=int(seed),
                              offtree_ratio=float(offtree_ratio), congestion=float(congestion))

    # ---------------------------------------------------------------- read
    tick("read", 0, 1)
    t0 = time.perf_counter()
    g = read_graph(graph_path)
    seconds["read"] = time.perf_counter() - t0
    tick("read", 1, 1)
    n = g.n
    out.mkdir(parents=True, exist_ok=True)

    # compile (or load) the kernels after the input is known to be good, before anything else is timed
    tick("warmup", 0, 1)
    seconds["warmup"] = warm_up(backend)
    tick("warmup", 1, 1)

    # ---------------------------------------------------------------- H0
    tick("h0", 0, 1)
    t0 = time.perf_counter()
    rounds = default_rounds(n) if h0_rounds is None else int(h0_rounds)
    h0_mask = initial_sparsifier(n, g.u, g.v, g.w, offtree_ratio=offtree_ratio, seed=seed, rounds=rounds)
    s = Sparsifier.from_edges(n, g.u, g.v, g.w, params=params, h0_mask=h0_mask, backend=backend)
    seconds["h0"] = time.perf_counter() - t0
    tick("h0", 1, 1)
    m_h0 = int(h0_mask.sum())
    density_initial = s.density()
    comps_g0, comps_h0 = s.components()

    tick("kappa_initial", 0, 1)
    t0 = time.perf_counter()
    kappa_initial = s.kappa()
    seconds["kappa_initial"] = time.perf_counter() - t0
    tick("kappa_initial", 1, 1)

    # ---------------------------------------------------------------- insertions
    t0 = time.perf_counter()
    iu, iv, iw = local_insertions(s.graph, int(round(insert_frac * n)), seed=seed ^ _INSERT_STREAM_TAG)
    seconds["stream_insert"] = time.perf_counter() - t0
    ins_slices = _split(len(iu), batches)
    counts_ins: dict[str, int] = {}
    ins_steps = 0.0
    ins_batches: list[dict[str, Any]] = []
    t_ins = 0.0
    tick("insert", 0, len(ins_slices))
    for k, (a, b) in enumerate(ins_slices):
        t1 = time.perf_counter()
        res = s.insert_batch(iu[a:b], iv[a:b], iw[a:b])
        dt = time.perf_counter() - t1
        t_ins += dt
        c = res.counts()
        for name, cnt in c.items():
            counts_ins[name] = counts_ins.get(name, 0) + cnt
        ins_steps += float(res.stats.get("walker_steps", 0.0))
        ins_batches.append({"size": b - a, "added": c.get("added", 0), "seconds": dt,
                            "walker_steps": float(res.stats.get("walker_steps", 0.0))})
        tick("insert", k + 1, len(ins_slices))
    seconds["insert"] = t_ins
    density_after_insert = s.density()
    m_h_inc = s.sparsifier.m

    tick("kappa_after_insert", 0, 1)
    t0 = time.perf_counter()
    kappa_after_insert = s.kappa()
    seconds["kappa_after_insert"] = time.perf_counter() - t0
    tick("kappa_after_insert", 1, 1)

    # ---------------------------------------------------------------- deletions
    t0 = time.perf_counter()
    du, dv = sparsifier_deletions(s.graph, s.sparsifier, int(round(delete_frac * n)),
                                  seed=seed ^ _DELETE_STREAM_TAG)
    seconds["stream_delete"] = time.perf_counter() - t0
    del_slices = _split(len(du), batches)
    counts_del: dict[str, int] = {}
    del_steps = 0.0
    recovered_edges = 0
    fallbacks = 0
    deleted_from_g = 0
    del_batches: list[dict[str, Any]] = []
    t_del = 0.0
    tick("delete", 0, len(del_slices))
    for k, (a, b) in enumerate(del_slices):
        t1 = time.perf_counter()
        res = s.delete_batch(du[a:b], dv[a:b])
        dt = time.perf_counter() - t1
        t_del += dt
        c = res.counts()
        for name, cnt in c.items():
            counts_del[name] = counts_del.get(name, 0) + cnt
        deleted_from_g += int((res.status == 0).sum())
        rec = int(res.stats.get("recovered_edges", 0))
        recovered_edges += rec
        fallbacks += int(res.stats.get("fallback_searches", 0))
        del_steps += float(res.stats.get("walker_steps", 0.0))
        del_batches.append({"size": b - a, "recovered_edges": rec, "seconds": dt,
                            "walker_steps": float(res.stats.get("walker_steps", 0.0))})
        tick("delete", k + 1, len(del_slices))
    seconds["delete"] = t_del

    tick("kappa_after_delete", 0, 1)
    t0 = time.perf_counter()
    kappa_after_delete = s.kappa()
    seconds["kappa_after_delete"] = time.perf_counter() - t0
    tick("kappa_after_delete", 1, 1)
    comps_g, comps_h = s.components()

    # ---------------------------------------------------------------- write
    tick("write", 0, 1)
    t0 = time.perf_counter()
    base = g.base if (g.node_ids is None and g.base >= 1) else 1
    note = f"sparsewire pipeline: {graph_path.name} K={K} seed={seed}"
    write_matrix_market(out / "H0.mtx", n, g.u[h0_mask], g.v[h0_mask], g.w[h0_mask], base=base,
                        comment=note + " (initial sparsifier H0)")
    gu, gv, gw = s.graph.edges()
    write_matrix_market(out / "G.mtx", n, gu, gv, gw, base=base, comment=note + " (final G)")
    hu, hv, hw = s.sparsifier.edges()
    write_matrix_market(out / "H.mtx", n, hu, hv, hw, base=base, comment=note + " (final sparsifier H)")
    # the streams, in order and with the input's ids, so the run can be replayed elsewhere (e.g. over HTTP)
    np.savetxt(out / "stream_insert.txt", np.column_stack([iu + base, iv + base, iw]), fmt=["%d", "%d", "%.17g"],
               header="u v w  (insertions in order; batches of report.batches_detail.insert sizes)")
    np.savetxt(out / "stream_delete.txt", np.column_stack([du + base, dv + base]), fmt="%d",
               header="u v  (deletions in order; batches of report.batches_detail.delete sizes)")
    ids_file = None
    if g.node_ids is not None or g.base != base:
        ids_file = "node_ids.txt"
        _write_ids(out / ids_file, g)
    seconds["write"] = time.perf_counter() - t0

    inserted = len(iu)
    deleted = len(du)
    walker_steps = ins_steps + del_steps
    report: dict[str, Any] = {
        "graph": str(graph_path),
        "n": int(s.n),
        "m_G0": int(g.m),
        "m_H0": m_h0,
        "m_G": int(s.graph.m),
        "m_H": int(s.sparsifier.m),
        "m_H_after_insert": int(m_h_inc),
        "density": s.density(),
        "density_initial": density_initial,
        "density_after_insert": density_after_insert,
        "density_add_all": (m_h0 + inserted) / max(n, 1),
        "kappa_initial": kappa_initial,
        "kappa_after_insert": kappa_after_insert,
        "kappa_after_delete": kappa_after_delete,
        "components_G0": comps_g0,
        "components_H0": comps_h0,
        "components_G": comps_g,
        "components_H": comps_h,
        "inserted": inserted,
        "added_to_H": counts_ins.get("added", 0),
        "share_added": counts_ins.get("added", 0) / inserted if inserted else 0.0,
        "insert_actions": counts_ins,
        "deleted": deleted,
        "deleted_from_G": deleted_from_g,
        "deleted_from_H": counts_del.get("removed", 0) + counts_del.get("recovered", 0),
        "deletions_recovering": counts_del.get("recovered", 0),
        "recovered": recovered_edges,
        "fallback_searches": fallbacks,
        "delete_actions": counts_del,
        "seconds": {k: seconds[k] for k in PHASES},
        "seconds_other": {k: seconds[k] for k in ("warmup", "stream_insert", "stream_delete")},
        "insert_updates_per_s": inserted / t_ins if t_ins > 0 else None,
        "delete_updates_per_s": deleted / t_del if t_del > 0 else None,
        "walker_steps": walker_steps,
        "walker_steps_per_s": walker_steps / (t_ins + t_del) if (t_ins + t_del) > 0 else None,
        "insert_walker_steps_per_s": ins_steps / t_ins if t_ins > 0 else None,
        "delete_walker_steps_per_s": del_steps / t_del if t_del > 0 else None,
        "batches_detail": {"insert": ins_batches, "delete": del_batches},
        "peak_rss_mb": _peak_rss_mb(),
        "backend": s.backend.name,
        "seed": int(seed),
        "K": float(K),
        "walkers": int(walkers),
        "steps": int(steps),
        "batches": int(batches),
        "insert_frac": float(insert_frac),
        "delete_frac": float(delete_frac),
        "offtree_ratio": float(offtree_ratio),
        "congestion": float(congestion),
        "max_congestion_load": s.loads.max_load(),
        "h0_rounds": rounds,
        "id_base": base,
        "node_ids_file": ids_file,
        "files": {"H0": "H0.mtx", "G": "G.mtx", "H": "H.mtx", "report": "report.json"},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    tick("write", 1, 1)
    return report
