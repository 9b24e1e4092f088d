"""Bad requests to every route: a 4xx problem+json answer, never a 5xx, and nothing written.

Each route has a table of bad requests. Before each one the whole database is read (every
row of every table) and compared afterwards, so a request that was wrongly accepted, even
one that only updates a row, shows up. At the end of each table a good request is sent
in the same setting: it must succeed (and, for routes that write, change the database),
which shows the bad requests were rejected for their one defect and not for another reason.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.config import Settings
from switchboard.store.models import Base
from tests.conftest import Account, Register

PROBLEM_JSON = "application/problem+json"
MISSING: Any = object()
Snapshot = dict[str, list[tuple[Any, ...]]]
Snapshotter = Callable[[], Awaitable[Snapshot]]


@pytest.fixture
async def snapshot(settings: Settings) -> AsyncIterator[Snapshotter]:
    """Reads every row of every table straight from the database (not through the API)."""
    engine = create_async_engine(settings.database_url)

    async def read() -> Snapshot:
        rows: Snapshot = {}
        async with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                result = await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
                rows[table.name] = [tuple(row) for row in result]
        return rows

    yield read
    await engine.dispose()


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> None:
    """A problem details answer with this status (and code, when given)."""
    where = f"{response.request.method} {response.request.url}: {response.text}"
    assert response.status_code == status, where
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON, where
    body = response.json()
    for key in ("type", "title", "status", "detail", "code"):
        assert isinstance(body.get(key), str if key != "status" else int), (key, where)
    assert body["status"] == status, where
    assert body["code"], where
    if code is not None:
        assert body["code"] == code, where
    if body["code"] == "validation_error":
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, where
        for error in errors:
            assert isinstance(error["field"], str) and error["field"], where
            assert isinstance(error["message"], str) and error["message"], where


@dataclass(frozen=True)
class World:
    """alice, bob and carol; one ended call alice->bob; optionally a ringing one."""

    alice: Account
    bob: Account
    carol: Account
    anonymous: httpx.AsyncClient
    ended: str
    conversation: str
    ringing: str | None

    def fill(self, value: Any) -> Any:
        """Puts the world's ids into `{alice}`, `{call}`, ... placeholders."""
        names = {
            "alice": self.alice.id,
            "bob": self.bob.id,
            "carol": self.carol.id,
            "ended": self.ended,
            "call": self.ringing or self.ended,
            "conversation": self.conversation,
            "nowhere": str(uuid.uuid4()),
        }
        if isinstance(value, str):
            return value.format(**names)
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value

    def client(self, actor: str) -> httpx.AsyncClient:
        if actor == "anonymous":
            return self.anonymous
        account: Account = getattr(self, actor)
        return account.client


@dataclass(frozen=True)
class Bad:
    """One bad request: what to send and the 4xx it must get."""

    label: str
    status: int = 422
    code: str | None = None  # default: validation_error (422), unsupported_media_type (415)
    json: Any = MISSING
    content: bytes | None = None
    content_type: str | None = "application/json"
    params: Mapping[str, str] | None = None
    path: str | None = None  # instead of the route's path
    method: str | None = None  # instead of the route's method
    actor: str | None = None  # instead of the route's actor
    fields: tuple[str, ...] = ()  # the fields a validation error must name

    @property
    def expected_code(self) -> str | None:
        if self.code is not None:
            return self.code
        return {422: "validation_error", 415: "unsupported_media_type"}.get(self.status)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    actor: str  # alice, bob, carol or anonymous
    good: Any  # a valid body (or query) for this route in the world
    cases: list[Bad]
    ringing: bool = False  # set up a ringing call alice->bob first
    writes: bool = False  # the good request changes the database
    good_status: int = 200
    body: bool = True  # the route takes a JSON body (else `good` is the query)
    extra: list[Bad] = field(default_factory=list)


