"""create_app(settings): wires storage, services, bus, gateway, routes and the web client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.types import Receive, Scope, Send

from switchboard.api import auth, calls, conversations, health, problems, security, users, ws
from switchboard.api.media_type import RequireJsonBodies
from switchboard.clock import Clock, SystemClock
from switchboard.config import Settings
from switchboard.logs import RequestIds, install_redaction
from switchboard.metrics import Metrics
from switchboard.realtime.bus import Bus, LocalBus
from switchboard.realtime.connections import Registry
from switchboard.realtime.gateway import Gateway
from switchboard.realtime.notifier import Notifier
from switchboard.realtime.presence import LocalPresence, RedisPresence
from switchboard.realtime.redis_bus import RedisBus
from switchboard.services.container import Services
from switchboard.services.ratelimit import RateLimits
from switchboard.store.db import Database
from switchboard.web_files import mount_web_client

WEB_ROOT = Path(__file__).parent / "web"


def _realtime_backends(
    settings: Settings, registry: Registry
) -> tuple[Bus, LocalPresence, Redis | None]:
    """In process by default; through Redis (bus and liveness) when REDIS_URL is set."""
    if not settings.redis_url:
        return LocalBus(), LocalPresence(registry), None
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    presence = RedisPresence(redis, registry, ttl_seconds=settings.liveness_ttl_seconds)
    # Pub/sub channels are shared by every logical database of a server: name it after ours,
    # so that deployments (or test runs) on one Redis don't hear each other.
    database = redis.connection_pool.connection_kwargs.get("db", 0)
    bus = RedisBus.connect(settings.redis_url, channel=f"switchboard:{database}:events")
    return bus, presence, redis


class SwitchboardApp(FastAPI):
    """The WebSocket gateway (`/ws`) is served ahead of the middleware and routing, none of
    which acts on WebSockets (see `switchboard.api.ws`); everything else as FastAPI does."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ws.is_gateway_socket(scope):
            await ws.gateway_socket(self.state, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_redaction()
        db = Database(settings.database_url)
        registry = Registry()
        bus, presence, redis = _realtime_backends(settings, registry)
        metrics = Metrics()
        metrics.track_connections(lambda: len(registry))
        notifier = Notifier(bus, metrics)
        services = Services.build(
            settings=settings, clock=clock, db=db, presence=presence, events=notifier
        )
        app.state.services = services
        app.state.registry = registry
        app.state.bus = bus
        app.state.metrics = metrics
        app.state.redis = redis
        app.state.rate_limits = RateLimits.build(settings, redis)
        app.state.gateway = Gateway(
            bus=bus,
            registry=registry,
            presence=presence,
            calls=services.calls,
            conversations=services.conversations,
            notifier=notifier,
            settings=settings,
            metrics=metrics,
        )
        await bus.start()
        await presence.start()
        # Overdue calls (e.g. ringing when the last instance stopped) expire before serving.
        await services.sweeper.sweep_logging_errors()
        stop_sweeping = asyncio.Event()
        sweeper = asyncio.create_task(services.sweeper.run(stop_sweeping))
        try:
            yield
        finally:
            stop_sweeping.set()
            await sweeper
            await presence.stop()
            await bus.stop()
            if redis is not None:
                await redis.aclose()
            await db.dispose()

    app = SwitchboardApp(
        title="Switchboard",
        version="1.0.0",
        description="Self-hosted 1:1 audio/video calling: call records, events and signaling.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(RequireJsonBodies)
    app.add_middleware(RequestIds)
    security.install(app, settings)  # outermost: CORS, then the security headers
    for router in (
        health.router,
        auth.router,
        users.router,
        conversations.router,
        calls.router,
    ):
        app.include_router(router)
    mount_web_client(app, WEB_ROOT)
    return app
