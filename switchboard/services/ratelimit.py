"""Fixed-window rate limits: at most `max_hits` per `window_seconds` for one subject.

One limiter, two backends: `MemoryCounter` for a single process and `RedisCounter` (one small
Lua script: INCR, then PEXPIRE on the first hit) so that the limits hold across every instance
sharing the Redis. Services and routes name the limit and the subject (a username, a client
address, a user id); a hit past the limit raises `RateLimited` with the whole seconds to wait.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard.config import Settings

log = logging.getLogger(__name__)


class LimitName(StrEnum):
    LOGIN_USERNAME = "login-username"
    LOGIN_ADDRESS = "login-address"
    REGISTER_ADDRESS = "register-address"
    CALL_INITIATE = "call-initiate"
    WS_CONNECT = "ws-connect"


@dataclass(frozen=True, slots=True)
class Limit:
    name: LimitName
    max_hits: int
    window_seconds: float


class RateLimited(Exception):
    """A hit past a limit; `retry_after` is whole seconds (at least 1) until the window ends."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"rate limit {limit.name} exceeded")
        self.limit = limit
        self.retry_after = retry_after


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: float) -> tuple[int, float]:
        """Counts one hit; returns the hits in the current window and the seconds it has left."""
        ...


class MemoryCounter:
    """The windows of one process (the single-instance deployment)."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, hits)
        self._next_prune = 0.0

    async def hit(self, key: str, window_seconds: float) -> tuple[int, float]:
        now = self._now()
        if now >= self._next_prune:
            self._prune(now)
            self._next_prune = now + 60
        end, hits = self._windows.get(key, (0.0, 0))
        if now >= end:
            end, hits = now + window_seconds, 0
        hits += 1
        self._windows[key] = (end, hits)
        return hits, end - now

    def _prune(self, now: float) -> None:
        for key in [key for key, (end, _) in self._windows.items() if now >= end]:
            del self._windows[key]


# INCR the key; the first hit of a window sets its expiry (also repairs a key without one).
_HIT_SCRIPT = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if hits == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}
"""


class RedisCounter:
    """Windows shared by every instance. When Redis cannot be reached, the hit falls back to
    this instance's own windows (limits hold per instance rather than failing requests)."""

    PREFIX = "switchboard:ratelimit:"

    def __init__(self, redis: Redis, *, fallback: MemoryCounter | None = None) -> None:
        self._redis = redis
        self._script = redis.register_script(_HIT_SCRIPT)
        self._fallback = fallback or MemoryCounter()

    async def hit(self, key: str, window_seconds: float) -> tuple[int, float]:
        window_ms = max(1, math.ceil(window_seconds * 1000))
        try:
            hits, ttl_ms = await self._script(keys=[self.PREFIX + key], args=[window_ms])
        except (RedisError, OSError):
            log.warning("rate limits: Redis unavailable, counting in this instance")
            return await self._fallback.hit(key, window_seconds)
        return int(hits), int(ttl_ms) / 1000


class RateLimiter:
    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    async def hit(self, limit: Limit, subject: str) -> None:
        """Counts a hit for `subject`; raises `RateLimited` when it is past the limit."""
        hits, left = await self._counter.hit(f"{limit.name}:{subject}", limit.window_seconds)
        if hits > limit.max_hits:
            raise RateLimited(limit, retry_after=max(1, math.ceil(left)))


@dataclass(frozen=True, slots=True)
class Limits:
    """Every limit of the service, from the settings."""

    login_username: Limit
    login_address: Limit
    register_address: Limit
    call_initiate: Limit
    ws_connect: Limit

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            login_username=Limit(
                LimitName.LOGIN_USERNAME,
                settings.login_attempts_per_username,
                settings.login_window_seconds,
            ),
            login_address=Limit(
                LimitName.LOGIN_ADDRESS,
                settings.login_attempts_per_address,
                settings.login_window_seconds,
            ),
            register_address=Limit(
                LimitName.REGISTER_ADDRESS,
                settings.registrations_per_address,
                settings.registration_window_seconds,
            ),
            call_initiate=Limit(
                LimitName.CALL_INITIATE,
                settings.call_initiations_per_user,
                settings.call_initiation_window_seconds,
            ),
            ws_connect=Limit(
                LimitName.WS_CONNECT,
                settings.ws_connections_per_user,
                settings.ws_connection_window_seconds,
            ),
        )


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limiter and the limits it enforces: what the app keeps in `app.state.rate_limits`."""

    limiter: RateLimiter
    limits: Limits

    @classmethod
    def build(cls, settings: Settings, redis: Redis | None) -> RateLimits:
        counter: Counter = RedisCounter(redis) if redis is not None else MemoryCounter()
        return cls(limiter=RateLimiter(counter), limits=Limits.of(settings))