def body_cases(good: dict[str, Any], *, optional_body: bool = False) -> list[Bad]:
    """Malformed JSON, non-object JSON, wrong content types and an unknown field."""
    good_bytes = httpx.Request("POST", "http://x", json=good).content
    cases = [
        Bad("malformed JSON", content=b'{"a": ', fields=("body",)),
        Bad("single quotes", content=b"{'a': 1}", fields=("body",)),
        Bad("not UTF-8", content=b"\xff\xfe{}"),
        Bad("array", json=[good]),
        Bad("string", json="hello"),
        Bad("number", json=42),
        Bad("text/plain", status=415, content=good_bytes, content_type="text/plain"),
        Bad(
            "form encoded",
            status=415,
            content=b"a=1",
            content_type="application/x-www-form-urlencoded",
        ),
        Bad("no content type", status=415, content=good_bytes, content_type=None),
        Bad("unknown field", json={**good, "isAdmin": True}, fields=("isAdmin",)),
        Bad("snake_case field", json={**good, "extra_field": 1}, fields=("extra_field",)),
    ]
    if not optional_body:
        cases += [
            Bad("null", json=None),
            Bad("empty body", content=b""),
            Bad("empty object", json={}),
        ]
    return cases


def path_id_cases(
    template: str,
    code: str,
    *,
    method: str | None = None,
    other: str = "{carol}",
    json: Any = MISSING,
) -> list[Bad]:
    """Malformed and unknown ids in the path: 404 with the resource's code.

    `other` is the id of something else that exists (a user's id where a call's is due).
    """
    return [
        Bad(
            f"path id {label}",
            status=404,
            code=code,
            path=template.format(id=bad),
            method=method,
            json=json,
        )
        for label, bad in (
            ("malformed", "not-an-id"),
            ("unknown", "{nowhere}"),
            ("number", "12345"),
            ("NUL", "%00"),
            ("too long", "a" * 300),
            ("id of something else", other),
            ("quote", "x'%20OR%20'1'='1"),
        )
    ]


def query_cases(
    name: str, values: list[str], *, fields: tuple[str, ...] | None = None
) -> list[Bad]:
    return [
        Bad(f"{name}={value!r}", params={name: value}, fields=fields or (name,)) for value in values
    ]


BAD_DATES = ["yesterday", "2024-13-01", "2024-02-30T00:00:00Z", "9999-12-31T23:59:59-01:00"]
BAD_DATES += ["0001-01-01T00:00:00+01:00", "2024-01-01T25:00:00Z", ""]
BAD_UUIDS = ["nope", "123", "%00", "{carol}x", "a" * 40]


