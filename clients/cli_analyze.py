"""``sparsewire analyze ...``: the analysis package on a graph file (no service needed).

Subcommands: balance, consensus, observability, perturbation, chordal, verify-peo, complete, cliques.  FILE is a
CSV edge list (``source,target,weight[,...]``), Matrix Market, KONECT ``out.*`` or PACE ``.gr``.  Prints a
readable summary, or the full result with ``--json``.  Exit codes: 0 success, 2 bad input, 1 when a
``cliques`` request meets a non-chordal graph.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sparsewire.errors import InvalidInputError, NotChordalError, SparsewireError, TooLargeError

SUBCOMMANDS = ("balance", "consensus", "observability", "perturbation", "chordal", "verify-peo", "complete",
               "cliques")


def _ids(text: str | None, graph) -> list | None:
    if text is None:
        return None
    out = []
    for tok in (t.strip() for t in text.split(",") if t.strip()):
        out.append(int(tok) if tok.lstrip("-").isdigit() and int(tok) in graph._lookup() else tok)
    return out


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from sparsewire.analysis import balance, chordal, consensus, observability, perturbation
    from sparsewire.analysis.loaders import load_graph

    graph = load_graph(args.file, directed=True if args.directed else (False if args.undirected else None))
    cmd = args.analysis
    if cmd == "balance":
        return balance.structural_balance(graph, frustration=args.frustration).to_dict()
    if cmd == "consensus":
        return consensus.consensus(graph, variant=args.variant, time=args.time, step=args.step,
                                   hidden=_ids(args.hidden, graph)).to_dict()
    if cmd == "observability":
        return observability.observability(graph, hidden=_ids(args.hidden, graph), variant=args.variant).to_dict()
    if cmd == "perturbation":
        return perturbation.suggest_perturbations(graph, goal=args.goal, hidden=_ids(args.hidden, graph),
                                                  top_k=args.top_k, ground=args.ground,
                                                  variant=args.variant).to_dict()
    if cmd == "chordal":
        return chordal.chordal_check(graph, ordering=args.ordering, cliques=not args.no_cliques).to_dict()
    if cmd == "verify-peo":
        if args.order is None:
            raise InvalidInputError("verify-peo needs --order id,id,...")
        return chordal.verify_peo(graph, _ids(args.order, graph)).to_dict()
    if cmd == "complete":
        return chordal.chordal_completion(graph).to_dict()
    return chordal.maximal_cliques(graph).to_dict()


def _summary(cmd: str, res: dict[str, Any]) -> str:
    def short(x: Any, k: int = 20) -> str:
        if isinstance(x, list) and len(x) > k:
            return json.dumps(x[:k])[:-1] + f", ... ({len(x)} total)]"
        return json.dumps(x)

    lines = []
    if cmd == "balance":
        lines.append(f"balanced: {res['balanced']}  components: {res['components']}")
        if res["negative_cycle"]:
            lines.append(f"negative cycle: {short(res['negative_cycle'])}")
        f = res["frustration"]
        lines.append(f"frustration: {f['value']} (exact: {f['exact']}, lower bound: {f['lower_bound']})")
        lines.append(f"camp +: {short(res['camp_plus'])}\ncamp -: {short(res['camp_minus'])}")
    elif cmd == "consensus":
        lines.append(f"regime: {res['regime']}  oscillatory: {res['oscillatory']}  "
                     f"zero multiplicity: {res['zero_multiplicity']}  convergence rate: {res['convergence_rate']}")
        lines.append("spectrum: " + ", ".join(f"{s['re']:.6g}{s['im']:+.6g}i x{s['multiplicity']}"
                                              for s in res["spectrum"][:10]))
    elif cmd == "observability":
        lines.append(f"observable: {res['observable']}  unobservable_dim: {res['unobservable_dim']}  "
                     f"influence share: {res['influence_share']}")
        for m in res["unobservable_modes"]:
            lines.append(f"  mode at {m['eigenvalue']:.6g}: support {short(m['support'])}")
    elif cmd == "perturbation":
        lines.append(res["note"])
        for s in res["suggestions"]:
            what = s.get("edge") or {"ground": s.get("ground")}
            lines.append(f"  {json.dumps(what)} w={s['weight']}: exact {s['exact_shift']:.6g}, "
                         f"predicted {s['predicted_shift']:.6g}, regime after {s['regime_after']}")
    elif cmd == "chordal":
        lines.append(f"chordal: {res['chordal']}  n: {res['n']}  m: {res['m']}")
        if res["chordal"]:
            lines.append(f"treewidth: {res['treewidth']}  clique number: {res['clique_number']}")
            lines.append(f"peo: {short(res['peo'])}")
        else:
            lines.append(f"hole: {short(res['hole'])}\nviolation: {json.dumps(res['violation'])}")
            lines.append(f"treewidth upper bound: {res['treewidth_upper_bound']}")
    elif cmd == "verify-peo":
        lines.append(f"is_peo: {res['is_peo']}  violation: {json.dumps(res['violation'])}  "
                     f"input errors: {json.dumps(res['input_errors'])}")
    elif cmd == "complete":
        lines.append(f"already chordal: {res['already_chordal']}  fill edges: {len(res['fill_edges'])}  "
                     f"minimal: {res['minimal']}  treewidth of completion: {res['treewidth_of_completion']}")
        lines.append(f"fill: {short(res['fill_edges'])}")
    else:
        lines.append(f"{len(res['maximal_cliques'])} maximal cliques, clique number {res['clique_number']}, "
                     f"treewidth {res['treewidth']}")
        lines.append(short(res["maximal_cliques"]))
    for w in res.get("warnings", []):
        lines.append(f"warning: {w.get('message', w)}")
    return "\n".join(lines) + "\n"


def _main(args: argparse.Namespace) -> int:
    try:
        res = _run(args)
    except NotChordalError as exc:
        sys.stderr.write(f"not chordal: {json.dumps(exc.details)}\n")
        return 1
    except (InvalidInputError, TooLargeError, FileNotFoundError, SparsewireError) as exc:
        sys.stderr.write(f"error: {getattr(exc, 'message', exc)}\n")
        return 2
    sys.stdout.write(json.dumps(res, indent=2, default=str) + "\n" if args.json else _summary(args.analysis, res))
    return 0


_HELP = {
    "balance": "structural balance: the two camps, or a negative cycle; frustration index",
    "consensus": "consensus regime of x' = -Lx (signed Laplacian), spectrum, predicted limit",
    "observability": "which opinion modes hidden agents can steer unseen (PBH per eigenspace)",
    "perturbation": "rank-one edge or grounding changes that stabilise, observe or break symmetry",
    "chordal": "chordality with a certificate: a perfect elimination ordering or a chordless cycle",
    "verify-peo": "check a given elimination ordering (--order), naming the violating vertex",
    "complete": "inclusion-minimal chordal completion (fill edges + PEO); alias chordal-completion",
    "cliques": "maximal cliques and treewidth of a chordal graph (exit 1 with the hole otherwise)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``analyze`` with one sub-subcommand per analysis."""
    parser = subparsers.add_parser("analyze", help="agreement and chordality checks on a graph file")
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    for name in SUBCOMMANDS:
        p = sub.add_parser(name, help=_HELP.get(name, f"{name} analysis"),
                           aliases=["chordal-completion"] if name == "complete" else [])
        p.add_argument("file", metavar="FILE")
        d = p.add_mutually_exclusive_group()
        d.add_argument("--directed", action="store_true", help="treat edges as directed (source -> target)")
        d.add_argument("--undirected", action="store_true", help="treat edges as undirected")
        p.add_argument("--json", action="store_true", help="print the full JSON result")
        if name == "balance":
            p.add_argument("--frustration", default="auto", choices=["auto", "exact", "heuristic", "none"],
                           help="frustration index: exact (up to 20 nodes per component), heuristic upper bound, "
                                "auto (exact when small), or none")
        if name in ("consensus", "observability", "perturbation"):
            p.add_argument("--variant", default="opposing", choices=["opposing", "repelling", "unsigned"])
            p.add_argument("--hidden", help="comma-separated hidden node ids")
        if name == "consensus":
            p.add_argument("--time", default="continuous", choices=["continuous", "discrete"])
            p.add_argument("--step", type=float)
        if name == "perturbation":
            p.add_argument("--goal", default="stabilize", choices=["stabilize", "observe", "break_symmetry"])
            p.add_argument("--top-k", type=int, default=5)
            p.add_argument("--ground", action="store_true")
        if name == "chordal":
            p.add_argument("--no-cliques", action="store_true")
            p.add_argument("--ordering", default="lexbfs", choices=["lexbfs", "mcs"],
                           help="elimination ordering the certificate comes from (Lex-BFS or maximum cardinality)")
        if name == "verify-peo":
            p.add_argument("--order", help="comma-separated node ids, first eliminated first")
        p.set_defaults(func=_main)
