"""Refuse cross-site writes and websockets: the ``Origin`` check against CSRF and cross-site websocket hijacking.

A page a user's browser loads from another site can send a "simple" cross-origin ``POST`` (``text/plain`` or
form bodies, no CORS preflight) to a service on ``127.0.0.1``, and can open a websocket to it (websockets are
not subject to CORS at all), so without a check any web page could write to, or read the delta stream of, a
loopback service that runs without tokens.  Browsers always send ``Origin`` on such requests; this middleware
refuses every websocket and every non-``GET``/``HEAD``/``OPTIONS`` request whose ``Origin`` is neither the
service's own (same host and port as the ``Host`` header) nor listed in ``allowed_origins``.  Requests without
``Origin`` (curl, the SDK, other servers) are not affected.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
#: websocket close code for a refused origin (the handshake is answered with HTTP 403)
WS_FORBIDDEN_ORIGIN = 4403


def same_origin(origin: str, host: str) -> bool:
    """``origin`` (``scheme://host[:port]``) names the same host and port as the ``Host`` header ``host``."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        return False
    default = "443" if parts.scheme in ("https", "wss") else "80"
    origin_host = parts.netloc.lower()
    host = host.lower()
    if ":" not in origin_host.rsplit("]", 1)[-1]:
        origin_host += ":" + default
    if ":" not in host.rsplit("]", 1)[-1]:
        host += ":" + default
    return origin_host == host


class OriginGuard:
    """ASGI middleware: 403 (HTTP) or a refused handshake (websocket) for foreign ``Origin`` headers."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket" or (kind == "http" and scope["method"] not in SAFE_METHODS):
            headers = dict(scope["headers"])
            origin = headers.get(b"origin")
            if origin is not None:
                text = origin.decode("latin-1").strip()
                host = headers.get(b"host", b"").decode("latin-1")
                if not same_origin(text, host) and text.rstrip("/").lower() not in self.allowed:
                    await self._refuse(kind, text, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(kind: str, origin: str, send: Send) -> None:
        message = (f"cross-origin request from {origin!r} refused (allow it with --allowed-origins / "
                   "SPARSEWIRE_ALLOWED_ORIGINS)")
        if kind == "websocket":
            await send({"type": "websocket.close", "code": WS_FORBIDDEN_ORIGIN, "reason": message[:120]})
            return
        body = json.dumps({"error": {"code": "forbidden_origin", "message": message}}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