ROUTES = [
    Route(
        "register",
        "POST",
        "/auth/register",
        "anonymous",
        {"username": "dave", "password": "password123"},
        writes=True,
        good_status=201,
        cases=[
            *body_cases({"username": "dave", "password": "password123"}),
            *(
                Bad(
                    f"username {name!r}",
                    json={"username": name, "password": "password123"},
                    fields=("username",),
                )
                for name in ("ab", "a" * 33, "al ice", "alice!", "ålice", "", "dave\x00", 123, None)
            ),
            *(
                Bad(
                    f"password {password!r}",
                    json={"username": "dave", "password": password},
                    fields=("password",),
                )
                for password in ("1234567", "p" * 129, 12345678, None, ["password123"])
            ),
            *(
                Bad(
                    f"displayName {display!r}",
                    json={"username": "dave", "password": "password123", "displayName": display},
                    fields=("displayName",),
                )
                for display in ("", "d" * 65, 5, "a\x00b", "tab\there", {"x": 1})
            ),
            Bad("no password", json={"username": "dave"}, fields=("password",)),
            Bad("no username", json={"password": "password123"}, fields=("username",)),
            Bad(
                "taken, other case",
                status=409,
                code="username_taken",
                json={"username": "ALICE", "password": "password123"},
            ),
            Bad(
                "taken",
                status=409,
                code="username_taken",
                json={"username": "bob", "password": "another-password"},
            ),
        ],
    ),
    Route(
        "login",
        "POST",
        "/auth/login",
        "anonymous",
        {"username": "alice", "password": "password123"},
        cases=[
            *body_cases({"username": "alice", "password": "password123"}),
            Bad(
                "username number",
                json={"username": 5, "password": "password123"},
                fields=("username",),
            ),
            Bad("no password", json={"username": "alice"}, fields=("password",)),
            Bad("empty username", json={"username": "", "password": "x"}, fields=("username",)),
            *(
                Bad(f"login {label}", status=401, code="invalid_credentials", json=body)
                for label, body in (
                    ("wrong password", {"username": "alice", "password": "password124"}),
                    ("unknown user", {"username": "zed", "password": "password123"}),
                    ("NUL in name", {"username": "ali\x00ce", "password": "password123"}),
                    ("name with space", {"username": "alice ", "password": "password123"}),
                )
            ),
        ],
    ),
    Route(
        "me",
        "GET",
        "/users/me",
        "alice",
        None,
        body=False,
        cases=[
            Bad("DELETE", status=405, code="method_not_allowed", method="DELETE"),
            Bad("PATCH", status=405, code="method_not_allowed", method="PATCH", json={}),
        ],
    ),
    Route(
        "search",
        "GET",
        "/users",
        "alice",
        {"q": "bo", "limit": "5"},
        body=False,
        cases=[
            *query_cases("limit", ["0", "51", "abc", "-1", "1.5", ""]),
            *query_cases("q", ["x" * 65, "a\x00", "line\nbreak"]),
            Bad("POST", status=405, code="method_not_allowed", method="POST", json={}),
        ],
    ),
    Route(
        "user",
        "GET",
        "/users/{bob}",
        "alice",
        None,
        body=False,
        cases=path_id_cases("/users/{id}", "user_not_found", other="{ended}"),
    ),
    Route(
        "open conversation",
        "POST",
        "/conversations",
        "alice",
        {"participantIds": ["{carol}"]},
        writes=True,
        good_status=201,
        cases=[
            *body_cases({"participantIds": ["{carol}"]}),
            *(
                Bad(
                    f"participantIds {label}",
                    json={"participantIds": ids},
                    fields=("participantIds",),
                )
                for label, ids in (
                    ("empty", []),
                    ("two", ["{bob}", "{carol}"]),
                    ("myself", ["{alice}"]),
                    ("a string", "{carol}"),
                    ("numbers", [1]),
                    ("null", None),
                    ("an object", {"id": "{carol}"}),
                )
            ),
            Bad(
                "unknown user",
                status=404,
                code="user_not_found",
                json={"participantIds": ["{nowhere}"]},
            ),
            Bad(
                "malformed user id",
                status=404,
                code="user_not_found",
                json={"participantIds": ["nope\x00"]},
            ),
        ],
    ),
    Route(
        "conversations",
        "GET",
        "/conversations",
        "alice",
        None,
        body=False,
        cases=[Bad("PUT", status=405, code="method_not_allowed", method="PUT", json={})],
    ),
    Route(
        "conversation",
        "GET",
        "/conversations/{conversation}",
        "alice",
        None,
        body=False,
        cases=path_id_cases("/conversations/{id}", "conversation_not_found"),
    ),
    Route(
        "initiate",
        "POST",
        "/calls/initiate",
        "alice",
        {"receiverId": "{carol}", "callType": "audio"},
        writes=True,
        good_status=201,
        cases=[
            *body_cases({"receiverId": "{carol}", "callType": "audio"}),
            *(
                Bad(f"{label}", json=body, fields=fields)
                for label, body, fields in (
                    ("no receiver", {"callType": "audio"}, ("receiverId",)),
                    ("no type", {"receiverId": "{carol}"}, ("callType",)),
                    ("receiver number", {"receiverId": 7, "callType": "audio"}, ("receiverId",)),
                    ("receiver null", {"receiverId": None, "callType": "audio"}, ("receiverId",)),
                    ("type AUDIO", {"receiverId": "{carol}", "callType": "AUDIO"}, ("callType",)),
                    ("type screen", {"receiverId": "{carol}", "callType": "screen"}, ("callType",)),
                    (
                        "conversation number",
                        {"receiverId": "{carol}", "callType": "audio", "conversationId": 5},
                        ("conversationId",),
                    ),
                    (
                        "bad connection",
                        {"receiverId": "{carol}", "callType": "audio", "connectionId": "a b"},
                        ("connectionId",),
                    ),
                    (
                        "long connection",
                        {"receiverId": "{carol}", "callType": "audio", "connectionId": "c" * 65},
                        ("connectionId",),
                    ),
                    (
                        "receiver id too long",
                        {"receiverId": "r" * 65, "callType": "audio"},
                        ("receiverId",),
                    ),
                )
            ),
            Bad(
                "unknown receiver",
                status=404,
                code="user_not_found",
                json={"receiverId": "{nowhere}", "callType": "audio"},
            ),
            Bad(
                "malformed receiver",
                status=404,
                code="user_not_found",
                json={"receiverId": "x\x00", "callType": "audio"},
            ),
            Bad(
                "myself",
                status=422,
                code="cannot_call_self",
                json={"receiverId": "{alice}", "callType": "video"},
            ),
            Bad(
                "unknown conversation",
                status=404,
                code="conversation_not_found",
                json={"receiverId": "{carol}", "callType": "audio", "conversationId": "{nowhere}"},
            ),
            Bad(
                "malformed conversation",
                status=404,
                code="conversation_not_found",
                json={"receiverId": "{carol}", "callType": "audio", "conversationId": "%00"},
            ),
            Bad(
                "conversation of others",
                status=403,
                code="not_a_participant",
                json={
                    "receiverId": "{carol}",
                    "callType": "audio",
                    "conversationId": "{conversation}",
                },
            ),
            Bad(
                "connection not live",
                status=422,
                code="unknown_connection",
                json={"receiverId": "{carol}", "callType": "audio", "connectionId": "laptop"},
            ),
        ],
    ),
    Route(
        "answer",
        "PATCH",
        "/calls/{call}/answer",
        "bob",
        {"accept": True},
        ringing=True,
        writes=True,
        cases=[
            *body_cases({"accept": True}),
            *(
                Bad(f"accept {value!r}", json={"accept": value}, fields=("accept",))
                for value in ("true", 1, None, "yes", [True])
            ),
            Bad("no accept", json={"connectionId": "abc"}, fields=("accept",)),
            Bad(
                "bad connection",
                json={"accept": True, "connectionId": "no/pe"},
                fields=("connectionId",),
            ),
            Bad(
                "connection not live",
                status=422,
                code="unknown_connection",
                json={"accept": True, "connectionId": "phone"},
            ),
            Bad(
                "the caller answers",
                status=403,
                code="forbidden",
                json={"accept": True},
                actor="alice",
            ),
            *path_id_cases("/calls/{id}/answer", "call_not_found", json={"accept": True}),
            Bad(
                "answer an ended call",
                status=409,
                code="invalid_transition",
                json={"accept": True},
                path="/calls/{ended}/answer",
            ),
        ],
    ),
    Route(
        "end",
        "PATCH",
        "/calls/{call}/end",
        "bob",
        {"reason": "hangup"},
        ringing=True,
        writes=True,
        cases=[
            *body_cases({"reason": "hangup"}, optional_body=True),
            *(
                Bad(f"reason {value!r}", json={"reason": value}, fields=("reason",))
                for value in ("cancelled", "timeout", "HANGUP", 5, ["hangup"], "connection_lost")
            ),
            *path_id_cases("/calls/{id}/end", "call_not_found", json={"reason": "hangup"}),
        ],
    ),
    Route(
        "status",
        "PATCH",
        "/calls/{call}/status",
        "bob",
        {"status": "answered"},
        ringing=True,
        writes=True,
        cases=[
            *body_cases({"status": "answered"}),
            *(
                Bad(f"status {value!r}", json={"status": value}, fields=("status",))
                for value in ("bogus", "ANSWERED", None, 1, "")
            ),
            Bad(
                "ended from ringing",
                status=409,
                code="invalid_transition",
                json={"status": "ended"},
            ),
            Bad(
                "caller sets answered",
                status=403,
                code="forbidden",
                json={"status": "answered"},
                actor="alice",
            ),
            Bad("receiver sets missed", status=403, code="forbidden", json={"status": "missed"}),
            *path_id_cases("/calls/{id}/status", "call_not_found", json={"status": "answered"}),
        ],
    ),
    Route(
        "history",
        "GET",
        "/calls/history",
        "alice",
        {"page": "1", "limit": "100", "status": "ended", "withUserId": "{bob}"},
        body=False,
        cases=[
            *query_cases("limit", ["0", "101", "abc", "-1", "2.5", ""]),
            *query_cases("page", ["0", "-1", "abc", "1.5", "99999999999999999999"]),
            *query_cases("callType", ["screen", "AUDIO", ""]),
            *query_cases("status", ["ringing", "Ended", ""]),
            *query_cases("direction", ["inbound", "both", ""]),
            *query_cases("withUserId", BAD_UUIDS),
            *query_cases("conversationId", BAD_UUIDS),
            *query_cases("from", BAD_DATES),
            *query_cases("to", BAD_DATES),
            Bad("POST", status=405, code="method_not_allowed", method="POST", json={}),
        ],
    ),
    Route(
        "active",
        "GET",
        "/calls/active",
        "alice",
        None,
        body=False,
        cases=[Bad("POST", status=405, code="method_not_allowed", method="POST", json={})],
    ),
    Route(
        "missed count",
        "GET",
        "/calls/missed/count",
        "bob",
        {"since": "2020-01-01T00:00:00Z", "unseen": "true"},
        body=False,
        cases=[
            *query_cases("since", BAD_DATES),
            *query_cases("unseen", ["maybe", "2", ""]),
        ],
    ),
    Route(
        "missed seen",
        "POST",
        "/calls/missed/seen",
        "bob",
        None,
        body=False,
        writes=True,
        cases=[
            Bad("GET", status=405, code="method_not_allowed", method="GET"),
            Bad("text body", status=415, content=b"seen", content_type="text/plain"),
        ],
    ),
    Route(
        "stats",
        "GET",
        "/calls/stats/summary",
        "alice",
        {"from": "2020-01-01T00:00:00Z", "to": "2999-01-01T00:00:00+02:00"},
        body=False,
        cases=[*query_cases("from", BAD_DATES), *query_cases("to", BAD_DATES)],
    ),
    Route(
        "ice servers",
        "GET",
        "/calls/ice-servers",
        "alice",
        None,
        body=False,
        cases=[Bad("POST", status=405, code="method_not_allowed", method="POST", json={})],
    ),
    Route(
        "call",
        "GET",
        "/calls/{ended}",
        "alice",
        None,
        body=False,
        cases=[
            *path_id_cases("/calls/{id}", "call_not_found"),
            Bad("PUT", status=405, code="method_not_allowed", method="PUT", json={}),
        ],
    ),
    Route(
        "delete",
        "DELETE",
        "/calls/{ended}",
        "alice",
        None,
        body=False,
        ringing=True,
        writes=True,
        cases=[
            *path_id_cases("/calls/{id}", "call_not_found", method="DELETE"),
            Bad("a ringing call", status=409, code="call_active", path="/calls/{call}"),
        ],
    ),
    Route(
        "unknown routes",
        "GET",
        "/healthz",
        "alice",
        None,
        body=False,
        cases=[
            *(
                Bad(f"{method} {path}", status=404, code="not_found", method=method, path=path)
                for method, path in (
                    ("GET", "/nope"),
                    ("GET", "/calls/history/extra"),
                    ("POST", "/auth/regster"),
                    ("POST", "/calls"),
                    ("PATCH", "/calls/{call}/hold"),
                    ("DELETE", "/users/{bob}/friends"),
                    ("GET", "/api/v2/calls"),
                )
            ),
            Bad("POST /healthz", status=405, code="method_not_allowed", method="POST"),
            Bad(
                "GET an answer",
                status=405,
                code="method_not_allowed",
                method="GET",
                path="/calls/{ended}/answer",
            ),
        ],
    ),
]


