"""Who may see what: outsiders get 404 on calls and conversations; bad tokens get 401."""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.api.test_errors import assert_problem
from tests.conftest import TEST_SECRET, Account, Register

CALL_ROUTES = [
    ("GET", "/calls/{id}", None),
    ("PATCH", "/calls/{id}/answer", {"accept": True}),
    ("PATCH", "/calls/{id}/answer", {"accept": False}),
    ("PATCH", "/calls/{id}/end", None),
    ("PATCH", "/calls/{id}/end", {"reason": "hangup"}),
    ("PATCH", "/calls/{id}/status", {"status": "answered"}),
    ("PATCH", "/calls/{id}/status", {"status": "missed"}),
    ("PATCH", "/calls/{id}/status", {"status": "ended"}),
    ("DELETE", "/calls/{id}", None),
]


async def call_between(caller: Account, receiver: Account) -> dict[str, Any]:
    response = await caller.client.post(
        "/calls/initiate", json={"receiverId": receiver.id, "callType": "video"}
    )
    assert response.status_code == 201, response.text
    call: dict[str, Any] = response.json()["call"]
    return call


async def outsider_is_refused_everywhere(
    outsider: Account, caller: Account, call: dict[str, Any]
) -> None:
    for method, path, body in CALL_ROUTES:
        response = await outsider.client.request(
            method, path.format(id=call["id"]), json=body if body is not None else None
        )
        assert_problem(response, 404, "call_not_found")
        # Word for word the answer to a call id that does not exist: nothing to probe.
        unknown = await outsider.client.request(
            method, path.format(id=uuid.uuid4()), json=body if body is not None else None
        )
        assert response.json() == unknown.json()
    seen = (await caller.client.get(f"/calls/{call['id']}")).json()["call"]
    assert seen["version"] == call["version"] and seen["status"] == call["status"]


async def test_outsider_gets_call_not_found_on_every_call_route(register: Register) -> None:
    alice, bob, mallory = await register(), await register(), await register()
    ringing = await call_between(alice, bob)
    await outsider_is_refused_everywhere(mallory, alice, ringing)

    await bob.client.patch(f"/calls/{ringing['id']}/answer", json={"accept": True})
    answered = (await alice.client.get(f"/calls/{ringing['id']}")).json()["call"]
    await outsider_is_refused_everywhere(mallory, alice, answered)

    await alice.client.patch(f"/calls/{ringing['id']}/end")
    ended = (await alice.client.get(f"/calls/{ringing['id']}")).json()["call"]
    await outsider_is_refused_everywhere(mallory, alice, ended)

    # The outsider's own lists never show it.
    history = (await mallory.client.get("/calls/history")).json()
    assert history["calls"] == [] and history["pagination"]["total"] == 0
    assert (await mallory.client.get("/calls/active")).json() == {"call": None}
    stats = (await mallory.client.get("/calls/stats/summary")).json()["stats"]
    assert stats["total"] == 0
    bob_history = (await mallory.client.get("/calls/history", params={"withUserId": bob.id})).json()
    assert bob_history["calls"] == []


async def test_a_participant_who_deleted_the_call_no_longer_sees_it(register: Register) -> None:
    alice, bob = await register(), await register()
    call = await call_between(alice, bob)
    await bob.client.patch(f"/calls/{call['id']}/answer", json={"accept": False})
    assert (await alice.client.delete(f"/calls/{call['id']}")).json() == {"success": True}

    assert_problem(await alice.client.get(f"/calls/{call['id']}"), 404, "call_not_found")
    assert_problem(await alice.client.delete(f"/calls/{call['id']}"), 404, "call_not_found")
    assert_problem(await alice.client.patch(f"/calls/{call['id']}/end"), 404, "call_not_found")
    assert (await alice.client.get("/calls/history")).json()["calls"] == []
    # The other participant still has it.
    assert (await bob.client.get(f"/calls/{call['id']}")).status_code == 200
    assert [c["id"] for c in (await bob.client.get("/calls/history")).json()["calls"]] == [
        call["id"]
    ]


async def test_outsider_gets_conversation_not_found(register: Register) -> None:
    alice, bob, mallory = await register(), await register(), await register()
    opened = await alice.client.post("/conversations", json={"participantIds": [bob.id]})
    conversation = opened.json()["conversation"]
    assert (await bob.client.get(f"/conversations/{conversation['id']}")).status_code == 200

    response = await mallory.client.get(f"/conversations/{conversation['id']}")
    assert_problem(response, 404, "conversation_not_found")
    unknown = await mallory.client.get(f"/conversations/{uuid.uuid4()}")
    assert response.json() == unknown.json()
    assert (await mallory.client.get("/conversations")).json() == {"conversations": []}

    # Nor can an outsider place a call inside it.
    response = await mallory.client.post(
        "/calls/initiate",
        json={"receiverId": bob.id, "callType": "audio", "conversationId": conversation["id"]},
    )
    assert_problem(response, 403, "not_a_participant")


