"""The authorization sweep's completeness and what answers never carry.

tests/api/test_authorization.py checks the routes it lists; here every route the app has must
be in one of its lists (a new route cannot slip past the sweep), client-set fields that would
grant something are refused, and user objects carry the contract's fields only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from switchboard.app import create_app
from tests.api.test_authorization import CALL_ROUTES, PROTECTED
from tests.api.test_errors import assert_problem
from tests.conftest import Account, Register, make_settings

# Routes anyone may call (the contract's list: /auth/*, health, metrics; docs are not APIRoutes).
OPEN = {
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}
USER_FIELDS = {"id", "username", "displayName", "online", "createdAt"}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_is_swept(sqlite_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(sqlite_url, tmp_path))
    routes = {
        (method, _shape(route.path))
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in (route.methods or set()) - {"HEAD"}
    }
    protected = {(method, _shape(path)) for method, path in PROTECTED}
    outsider_checked = {(method, _shape(path)) for method, path, _ in CALL_ROUTES}
    assert routes - protected - OPEN == set(), "routes missing from the token sweep"
    with_call_id = {r for r in routes if r[1].startswith("/calls/{}")}
    assert with_call_id - outsider_checked == set(), "call routes missing from the outsider sweep"


def users_in(value: Any) -> list[dict[str, Any]]:
    """Every user object inside an answer (found by their `username` key)."""
    if isinstance(value, dict):
        found = [value] if "username" in value else []
        return found + [user for item in value.values() for user in users_in(item)]
    if isinstance(value, list):
        return [user for item in value for user in users_in(item)]
    return []


async def test_answers_carry_no_secrets_and_only_the_user_fields(register: Register) -> None:
    alice, bob = await register(), await register()
    call = await alice.client.post(
        "/calls/initiate", json={"receiverId": bob.id, "callType": "audio"}
    )
    login = await alice.client.post(
        "/auth/login", json={"username": alice.username, "password": "password123"}
    )
    answers = [
        login,
        call,
        await alice.client.get("/users/me"),
        await alice.client.get("/users", params={"q": bob.username}),
        await alice.client.get(f"/users/{bob.id}"),
        await alice.client.get("/conversations"),
        await bob.client.get("/calls/history"),
        await bob.client.get("/calls/active"),
    ]
    seen = 0
    for response in answers:
        assert response.status_code in (200, 201), response.text
        text = response.text.lower()
        assert "password" not in text and "argon2" not in text and "hash" not in text
        for user in users_in(response.json()):
            assert set(user) == USER_FIELDS, user
            seen += 1
    assert seen >= 10
    assert login.headers["cache-control"] == "no-store"  # a token in the answer


async def test_fields_a_client_may_not_set(register: Register, client: Any) -> None:
    alice, bob = await register(), await register()
    refused = {
        "/auth/register": [
            {"username": "mallory1", "password": "password123", "id": alice.id},
            {"username": "mallory2", "password": "password123", "online": True},
            {"username": "mallory3", "password": "password123", "passwordHash": "x"},
            {"username": "mallory4", "password": "password123", "role": "admin"},
        ],
    }
    for path, bodies in refused.items():
        for body in bodies:
            assert_problem(await client.post(path, json=body), 422, "validation_error")
    assert (await alice.client.get("/users", params={"q": "mallory"})).json() == {"users": []}

    initiate: list[dict[str, Any]] = [
        {"receiverId": bob.id, "callType": "audio", "callerId": bob.id},
        {"receiverId": bob.id, "callType": "audio", "status": "answered"},
        {"receiverId": bob.id, "callType": "audio", "from": bob.id},
    ]
    for body in initiate:
        assert_problem(
            await alice.client.post("/calls/initiate", json=body), 422, "validation_error"
        )
    assert (await bob.client.get("/calls/active")).json() == {"call": None}
    await _answer_with_extras(alice, bob)


async def _answer_with_extras(alice: Account, bob: Account) -> None:
    call = (
        await alice.client.post("/calls/initiate", json={"receiverId": bob.id, "callType": "video"})
    ).json()["call"]
    for body in ({"accept": True, "receiverId": alice.id}, {"accept": True, "endedBy": alice.id}):
        response = await bob.client.patch(f"/calls/{call['id']}/answer", json=body)
        assert_problem(response, 422, "validation_error")
    assert (await bob.client.get(f"/calls/{call['id']}")).json()["call"]["status"] == "initiated"
    await alice.client.patch(f"/calls/{call['id']}/end")