@pytest.fixture
async def world(register: Register, client: httpx.AsyncClient) -> World:
    alice, bob, carol = await register("alice"), await register("bob"), await register("carol")
    response = await alice.client.post(
        "/calls/initiate", json={"receiverId": bob.id, "callType": "video"}
    )
    ended = response.json()["call"]
    await bob.client.patch(f"/calls/{ended['id']}/answer", json={"accept": True})
    assert (await alice.client.patch(f"/calls/{ended['id']}/end")).status_code == 200
    return World(
        alice=alice,
        bob=bob,
        carol=carol,
        anonymous=client,
        ended=ended["id"],
        conversation=ended["conversationId"],
        ringing=None,
    )


async def send(world: World, route: Route, case: Bad) -> httpx.Response:
    client = world.client(case.actor or route.actor)
    headers = {}
    content = case.content
    if case.json is not MISSING:
        content = httpx.Request("POST", "http://x", json=world.fill(case.json)).content
    if content is not None and case.content_type is not None:
        headers["Content-Type"] = case.content_type
    params = world.fill(dict(case.params)) if case.params is not None else None
    path = world.fill(case.path or route.path)
    return await client.request(
        case.method or route.method, path, content=content, headers=headers, params=params
    )


# Routes that write nothing share one setting; each route that writes gets its own.
GROUPS = [[route for route in ROUTES if not route.writes]]
GROUPS += [[route] for route in ROUTES if route.writes]


