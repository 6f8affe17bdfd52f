"""The ``sparsewire`` command line: one console script, one module per group of subcommands.

Each subcommand module exposes ``register(subparsers)``, which adds its parser(s) and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit code).  Exit codes: 0 success, 1 failure of
the operation (e.g. a check answered "no" where the caller asked for an assertion), 2 bad usage or input,
3 service unreachable.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute subcommands, in help order.
SUBCOMMAND_MODULES = (
    "sparsewire.clients.cli_serve",
    "sparsewire.clients.cli_pipeline",
    "sparsewire.clients.cli_analyze",
    "sparsewire.clients.cli_remote",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparsewire", description="Streaming spectral graph sparsification.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
