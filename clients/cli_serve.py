"""``sparsewire serve``: run the HTTP/websocket service (every flag is also a SPARSEWIRE_* variable)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(sub: Any) -> None:
    from sparsewire.settings import Settings  # noqa: PLC0415

    p = sub.add_parser("serve", help="run the service", description=__doc__)
    for name, field in Settings.model_fields.items():
        env = "REDIS_URL or SPARSEWIRE_REDIS_URL" if name == "redis_url" else f"SPARSEWIRE_{name.upper()}"
        default = field.get_default(call_default_factory=True)
        shown = "embedded Redis" if name == "redis_url" else default
        choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else None
        p.add_argument(_flag(name), dest=name, default=None, choices=choices, metavar=name.upper(),
                       help=f"{field.description}; default {shown}" + (f"; one of {', '.join(choices)}" if choices
                                                                        else "") + f" (env {env})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The engine's OpenMP workers would otherwise spin after every parallel region, taking the cores the event
    # loop, Redis and the next batch's parsing need (measured: 15-18 → 12 CPU-ms per 1,000-op batch); read by
    # libgomp when numba first starts its thread pool, so set before any kernel runs.  An explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import uvicorn  # noqa: PLC0415

    from sparsewire.api.app import create_app  # noqa: PLC0415
    from sparsewire.settings import Settings  # noqa: PLC0415

    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields and v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            where = ".".join(str(x) for x in err["loc"]) or "settings"
            print(f"sparsewire serve: {where}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    # ws="websockets": that implementation waits for the socket to drain on every send (flow control), so a
    # slow websocket peer blocks our send and is cut off by the send timeout; uvicorn's default sans-I/O
    # implementation writes into an unbounded transport buffer instead.
    config = uvicorn.Config(create_app(settings), log_level=settings.log_level, ws="websockets",
                            ws_max_size=64 * 2**20)
    uvicorn.Server(config).run(sockets=[listening_socket(settings)])
    return 0


def listening_socket(settings: Any) -> socket.socket:
    """The server socket, with a bounded kernel send buffer that accepted connections inherit: a peer that stops
    reading then blocks our sends after ``socket_send_buffer_bytes`` (Linux doubles it) instead of after the
    several MB that TCP autotuning would otherwise queue for it."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.socket_send_buffer_bytes)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"sparsewire serve: cannot bind {settings.host}:{settings.port}: {exc}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