def test_every_route_of_the_contract_is_in_the_table() -> None:
    covered = {(route.method, route.path) for route in ROUTES}
    assert len(covered) == len(ROUTES)
    contract = {
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("GET", "/users/me"),
        ("GET", "/users"),
        ("GET", "/users/{bob}"),
        ("POST", "/conversations"),
        ("GET", "/conversations"),
        ("GET", "/conversations/{conversation}"),
        ("POST", "/calls/initiate"),
        ("PATCH", "/calls/{call}/answer"),
        ("PATCH", "/calls/{call}/end"),
        ("PATCH", "/calls/{call}/status"),
        ("GET", "/calls/history"),
        ("GET", "/calls/active"),
        ("GET", "/calls/missed/count"),
        ("POST", "/calls/missed/seen"),
        ("GET", "/calls/stats/summary"),
        ("GET", "/calls/ice-servers"),
        ("GET", "/calls/{ended}"),
        ("DELETE", "/calls/{ended}"),
    }
    assert contract <= covered


@pytest.mark.parametrize(
    "routes", GROUPS, ids=["routes that only read" if len(g) > 1 else g[0].name for g in GROUPS]
)
async def test_bad_requests_get_problems_and_write_nothing(
    routes: list[Route], world: World, snapshot: Snapshotter
) -> None:
    for route in routes:
        await check_route(route, world, snapshot)


