"""Dependencies: settings, the graph registry, the graph named in the path (or 404), and bearer-token roles.

All are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, two thread hops per request
(~0.5 ms of CPU each on the update path) for work that is a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, status

from sparsewire.registry import Registry
from sparsewire.runtime import GraphRuntime
from sparsewire.settings import ROLES, Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_graph(name: str, request: Request) -> GraphRuntime:
    return request.app.state.registry.get(name)


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
GraphDep = Annotated[GraphRuntime, Depends(get_graph)]


def role_of(settings: Settings, authorization: str | None) -> str | None:
    """The role a request holds: ``admin`` when no tokens are configured, None when its token is unknown."""
    tokens = settings.token_roles()
    if not tokens:
        return "admin"
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return tokens.get(authorization[7:].strip())


def require(role: str):  # noqa: ANN201
    """Route guard: the caller's token must carry ``role`` or a stronger one (read < write < admin)."""
    need = ROLES.index(role)

    async def guard(request: Request) -> None:
        held = role_of(request.app.state.settings, request.headers.get("authorization"))
        if held is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or unknown bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        if ROLES.index(held) < need:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this route needs the {role!r} role")

    return Depends(guard)


def websocket_role(ws: WebSocket) -> str | None:
    """The role a websocket's token holds (None: missing or unknown).  Websockets send the token as
    ``Authorization: Bearer`` or as ``?token=``."""
    header = ws.headers.get("authorization")
    if not header and ws.query_params.get("token"):
        header = f"Bearer {ws.query_params['token']}"
    return role_of(ws.app.state.settings, header)


def websocket_allowed(ws: WebSocket, role: str = "read") -> bool:
    held = websocket_role(ws)
    return held is not None and ROLES.index(held) >= ROLES.index(role)
