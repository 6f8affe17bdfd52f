"""Subcommands that talk to a running service through the SDK.

    sparsewire load NAME FILE [--create] [--K 33] [--steps T] [--walkers W] [--seed S] [--directed] [--signed]
    sparsewire replay NAME STREAM_FILE [--batch 1000]
    sparsewire subscribe NAME [--cursor C] [--count N] [--json]
    sparsewire export NAME [--format mtx|csv|json] [--sparsifier] [-o FILE]
    sparsewire info [NAME]
    sparsewire quality NAME [--no-kappa]

Every command takes ``--url`` (``$SPARSEWIRE_URL``, default http://127.0.0.1:8000), ``--token``
(``$SPARSEWIRE_TOKEN``) and ``--json`` (machine-readable stdout).  Progress bars go to stderr.  Exit codes:
0 done, 1 the operation failed (unknown graph, conflict, refused), 2 bad usage or input, 3 service
unreachable or unavailable.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sparsewire.clients._requests import (
    ClientError,
    InvalidRequest,
    ServiceUnavailable,
    TooLarge,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


class InputError(Exception):
    """A local file the command cannot use (exit 2)."""


# ------------------------------------------------------------------------------------------ stream files


def _open_text(path: str) -> io.TextIOBase:
    raw = Path(path).open("rb")  # noqa: SIM115 - handed to the caller's with
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8")


def _node(token: str) -> int | str:
    token = token.strip()
    return int(token) if token.isdigit() else token


def _weight(token: str | None, where: str) -> float | None:
    if token is None or token.strip() == "":
        return None
    try:
        return float(token)
    except ValueError:
        raise InputError(f"{where}: weight {token!r} is not a number") from None


_U_NAMES = ("u", "source", "src", "from", "i", "node1")
_V_NAMES = ("v", "target", "dst", "to", "j", "node2")
_W_NAMES = ("w", "weight", "value")


def read_ops(path: str) -> Iterator[tuple]:
    """Operations of a stream file, as ``("insert", u, v, w)`` / ``("delete", u, v)`` tuples.

    * Matrix Market (``%%MatrixMarket`` banner, optionally gzipped): every entry ``i j [w]`` is an insertion
      (w defaults to 1.0); diagonal entries are skipped.
    * CSV/TSV/whitespace with a header that has an ``op`` column (``insert``/``delete``, also ``+``/``-``,
      ``add``/``remove``) and ``u,v[,w]`` columns (or source/target/weight): mixed operations.
    * ``i j [w]`` lines without an ``op`` column: insertions.  ``#``/``%`` lines are comments.
    """
    try:
        fh = _open_text(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    with fh:
        try:
            first = fh.readline()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
        if first.lstrip().lower().startswith("%%matrixmarket"):
            yield from _mm_ops(fh, path)
        else:
            yield from _csv_ops(first, fh, path)


def _mm_ops(fh: io.TextIOBase, path: str) -> Iterator[tuple]:
    size_seen = False
    for no, line in enumerate(fh, start=2):
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        parts = s.split()
        if not size_seen:
            size_seen = True
            continue
        if len(parts) < 2:
            raise InputError(f"{path}: line {no}: expected 'i j [w]'")
        u, v = _node(parts[0]), _node(parts[1])
        if u == v:
            continue
        w = _weight(parts[2] if len(parts) > 2 else None, f"{path}: line {no}")
        yield ("insert", u, v, abs(w) if w is not None else 1.0)


_OP_NAMES = {"insert": "insert", "add": "insert", "+": "insert", "i": "insert", "delete": "delete",
             "remove": "delete", "del": "delete", "-": "delete", "d": "delete"}


def _csv_ops(first: str, fh: io.TextIOBase, path: str) -> Iterator[tuple]:
    known = {"op", "operation", "kind", *_U_NAMES, *_V_NAMES, *_W_NAMES}
    delim: str | None = ""
    cols: dict[str, int | None] | None = None
    for no, line in enumerate(_chain(first, fh), start=1):
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        if delim == "":  # decided on the first data line; then a header if it names known columns
            delim = "," if "," in s else ("\t" if "\t" in s else None)
            fields = _split(s, delim)
            if any(f.lower() in known for f in fields):
                cols = _columns([f.lower() for f in fields], path)
                continue
        fields = _split(s, delim)
        where = f"{path}: line {no}"
        if cols is None:  # plain "u v [w]" lines: insertions
            if len(fields) < 2:
                raise InputError(f"{where}: expected 'u v [w]'")
            w = _weight(fields[2] if len(fields) > 2 else None, where)
            yield ("insert", _node(fields[0]), _node(fields[1]), 1.0 if w is None else w)
            continue
        try:
            op_field = fields[cols["op"]].lower() if cols["op"] is not None else "insert"
            u, v = _node(fields[cols["u"]]), _node(fields[cols["v"]])  # type: ignore[index]
        except IndexError:
            raise InputError(f"{where}: too few fields") from None
        op = _OP_NAMES.get(op_field)
        if op is None:
            raise InputError(f"{where}: unknown op {op_field!r} (insert or delete)")
        if op == "delete":
            yield ("delete", u, v)
        else:
            wi = cols["w"]
            w = _weight(fields[wi] if wi is not None and wi < len(fields) else None, where)
            yield ("insert", u, v, 1.0 if w is None else w)


def _split(line: str, delim: str | None) -> list[str]:
    fields = next(csv.reader([line], delimiter=delim)) if delim else line.split()
    return [f.strip() for f in fields]


def _chain(first: str, rest: io.TextIOBase) -> Iterator[str]:
    yield first
    yield from rest


def _columns(header: list[str], path: str) -> dict[str, int | None]:
    def find(names: tuple[str, ...]) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    cols = {"op": find(("op", "operation", "kind")), "u": find(_U_NAMES), "v": find(_V_NAMES), "w": find(_W_NAMES)}
    if cols["u"] is None or cols["v"] is None:
        raise InputError(f"{path}: header {','.join(header)!r} needs u and v columns (or source,target)")
    return cols


# ------------------------------------------------------------------------------------------ helpers


def _client(args: argparse.Namespace) -> Any:
    from sparsewire.clients.client import Client  # noqa: PLC0415

    return Client(args.url, args.token, timeout=args.timeout)


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json") if hasattr(model, "model_dump") else model


def _progress(unit: str, *, transfer: bool = False):  # noqa: ANN202
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text  # noqa: PLC0415

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:,.0f} {unit}/s")

    columns = [TextColumn("{task.description}"), BarColumn()]
    columns += [DownloadColumn(), TransferSpeedColumn()] if transfer else [MofNCompleteColumn(), Rate()]
    columns += [TextColumn("eta"), TimeRemainingColumn()]
    return Progress(*columns, console=Console(stderr=True), transient=False)


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command, turning errors into a message on stderr and an exit code."""

    def run(args: argparse.Namespace) -> int:
        prog = f"sparsewire {args.command}"
        try:
            return fn(args)
        except InputError as exc:
            sys.stderr.write(f"{prog}: error: {exc}\n")
            return EXIT_USAGE
        except ServiceUnavailable as exc:
            sys.stderr.write(f"{prog}: error: service unavailable at {args.url or 'the default URL'}: "
                             f"{exc.message}\n")
            return EXIT_UNREACHABLE
        except (InvalidRequest, TooLarge) as exc:
            sys.stderr.write(f"{prog}: error: {exc.message}\n")
            return EXIT_USAGE
        except ClientError as exc:
            sys.stderr.write(f"{prog}: error: {exc.message}\n")
            return EXIT_FAILED
        except KeyboardInterrupt:
            return 130

    return run