async def check_route(route: Route, world: World, snapshot: Snapshotter) -> None:
    if route.ringing:
        response = await world.alice.client.post(
            "/calls/initiate", json={"receiverId": world.bob.id, "callType": "audio"}
        )
        assert response.status_code == 201
        world = dataclasses.replace(world, ringing=response.json()["call"]["id"])
    before = await snapshot()
    for case in route.cases:
        response = await send(world, route, case)
        assert response.status_code < 500, (route.name, case.label, response.text)
        assert_problem(response, case.status, case.expected_code)
        if case.fields:
            named = [error["field"] for error in response.json()["errors"]]
            for expected in case.fields:
                assert any(n == expected or n.startswith(f"{expected}.") for n in named), (
                    case.label,
                    named,
                )
        assert await snapshot() == before, f"{route.name}: {case.label} wrote to the database"

    # The good request in the same setting succeeds: the cases failed for their defect.
    if route.body:
        good = Bad("good", json=route.good if route.good is not None else MISSING)
    else:
        good = Bad("good", params=route.good)
    response = await send(world, route, good)
    assert response.status_code == route.good_status, (route.name, response.text)
    assert response.headers["content-type"] == "application/json"
    assert (await snapshot() != before) is route.writes, route.name


async def test_problem_shape_of_a_validation_error(register: Register) -> None:
    alice = await register()
    response = await alice.client.get("/calls/history", params={"limit": "0", "page": "x"})
    assert_problem(response, 422, "validation_error")
    body = response.json()
    assert body["type"].startswith("https://")
    assert body["title"] == "Unprocessable Entity"
    assert {error["field"] for error in body["errors"]} == {"limit", "page"}


async def test_wrong_method_names_the_allowed_ones(register: Register) -> None:
    alice = await register()
    response = await alice.client.delete("/calls/history")
    # `/calls/{id}` takes DELETE, so this is the (unknown) call "history".
    assert_problem(response, 404, "call_not_found")
    response = await alice.client.put("/calls/initiate", json={})
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_unauthenticated_bad_request_is_still_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/calls/initiate", content=b"{", headers={"Content-Type": "x/y"})
    assert response.status_code in (401, 415)
    assert response.headers["content-type"] == PROBLEM_JSON