# -- tokens -------------------------------------------------------------------------------------


def forge(claims: dict[str, Any], *, secret: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT finds the test secret short for HS512
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`: header and claims, no signature."""
    return jwt.encode(claims, key="", algorithm="none")


def later(seconds: int = 3600) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


PROTECTED = [
    ("GET", "/users/me"),
    ("GET", "/users"),
    ("GET", "/users/{me}"),
    ("POST", "/conversations"),
    ("GET", "/conversations"),
    ("GET", "/conversations/{nowhere}"),
    ("POST", "/calls/initiate"),
    ("PATCH", "/calls/{nowhere}/answer"),
    ("PATCH", "/calls/{nowhere}/end"),
    ("PATCH", "/calls/{nowhere}/status"),
    ("GET", "/calls/history"),
    ("GET", "/calls/active"),
    ("GET", "/calls/missed/count"),
    ("POST", "/calls/missed/seen"),
    ("GET", "/calls/stats/summary"),
    ("GET", "/calls/ice-servers"),
    ("GET", "/calls/{nowhere}"),
    ("DELETE", "/calls/{nowhere}"),
]


@pytest.fixture
async def me(register: Register) -> Account:
    return await register()


def bad_tokens(user_id: str) -> dict[str, str | None]:
    """Authorization header values that must all be refused (None: no header)."""
    return {
        "no header": None,
        "empty bearer": "Bearer ",
        "basic scheme": "Basic YWxpY2U6cGFzc3dvcmQxMjM=",
        "not a JWT": "Bearer not-a-token",
        "alg none": "Bearer " + unsigned({"sub": user_id, "exp": later()}),
        "alg none, no signature dot": "Bearer "
        + unsigned({"sub": user_id, "exp": later()}).rstrip("."),
        "another secret": "Bearer "
        + forge({"sub": user_id, "exp": later()}, secret="another-secret-" + "x" * 40),
        "HS512 with our secret": "Bearer "
        + forge({"sub": user_id, "exp": later()}, algorithm="HS512"),
        "expired": "Bearer " + forge({"sub": user_id, "exp": later(-10)}),
        "no exp": "Bearer " + forge({"sub": user_id}),
        "no sub": "Bearer " + forge({"exp": later()}),
        "empty sub": "Bearer " + forge({"sub": "", "exp": later()}),
        "sub not a string": "Bearer " + forge({"sub": 42, "exp": later()}),
        "user does not exist": "Bearer " + forge({"sub": str(uuid.uuid4()), "exp": later()}),
        "malformed user id": "Bearer " + forge({"sub": "x\x00'", "exp": later()}),
        "tampered claims": "Bearer " + tamper(forge({"sub": user_id, "exp": later(5)}), user_id),
    }


def tamper(token: str, user_id: str) -> str:
    """The signature of one token over claims with a later `exp`."""
    header, _, signature = token.split(".")
    claims = json.dumps({"sub": user_id, "exp": 9999999999}).encode()
    encoded = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


async def test_a_forged_token_of_the_right_form_is_accepted(
    me: Account, client: httpx.AsyncClient
) -> None:
    """The forging helpers make tokens the server would take: the refusals are for the flaw."""
    token = forge({"sub": me.id, "exp": later()})
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["user"]["id"] == me.id
    lower = await client.get("/users/me", headers={"Authorization": f"bearer {token}"})
    assert lower.status_code == 200


async def test_bad_tokens_are_unauthorized_everywhere(
    me: Account, client: httpx.AsyncClient
) -> None:
    for flaw, header in bad_tokens(me.id).items():
        headers = {"Authorization": header} if header is not None else {}
        for method, path in PROTECTED:
            url = path.format(me=me.id, nowhere=uuid.uuid4())
            body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
            response = await client.request(method, url, headers=headers, json=body)
            assert_problem(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer", flaw


async def test_a_login_does_not_revoke_older_tokens(me: Account, client: httpx.AsyncClient) -> None:
    login = await client.post(
        "/auth/login", json={"username": me.username, "password": "password123"}
    )
    assert login.status_code == 200
    for token in (me.token, login.json()["accessToken"]):
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


async def test_open_routes_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
