"""Operations: /healthz (the process is up), /readyz (database and Redis answer), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from sqlalchemy import text

from switchboard.api.deps import ServicesDep
from switchboard.metrics import Metrics
from switchboard.services.container import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ok(services: Services) -> bool:
    try:
        async with services.db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_ok(redis: Redis) -> bool:
    try:
        return bool(await redis.ping())
    except Exception:
        return False


@router.get("/readyz")
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    checks = {"database": "ok" if await _database_ok(services) else "unavailable"}
    redis: Redis | None = request.app.state.redis
    if redis is not None:
        healthy = request.app.state.bus.healthy and await _redis_ok(redis)
        checks["redis"] = "ok" if healthy else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus text format; no token needed."""
    collected: Metrics = request.app.state.metrics
    try:
        counts = await services.calls.active_counts()
    except Exception:
        counts = {}
    for status in ("initiated", "answered"):
        collected.active_calls.labels(status).set(counts.get(status, 0))
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
