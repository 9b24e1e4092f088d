"""Register, log in, me, search and lookup."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import jwt

from tests.api.test_errors import assert_problem
from tests.conftest import TEST_SECRET, Register

PASSWORD = "password123"


async def register(client: httpx.AsyncClient, username: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/auth/register", json={"username": username, "password": PASSWORD, **extra}
    )


async def test_register_answers_a_session(client: httpx.AsyncClient) -> None:
    response = await register(client, "Alice_W.-1", displayName="Alice W")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn", "user"}
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 86400
    user = body["user"]
    assert set(user) == {"id", "username", "displayName", "online", "createdAt"}
    assert user["username"] == "alice_w.-1" and user["displayName"] == "Alice W"
    assert user["online"] is False and user["createdAt"].endswith("Z")
    created = datetime.fromisoformat(user["createdAt"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60

    claims = jwt.decode(body["accessToken"], TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == user["id"]
    assert claims["exp"] - datetime.now(UTC).timestamp() > 86400 - 60
    assert jwt.get_unverified_header(body["accessToken"])["alg"] == "HS256"
    assert "password" not in response.text.lower()


async def test_usernames_fold_to_lower_case_and_are_unique(client: httpx.AsyncClient) -> None:
    first = await register(client, "Alice")
    assert first.json()["user"]["username"] == "alice"
    assert first.json()["user"]["displayName"] == "alice"  # the folded name
    for again in ("ALICE", "alice", "aLiCe"):
        assert_problem(await register(client, again), 409, "username_taken")
    for name in ("ALICE", "alice", "Alice"):
        login = await client.post("/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200, name
        assert login.json()["user"]["id"] == first.json()["user"]["id"]


async def test_username_password_and_display_name_limits(client: httpx.AsyncClient) -> None:
    accepted = [
        ("abc", PASSWORD, None),
        ("a" * 32, "p" * 8, "d" * 64),
        ("x_y.z-0", "p" * 128, "Zoë 🎧"),
    ]
    for username, password, display in accepted:
        body = {"username": username, "password": password}
        if display is not None:
            body["displayName"] = display
        response = await client.post("/auth/register", json=body)
        assert response.status_code == 201, (username, response.text)
        assert response.json()["user"]["displayName"] == (display or username)
        login = await client.post("/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200
    rejected = [
        ({"username": "ab", "password": PASSWORD}, "username"),
        ({"username": "a" * 33, "password": PASSWORD}, "username"),
        ({"username": "bad name", "password": PASSWORD}, "username"),
        ({"username": "good", "password": "p" * 7}, "password"),
        ({"username": "good", "password": "p" * 129}, "password"),
        ({"username": "good", "password": PASSWORD, "displayName": ""}, "displayName"),
        ({"username": "good", "password": PASSWORD, "displayName": "d" * 65}, "displayName"),
    ]
    for body, field in rejected:
        response = await client.post("/auth/register", json=body)
        assert_problem(response, 422, "validation_error")
        assert field in {error["field"] for error in response.json()["errors"]}
    me = await client.post("/auth/login", json={"username": "good", "password": PASSWORD})
    assert_problem(me, 401, "invalid_credentials")


async def test_login_failures_look_the_same(client: httpx.AsyncClient) -> None:
    await register(client, "bob")
    wrong = await client.post("/auth/login", json={"username": "bob", "password": "password124"})
    unknown = await client.post("/auth/login", json={"username": "nobody", "password": PASSWORD})
    for response in (wrong, unknown):
        assert_problem(response, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == unknown.headers["content-type"]


async def test_me_and_lookup(register: Register) -> None:
    alice, bob = await register("alice"), await register("bob")
    me = (await alice.client.get("/users/me")).json()["user"]
    assert me["id"] == alice.id and me["username"] == "alice"
    looked_up = await alice.client.get(f"/users/{bob.id}")
    assert looked_up.status_code == 200
    assert looked_up.json()["user"]["username"] == "bob"
    assert "passwordHash" not in looked_up.text and "password" not in looked_up.text
    assert (await alice.client.get(f"/users/{alice.id}")).json()["user"] == me


async def test_search(register: Register, client: httpx.AsyncClient) -> None:
    alice = await register("alice")
    await register("bob")
    await register("bobby")
    named = await client.post(
        "/auth/register",
        json={"username": "carol", "password": PASSWORD, "displayName": "Bobcat Carol"},
    )
    assert named.status_code == 201
    await register("under_score")
    await register("underxscore")

    async def search(**params: str) -> list[str]:
        response = await alice.client.get("/users", params=params)
        assert response.status_code == 200, response.text
        return [user["username"] for user in response.json()["users"]]

    assert sorted(await search(q="BOB")) == ["bob", "bobby", "carol"]  # display name too
    assert sorted(await search(q="bCaT")) == ["carol"]
    assert await search(q="ali") == []  # never myself
    assert "alice" not in await search()
    assert len(await search()) == 5  # no q: everyone else
    assert len(await search(limit="2")) == 2
    assert len(await search(q="b", limit="50")) == 3
    assert await search(q="r_s") == ["under_score"]  # `_` is a character, not a wildcard
    assert await search(q="%") == []
    assert_problem(await alice.client.get("/users", params={"limit": "51"}), 422)
    assert_problem(await alice.client.get("/users", params={"limit": "0"}), 422)
