"""ICE servers: STUN, and TURN REST credentials as coturn's `use-auth-secret` checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.app import create_app
from switchboard.clock import ManualClock
from switchboard.services.ice import ice_servers_for
from tests.conftest import make_settings

TURN_SECRET = "coturn-static-auth-secret"
USER = "01890000-0000-7000-8000-00000000abcd"


def coturn_password(secret: str, username: str) -> str:
    """What coturn computes for `use-auth-secret`, written out independently."""
    mac = hmac.HMAC(secret.encode("utf-8"), username.encode("utf-8"), digestmod=hashlib.sha1)
    return base64.standard_b64encode(mac.digest()).decode("ascii")


def test_turn_credentials_follow_the_rest_api_form(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        stun_uris="stun:stun.example.org:3478",
        turn_uris="turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349",
        turn_secret=TURN_SECRET,
        turn_ttl_seconds=600,
    )
    clock = ManualClock(datetime(2030, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC))
    result = ice_servers_for(user_id=USER, settings=settings, clock=clock)
    assert result.ttl == 600
    stun, turn = result.servers
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    expiry = int(datetime(2030, 5, 1, 12, 10, tzinfo=UTC).timestamp())
    assert turn["username"] == f"{expiry}:{USER}"
    assert turn["credential"] == coturn_password(TURN_SECRET, f"{expiry}:{USER}")
    # A known vector, so that a shared mistake in both computations would show.
    assert (
        coturn_password("secret", "1700000000:bob")
        == base64.b64encode(hmac.new(b"secret", b"1700000000:bob", "sha1").digest()).decode()
    )
    assert len(base64.b64decode(turn["credential"])) == 20  # SHA-1

    clock.advance(60)
    later = ice_servers_for(user_id=USER, settings=settings, clock=clock).servers[1]
    assert later["username"] == f"{expiry + 60}:{USER}"
    assert later["credential"] != turn["credential"]


def test_stun_only_without_turn(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    for overrides in (
        {"stun_uris": "stun:a.example:3478, stun:b.example:3478"},
        {"stun_uris": "stun:a.example:3478,stun:b.example:3478", "turn_uris": "turn:t.example"},
        {"stun_uris": "stun:a.example:3478,stun:b.example:3478", "turn_secret": TURN_SECRET},
    ):
        settings = make_settings(sqlite_url, tmp_path, **overrides)
        servers = ice_servers_for(user_id=USER, settings=settings, clock=clock).servers
        assert servers == [{"urls": ["stun:a.example:3478", "stun:b.example:3478"]}]
    bare = make_settings(sqlite_url, tmp_path)
    assert ice_servers_for(user_id=USER, settings=bare, clock=clock).servers == []


def test_a_single_uri_is_still_a_list(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        stun_uris="stun:one.example",
        turn_uris="turn:one.example",
        turn_secret=TURN_SECRET,
    )
    servers = ice_servers_for(user_id=USER, settings=settings, clock=ManualClock()).servers
    assert [server["urls"] for server in servers] == [["stun:one.example"], ["turn:one.example"]]


@pytest.fixture
async def ice_client(sqlite_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        stun_uris="stun:stun.example.org:3478",
        turn_uris="turn:turn.example.org:3478",
        turn_secret=TURN_SECRET,
        turn_ttl_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_the_route_hands_out_fresh_credentials(ice_client: httpx.AsyncClient) -> None:
    registered = await ice_client.post(
        "/auth/register", json={"username": "alice", "password": "password123"}
    )
    user_id = registered.json()["user"]["id"]
    headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
    before = int(time.time())
    response = await ice_client.get("/calls/ice-servers", headers=headers)
    after = int(time.time())
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert set(body) == {"iceServers", "ttl"} and body["ttl"] == 3600
    stun, turn = body["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}  # no null username/credential
    assert set(turn) == {"urls", "username", "credential"}
    assert turn["urls"] == ["turn:turn.example.org:3478"]
    expiry, _, named = turn["username"].partition(":")
    assert named == user_id
    assert before + 3600 <= int(expiry) <= after + 3600
    assert turn["credential"] == coturn_password(TURN_SECRET, turn["username"])