# ------------------------------------------------------------------------------------------ commands


def cmd_load(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    params = {k: v for k, v in (("K", args.K), ("steps", args.steps), ("walkers", args.walkers),
                                ("seed", args.seed)) if v is not None}
    with _client(args) as client:
        if args.create:
            client.create_graph(args.name, directed=args.directed, signed=args.signed, **params)
        elif params or args.directed or args.signed:
            raise InputError("--K/--steps/--walkers/--seed/--directed/--signed describe a new graph: add --create")
        else:
            client.get_graph(args.name)  # fail before uploading: NotFound names the graph (use --create)
        bar = _progress("B", transfer=True)
        with bar:
            task = bar.add_task(f"upload {path.name}", total=path.stat().st_size)
            info = client.import_file(args.name, path, format=args.format,
                                      progress=lambda sent, _total: bar.update(task, completed=sent))
    kept = ("directed: no sparsifier" if info.sparsifier_edges is None else
            f"sparsifier {info.sparsifier_edges:,} edges (density {info.density:.4f})")
    _out(args, _dump(info), f"loaded {info.name}: {info.nodes:,} vertices, {info.edges:,} edges, {kept}, "
                            f"cursor {info.cursor}"
         + "".join(f"\nwarning: {w}" for w in info.warnings or []))
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise InputError("--batch must be at least 1")
    ops = list(read_ops(args.stream))
    if not ops:
        raise InputError(f"{args.stream}: no operations")
    counts: dict[str, int] = {}
    cursor, batches, started = None, 0, time.perf_counter()
    with _client(args) as client:
        bar = _progress("ops")
        with bar:
            task = bar.add_task(f"replay {Path(args.stream).name}", total=len(ops))
            chunks = [ops[i:i + args.batch] for i in range(0, len(ops), args.batch)]
            if args.ingest:  # one websocket, pipelined; the bar counts acknowledged (durable) ops
                for ack in client.ingest(args.name, chunks):
                    if "error" in ack:
                        raise InputError(f"batch {ack['id']} rejected: {ack['error']['message']}")
                    for r in ack["results"]:
                        counts[r["action"]] = counts.get(r["action"], 0) + 1
                    cursor, batches = ack["cursor"], batches + 1
                    bar.update(task, advance=len(ack["results"]))
            else:
                for chunk in chunks:
                    reply = client.updates(args.name, chunk)
                    for r in reply.results:
                        counts[r.action] = counts.get(r.action, 0) + 1
                    cursor, batches = reply.cursor, batches + 1
                    bar.update(task, advance=len(chunk))
    seconds = time.perf_counter() - started
    summary = {"graph": args.name, "ops": len(ops), "batches": batches, "cursor": cursor, "actions": counts,
               "seconds": round(seconds, 3), "ops_per_second": round(len(ops) / seconds, 1) if seconds else None}
    _out(args, summary, f"replayed {len(ops):,} operations in {batches} batches ({seconds:.1f} s, "
                        f"{len(ops) / max(seconds, 1e-9):,.0f} ops/s), cursor {cursor}\n"
                        + "actions: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return EXIT_OK


def cmd_subscribe(args: argparse.Namespace) -> int:
    from sparsewire.clients.subscribe import BalanceEvent, DeltaEvent, Heartbeat, Resync  # noqa: PLC0415

    seen = 0
    with _client(args) as client, client.subscribe(args.name, cursor=args.cursor,
                                                   max_retries=args.retries) as sub:
        try:
            for event in sub:
                if isinstance(event, DeltaEvent):
                    d = event.delta
                    data = {"type": "delta", "seq": event.seq, "cursor": event.cursor, "delta": d.model_dump()}
                    text = (f"{event.cursor}\t+{len(d.added)} -{len(d.removed)} ~{len(d.reweighted)}\t"
                            + " ".join([*(f"+{u}-{v}:{w:g}" for u, v, w in d.added[:5]),
                                        *(f"-{u}-{v}" for u, v in d.removed[:5])]))
                elif isinstance(event, BalanceEvent):
                    data = {"type": "balance", **dataclasses.asdict(event)}
                    if event.balanced:
                        text = (f"{event.seq - 1}\tbalanced: camps of {len(event.camp_plus or [])} and "
                                f"{len(event.camp_minus or [])} nodes")
                    else:
                        text = f"{event.seq - 1}\tunbalanced: negative cycle {event.negative_cycle}"
                elif isinstance(event, Resync):
                    data = {"type": "resync", "cursor": event.cursor, "reason": event.reason,
                            "snapshot": event.snapshot.model_dump()}
                    text = f"{event.cursor}\tresync ({event.reason}): {event.snapshot.count:,} sparsifier edges"
                elif isinstance(event, Heartbeat):  # pragma: no cover - heartbeats are off
                    continue
                _out(args, data, text)
                sys.stdout.flush()
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with _client(args) as client:
        text = client.export(args.name, args.format, sparsifier=args.sparsifier)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise InputError(f"cannot write {args.output}: {exc}") from exc
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _info_line(g: Any) -> str:
    if g.sparsifier_edges is None:  # a directed graph: no sparsifier
        return f"{g.name:<24} {g.nodes:>10,} {g.edges:>12,} {'-':>12} {'-':>8} {g.cursor:>8}  directed"
    return (f"{g.name:<24} {g.nodes:>10,} {g.edges:>12,} {g.sparsifier_edges:>12,} {g.density:>8.4f} "
            f"{g.cursor:>8}  K={g.params.get('K')}")


def cmd_info(args: argparse.Namespace) -> int:
    header = f"{'graph':<24} {'vertices':>10} {'edges':>12} {'H edges':>12} {'density':>8} {'cursor':>8}"
    with _client(args) as client:
        if args.name:
            g = client.get_graph(args.name)
            _out(args, _dump(g), json.dumps(_dump(g), indent=2))
        else:
            graphs = client.list_graphs()
            _out(args, [_dump(g) for g in graphs], "\n".join([header, *map(_info_line, graphs)]))
    return EXIT_OK


def cmd_quality(args: argparse.Namespace) -> int:
    with _client(args) as client:
        q = client.quality(args.name, kappa=not args.no_kappa)
    kappa = "n/a" if q.kappa is None else f"{q.kappa:.3f}"
    _out(args, _dump(q), f"kappa {kappa}  density {q.density:.4f}  vertices {q.nodes:,}  edges {q.edges:,}  "
                         f"H edges {q.sparsifier_edges:,}  components G {q.components_graph} H "
                         f"{q.components_sparsifier}  cursor {q.cursor}  ({q.seconds:.2f} s)")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ parsers


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help="service URL ($SPARSEWIRE_URL, default http://127.0.0.1:8000)")
    common.add_argument("--token", default=None, help="bearer token ($SPARSEWIRE_TOKEN)")
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per request (60)")
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    p = subparsers.add_parser("load", parents=[common], help="upload a graph file into a graph",
                              description="Stream a Matrix Market (.mtx, .mtx.gz) or edge-list CSV file into an "
                                          "empty graph (created first with --create) and build its sparsifier.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--create", action="store_true", help="create the graph first")
    p.add_argument("--K", type=float, default=None, help="distortion threshold K (with --create)")
    p.add_argument("--steps", type=int, default=None, help="steps per walker T (with --create)")
    p.add_argument("--walkers", type=int, default=None, help="walkers per update W (with --create)")
    p.add_argument("--seed", type=int, default=None, help="random seed (with --create)")
    p.add_argument("--directed", action="store_true", help="a directed graph: arcs stored for analysis, no "
                   "sparsifier (with --create)")
    p.add_argument("--signed", action="store_true", help="a signed graph: negative weights kept (with --create)")
    p.add_argument("--format", choices=("auto", "mtx", "csv"), default="auto", help="file format (auto)")
    p.set_defaults(func=_guard(cmd_load))

    p = subparsers.add_parser("replay", parents=[common], help="apply an update stream file in batches",
                              description="Apply the operations of STREAM_FILE in batches: Matrix Market or "
                                          "'i j w' lines are insertions; a CSV with an 'op' column "
                                          "(insert/delete) mixes both.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("stream", metavar="STREAM_FILE")
    p.add_argument("--batch", type=int, default=1000, help="operations per batch (1000)")
    p.add_argument("--ingest", action="store_true",
                   help="stream the batches over the ingest websocket (pipelined, acknowledged once durable)")
    p.set_defaults(func=_guard(cmd_replay))

    p = subparsers.add_parser("subscribe", parents=[common], help="print sparsifier deltas as they happen",
                              description="Follow a graph's sparsifier deltas from CURSOR (default: now), "
                                          "reconnecting and resuming by itself; --json prints one JSON object "
                                          "per line.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--cursor", default=None, help="start after this cursor (default: from now)")
    p.add_argument("--count", type=int, default=None, help="stop after N events")
    p.add_argument("--retries", type=int, default=10, help="consecutive reconnection attempts before exit 3 (10)")
    p.set_defaults(func=_guard(cmd_subscribe))

    p = subparsers.add_parser("export", parents=[common], help="write a graph or its sparsifier to a file",
                              description="Write graph G (or its sparsifier H with --sparsifier) as Matrix Market, "
                                          "CSV or JSON.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--format", choices=("mtx", "csv", "json"), default="mtx", help="output format (mtx)")
    p.add_argument("--sparsifier", action="store_true", help="export the sparsifier H instead of G")
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="output file (default: stdout)")
    p.set_defaults(func=_guard(cmd_export))

    p = subparsers.add_parser("info", parents=[common], help="list graphs, or describe one",
                              description="Without NAME: a table of all graphs. With NAME: its description.")
    p.add_argument("name", metavar="NAME", nargs="?")
    p.set_defaults(func=_guard(cmd_info))

    p = subparsers.add_parser("quality", parents=[common], help="kappa, density and components of a graph",
                              description="Relative condition number kappa(L_G, L_H), density and component "
                                          "counts (kappa can take minutes on large graphs: --no-kappa).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--no-kappa", action="store_true", help="skip kappa")
    p.set_defaults(func=_guard(cmd_quality))
