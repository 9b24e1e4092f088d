"""The REST client against a mock transport: requests sent, answers and problems parsed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from switchboard.client import ApiClient, ApiError
from switchboard.client.http import format_time

USER = {
    "id": "u1",
    "username": "alice",
    "displayName": "Alice",
    "online": False,
    "createdAt": "2025-01-01T00:00:00Z",
}

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, token: str | None = None) -> ApiClient:
    return ApiClient("http://sb.test/", token=token, transport=httpx.MockTransport(handler))


def problem(status: int, code: str, detail: str, **extra: object) -> httpx.Response:
    body = {"type": "about:blank", "title": "Problem", "status": status, "detail": detail}
    return httpx.Response(
        status,
        json={**body, "code": code, **extra},
        headers={"content-type": "application/problem+json"},
    )


async def test_login_keeps_the_token_and_sends_it_afterwards() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/login":
            auth = {"accessToken": "tok", "tokenType": "Bearer", "expiresIn": 60, "user": USER}
            return httpx.Response(200, json=auth)
        return httpx.Response(200, json={"user": USER})

    async with client(handler) as api:
        result = await api.login("alice", "password1")
        assert result["user"] == USER and api.token == "tok" and api.user == USER
        assert await api.me() == USER
    assert json.loads(seen[0].content) == {"username": "alice", "password": "password1"}
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == "Bearer tok"


async def test_problem_details_become_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(409, "user_busy", "User is busy")

    async with client(handler, token="t") as api:
        with pytest.raises(ApiError) as info:
            await api.initiate_call("u2")
    error = info.value
    assert (error.status, error.code, error.detail, error.title) == (
        409,
        "user_busy",
        "User is busy",
        "Problem",
    )


async def test_validation_errors_keep_their_list() -> None:
    errors = [{"field": "username", "message": "too short"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return problem(422, "validation_error", "Invalid request", errors=errors)

    async with client(handler) as api:
        with pytest.raises(ApiError) as info:
            await api.register("a", "short")
    assert info.value.code == "validation_error"
    assert info.value.errors == errors


async def test_an_error_that_is_not_problem_json_still_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    async with client(handler) as api:
        with pytest.raises(ApiError) as info:
            await api.healthz()
    assert info.value.status == 502
    assert info.value.code == "http_502"
    assert "Bad gateway" in info.value.detail


async def test_call_routes_send_the_contract_bodies() -> None:
    seen: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        return httpx.Response(200, json={"call": {"id": "c1"}})

    async with client(handler, token="t") as api:
        await api.initiate_call("u2", call_type="video", conversation_id="v1", connection_id="d1")
        await api.answer_call("c1", accept=False, connection_id="d2")
        await api.end_call("c1")
        await api.end_call("c1", reason="ice_failed")
        await api.set_call_status("c1", "missed")
        await api.get_call("c1")
    assert seen == [
        (
            "POST",
            "/calls/initiate",
            {"receiverId": "u2", "callType": "video", "conversationId": "v1", "connectionId": "d1"},
        ),
        ("PATCH", "/calls/c1/answer", {"accept": False, "connectionId": "d2"}),
        ("PATCH", "/calls/c1/end", None),
        ("PATCH", "/calls/c1/end", {"reason": "ice_failed"}),
        ("PATCH", "/calls/c1/status", {"status": "missed"}),
        ("GET", "/calls/c1", None),
    ]


async def test_history_and_counts_format_their_queries() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/calls/missed/count":
            return httpx.Response(200, json={"count": 3})
        if request.url.path == "/calls/stats/summary":
            return httpx.Response(200, json={"stats": {"total": 0}})
        empty = {"page": 1, "limit": 5, "total": 0, "totalPages": 0, "hasNext": False}
        return httpx.Response(200, json={"calls": [], "pagination": empty})

    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    async with client(handler, token="t") as api:
        await api.call_history(
            page=2,
            limit=5,
            call_type="audio",
            status="missed",
            direction="incoming",
            with_user_id="u2",
            conversation_id="v1",
            from_=start,
            to="2025-04-01T00:00:00Z",
        )
        assert await api.missed_count(unseen=True) == 3
        assert await api.missed_count(since=start) == 3
        assert await api.missed_count() == 3
        await api.call_stats(from_=start)
    assert dict(seen[0].params) == {
        "page": "2",
        "limit": "5",
        "callType": "audio",
        "status": "missed",
        "direction": "incoming",
        "withUserId": "u2",
        "conversationId": "v1",
        "from": "2025-03-01T12:00:00Z",
        "to": "2025-04-01T00:00:00Z",
    }
    assert dict(seen[1].params) == {"unseen": "true"}
    assert dict(seen[2].params) == {"since": "2025-03-01T12:00:00Z"}
    assert dict(seen[3].params) == {}
    assert dict(seen[4].params) == {"from": "2025-03-01T12:00:00Z"}


def test_times_are_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_time(datetime(2025, 1, 1, 13, 30, tzinfo=paris)) == "2025-01-01T12:30:00Z"
    assert format_time(datetime(2025, 1, 1, 12, 30)) == "2025-01-01T12:30:00Z"  # naive = UTC
    assert format_time("2025-01-01T00:00:00Z") == "2025-01-01T00:00:00Z"


async def test_find_user_wants_an_exact_username() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["q"] == "bob"
        similar = [
            {**USER, "id": "u3", "username": "bobby"},
            {**USER, "id": "u4", "username": "bob"},
        ]
        return httpx.Response(200, json={"users": similar})

    async with client(handler, token="t") as api:
        assert (await api.find_user("Bob"))["id"] == "u4"

    async with client(lambda r: httpx.Response(200, json={"users": []}), token="t") as api:
        with pytest.raises(ApiError) as info:
            await api.find_user("nobody")
    assert info.value.code == "user_not_found"


def test_ws_url_follows_the_scheme() -> None:
    assert ApiClient("http://127.0.0.1:8000/").ws_url == "ws://127.0.0.1:8000/ws"
    assert ApiClient("https://sb.example.com").ws_url == "wss://sb.example.com/ws"


async def test_rate_limits_carry_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = problem(429, "rate_limited", "Too many requests")
        response.headers["Retry-After"] = "42"
        return response

    async with client(handler) as api:
        with pytest.raises(ApiError) as info:
            await api.login("alice", "password1")
    assert (info.value.status, info.value.code, info.value.retry_after) == (
        429,
        "rate_limited",
        42.0,
    )
