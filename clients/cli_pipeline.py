"""``sparsewire pipeline``: the dyGRASS paper pipeline on one graph file.

    sparsewire pipeline GRAPH --K 33 --insert-frac 0.25 --delete-frac 0.01 --batches 10 --seed 0 --out DIR
                        [--backend cpu|cuda|auto] [--walkers 512] [--steps 100] [--offtree-ratio 0.1] [--congestion 0]
                        [--h0-rounds N] [--json]

Writes ``DIR/H0.mtx``, ``DIR/G.mtx``, ``DIR/H.mtx`` and ``DIR/report.json`` (see
:func:`sparsewire.engine.pipeline.run_pipeline`). Progress goes to stderr; stdout gets a summary, or the
report as JSON with ``--json``. Exit codes: 0 done, 2 bad input (missing file, malformed graph, bad
parameter, unavailable backend).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sparsewire.errors import BackendUnavailableError, InvalidInputError, ParseError

_PHASE_LABELS = {
    "read": "read graph",
    "warmup": "compile kernels",
    "h0": "initial sparsifier H0",
    "kappa_initial": "κ(G0, H0)",
    "insert": "insertion batches",
    "kappa_after_insert": "κ after insertions",
    "delete": "deletion batches",
    "kappa_after_delete": "κ after deletions",
    "write": "write files",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "pipeline",
        help="run the dyGRASS pipeline (H0, insertions, deletions, κ) on a graph file",
        description="Build an initial sparsifier H0 of GRAPH, apply a stream of local insertions and then "
                    "deletions of non-bridge sparsifier edges in batches, measure κ after each phase, and "
                    "write DIR/H0.mtx, DIR/G.mtx, DIR/H.mtx and DIR/report.json.",
    )
    p.add_argument("graph", metavar="GRAPH", help="Matrix Market (.mtx, .mtx.gz) or edge-list file")
    p.add_argument("--K", type=float, required=True, help="distortion threshold K (paper: 33 for fe_4elt2)")
    p.add_argument("--insert-frac", type=float, default=0.25, help="insertions as a fraction of |V| (0.25)")
    p.add_argument("--delete-frac", type=float, default=0.01, help="deletions as a fraction of |V| (0.01)")
    p.add_argument("--batches", type=int, default=10, help="batches per stream (10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--backend", choices=("cpu", "cuda", "auto"), default="cpu", help="walk backend (cpu)")
    p.add_argument("--walkers", type=int, default=512, help="walkers per update W (512)")
    p.add_argument("--steps", type=int, default=100, help="steps per walker T (100)")
    p.add_argument("--offtree-ratio", type=float, default=0.10, help="H0 off-tree budget as a fraction of |V|")
    p.add_argument("--congestion", type=float, default=0.0,
                   help="cap, in units of K, on the distortion skipped insertions may pile onto one H edge "
                        "(0: off, the reference's per-edge test only)")
    p.add_argument("--h0-rounds", type=int, default=None,
                   help="ranking rounds of H0 (default: up to 160 on small graphs, 40 up to 250k vertices, "
                        "fewer beyond)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a summary")
    p.set_defaults(func=run)


def _progress_reporter():  # noqa: ANN202
    """A rich progress display on stderr and the ``progress(phase, done, total)`` callback feeding it."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=False)
    tasks: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(_PHASE_LABELS.get(phase, phase), total=max(total, 1))
        bar.update(tasks[phase], completed=done, total=max(total, 1))

    return bar, progress


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def summary(r: dict[str, Any]) -> str:
    """Human-readable multi-line summary of a pipeline report."""
    s = r["seconds"]
    lines = [
        f"graph        {r['graph']}",
        f"vertices     {r['n']:,}   edges G0 {r['m_G0']:,} -> G {r['m_G']:,}   components G {r['components_G']}, "
        f"H {r['components_H']}",
        f"parameters   K={r['K']:g} W={r['walkers']} T={r['steps']} batches={r['batches']} seed={r['seed']} "
        f"backend={r['backend']} congestion={r['congestion']:g} H0: offtree {r['offtree_ratio']:g}, "
        f"{r['h0_rounds']} rounds",
        "",
        f"{'phase':<20}{'kappa':>10}{'density':>10}{'|E_H|':>12}",
        f"{'initial (H0)':<20}{r['kappa_initial']:>10.2f}{r['density_initial']:>10.4f}{r['m_H0']:>12,}",
        f"{'after insertions':<20}{r['kappa_after_insert']:>10.2f}{r['density_after_insert']:>10.4f}"
        f"{r['m_H_after_insert']:>12,}",
        f"{'after deletions':<20}{r['kappa_after_delete']:>10.2f}{r['density']:>10.4f}{r['m_H']:>12,}",
        "",
        f"insertions   {r['inserted']:,} applied, {r['added_to_H']:,} added to H ({100 * r['share_added']:.1f} %), "
        f"{_fmt(r['insert_updates_per_s'], ',.0f')} updates/s",
        f"deletions    {r['deleted']:,} applied, {r['recovered']:,} edges recovered "
        f"({r['fallback_searches']} exact fallbacks), {_fmt(r['delete_updates_per_s'], ',.0f')} updates/s",
        f"walks        {r['walker_steps']:,.0f} walker steps, {_fmt(r['walker_steps_per_s'], ',.0f')} steps/s",
        "seconds      " + "  ".join(f"{k}={v:.2f}" for k, v in s.items()),
        f"peak RSS     {r['peak_rss_mb']:,.0f} MiB",
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from sparsewire.engine.pipeline import run_pipeline  # noqa: PLC0415

    bar, progress = _progress_reporter()
    try:
        with bar:
            try:
                report = run_pipeline(args.graph, K=args.K, insert_frac=args.insert_frac,
                                      delete_frac=args.delete_frac, batches=args.batches, seed=args.seed,
                                      out_dir=args.out, backend=args.backend, walkers=args.walkers,
                                      steps=args.steps, offtree_ratio=args.offtree_ratio,
                                      h0_rounds=args.h0_rounds, congestion=args.congestion,
                                      progress=progress)
            except BaseException:
                for task in list(bar.tasks):  # do not leave a half-drawn bar above the error message
                    if not task.finished:
                        bar.remove_task(task.id)
                raise
    except ParseError as exc:
        sys.stderr.write(f"sparsewire pipeline: error: cannot read {args.graph}: {exc}\n")
        return 2
    except (InvalidInputError, BackendUnavailableError) as exc:
        sys.stderr.write(f"sparsewire pipeline: error: {exc}\n")
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError, PermissionError) as exc:
        sys.stderr.write(f"sparsewire pipeline: error: {exc}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(summary(report))
        sys.stdout.write(f"wrote        {args.out}/H0.mtx, G.mtx, H.mtx, report.json, stream_insert.txt, "
                         "stream_delete.txt\n")
    return 0
