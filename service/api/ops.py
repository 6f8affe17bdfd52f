"""Operations: liveness, readiness and Prometheus metrics (no auth: scrape targets)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

router = APIRouter(tags=["ops"])


@router.get("/livez")
async def livez() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict:
    """Redis reachable and recovery finished: 503 with ``"status": "recovering"`` and the recovery's progress
    (graphs loaded, pending, failed) while the stored graphs are still being loaded after a start."""
    registry = request.app.state.registry
    try:
        await registry.store.redis.ping()
        redis_ok = True
    except RedisError:
        redis_ok = False
    ready = redis_ok and registry.ready  # a graph that failed to load answers 503 itself (listed in "recovery")
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "2"
    state = "ok" if ready else "unavailable" if not redis_ok or registry.ready else "recovering"
    return {"status": state, "redis": redis_ok, "recovered": registry.ready, "recovery": registry.recovery(),
            "fsync": registry.store.fsync_mode, "graphs": len(registry.graphs)}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
