"""HTTP rate limits: past each limit a 429 `rate_limited` problem with `Retry-After`, and the
limit resets after its window (made short by settings). With Redis, two app instances share
the windows."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from redis.asyncio import Redis

from switchboard.services.ratelimit import (
    Limit,
    LimitName,
    MemoryCounter,
    RateLimited,
    RateLimiter,
    RedisCounter,
)
from tests.security.conftest import Apps, new_name, random_address
from tests.services_available import REDIS_URL, require_redis

PASSWORD = "password123"
WINDOW = 3.0  # seconds: short, so a test sees the limit reset
LOGIN_WINDOW = 6.0  # argon2 makes each login take a while on a busy machine


def assert_rate_limited(response: httpx.Response, window: float = WINDOW) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after  # whole seconds
    assert 1 <= int(retry_after) <= math.ceil(window)
    assert body["retryAfter"] == int(retry_after)


async def register(http: httpx.AsyncClient, name: str | None = None) -> httpx.Response:
    return await http.post(
        "/auth/register", json={"username": name or new_name(), "password": PASSWORD}
    )


async def login(http: httpx.AsyncClient, name: str, password: str = "wrong-password") -> int:
    response = await http.post("/auth/login", json={"username": name, "password": password})
    return response.status_code


async def test_login_attempts_per_username(apps: Apps) -> None:
    app = await apps.app(login_attempts_per_username=3, login_window_seconds=LOGIN_WINDOW)
    setup = await apps.client(app)
    name = new_name()
    assert (await register(setup, name)).status_code == 201
    # Guesses from different addresses still count against the one username.
    clients = [await apps.client(app, random_address()) for _ in range(5)]
    assert [await login(clients[n], name) for n in range(3)] == [401, 401, 401]
    refused = await clients[3].post("/auth/login", json={"username": name, "password": PASSWORD})
    assert_rate_limited(refused, LOGIN_WINDOW)  # even the right password: no oracle
    # The username is folded: "NAME" is the same account.
    assert_rate_limited(
        await clients[4].post("/auth/login", json={"username": name.upper(), "password": "x"}),
        LOGIN_WINDOW,
    )
    assert await login(clients[4], new_name()) == 401  # other usernames are not limited
    await asyncio.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert await login(clients[4], name, PASSWORD) == 200


async def test_login_attempts_per_address(apps: Apps) -> None:
    app = await apps.app(login_attempts_per_address=4, login_window_seconds=LOGIN_WINDOW)
    attacker, other = await apps.client(app, "192.0.2.7"), await apps.client(app, "192.0.2.8")
    assert [await login(attacker, new_name()) for _ in range(4)] == [401] * 4
    refused = await attacker.post("/auth/login", json={"username": new_name(), "password": "x"})
    assert_rate_limited(refused, LOGIN_WINDOW)
    assert await login(other, new_name()) == 401  # another address is served
    await asyncio.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert await login(attacker, new_name()) == 401


async def test_registrations_per_address(apps: Apps) -> None:
    app = await apps.app(registrations_per_address=2, registration_window_seconds=LOGIN_WINDOW)
    here, there = await apps.client(app, "198.51.100.1"), await apps.client(app, "198.51.100.2")
    taken = new_name()
    assert (await register(here, taken)).status_code == 201
    assert (await register(here, taken)).status_code == 409  # a failed one counts too
    refused = await register(here)
    assert_rate_limited(refused, LOGIN_WINDOW)
    assert (await register(there)).status_code == 201
    await asyncio.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert (await register(here)).status_code == 201


async def test_call_initiations_per_user(apps: Apps) -> None:
    app = await apps.app(call_initiations_per_user=2, call_initiation_window_seconds=WINDOW)
    setup = await apps.client(app)
    tokens, ids = [], []
    for _ in range(3):
        body = (await register(setup)).json()
        tokens.append(body["accessToken"])
        ids.append(body["user"]["id"])
    spammer, victim, calm = [await apps.client(app, token=t) for t in tokens]

    async def ring(caller: httpx.AsyncClient, receiver_id: str) -> httpx.Response:
        return await caller.post(
            "/calls/initiate", json={"receiverId": receiver_id, "callType": "audio"}
        )

    for _ in range(2):
        call = await ring(spammer, ids[1])
        assert call.status_code == 201, call.text
        ended = await spammer.patch(f"/calls/{call.json()['call']['id']}/end")
        assert ended.status_code == 200
    assert_rate_limited(await ring(spammer, ids[1]))
    assert_rate_limited(await ring(spammer, ids[2]))  # per caller, whoever is called
    assert (await victim.get("/calls/active")).json() == {"call": None}
    calm_call = await ring(calm, ids[1])  # others can still call the same person
    assert calm_call.status_code == 201
    await calm.patch(f"/calls/{calm_call.json()['call']['id']}/end")
    await asyncio.sleep(WINDOW + 0.1)
    assert (await ring(spammer, ids[1])).status_code == 201


async def test_memory_windows() -> None:
    now = [100.0]
    limiter = RateLimiter(MemoryCounter(now=lambda: now[0]))
    limit = Limit(LimitName.CALL_INITIATE, max_hits=2, window_seconds=10)
    await limiter.hit(limit, "a")
    now[0] += 4
    await limiter.hit(limit, "a")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit(limit, "a")
    assert refused.value.retry_after == 6  # the window started at the first hit
    await limiter.hit(limit, "b")  # subjects are counted apart
    now[0] += 6
    await limiter.hit(limit, "a")  # a new window


@pytest.mark.redis
async def test_redis_windows_are_shared_by_instances(apps: Apps) -> None:
    require_redis()
    settings = {"redis_url": REDIS_URL, "login_attempts_per_username": 3}
    first, second = await apps.app(**settings), await apps.app(**settings)
    name = new_name()
    assert (await register(await apps.client(first), name)).status_code == 201
    one, two = await apps.client(first), await apps.client(second)
    assert [await login(one, name), await login(two, name), await login(one, name)] == [401] * 3
    assert_rate_limited(
        await two.post("/auth/login", json={"username": name, "password": "x"}), window=300
    )


@pytest.mark.redis
async def test_redis_window_resets_and_outage_falls_back() -> None:
    require_redis()
    redis = Redis.from_url(REDIS_URL)
    try:
        limiter = RateLimiter(RedisCounter(redis))
        limit = Limit(LimitName.WS_CONNECT, max_hits=1, window_seconds=0.5)
        subject = new_name()
        await limiter.hit(limit, subject)
        with pytest.raises(RateLimited) as refused:
            await limiter.hit(limit, subject)
        assert refused.value.retry_after == 1
        ttl = await redis.pttl(f"{RedisCounter.PREFIX}{limit.name}:{subject}")
        assert 0 < ttl <= 500
        await asyncio.sleep(0.6)
        await limiter.hit(limit, subject)
    finally:
        await redis.aclose()
    # Redis unreachable: the instance counts on its own rather than failing requests.
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        limiter = RateLimiter(RedisCounter(down))
        await limiter.hit(limit, "x")
        with pytest.raises(RateLimited):
            await limiter.hit(limit, "x")
    finally:
        await down.aclose()
