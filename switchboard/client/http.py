"""Typed async REST client for every route of the Switchboard API (``API.md``).

```python
async with ApiClient("http://127.0.0.1:8000") as api:
    await api.login("alice", "correct horse")
    bob = await api.find_user("bob")
    call = await api.initiate_call(bob["id"], call_type="audio")
```

Errors come back as :class:`ApiError`, built from the server's RFC 9457 problem details.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, cast

import httpx

from .models import (
    AuthResult,
    CallData,
    CallPage,
    CallStats,
    CallStatus,
    CallType,
    Conversation,
    Direction,
    IceServers,
    User,
)

TimeArg = datetime | str


class ApiError(Exception):
    """A non-2xx answer of the REST API, from its problem+json body.

    ``code`` is the stable machine-readable string to switch on (``user_busy``,
    ``invalid_credentials``, ...). A body that is not problem+json gives ``code = "http_<status>"``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str = "",
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title
        self.errors = errors or []
        self.body = body
        #: Seconds from ``Retry-After`` (e.g. on 429 ``rate_limited``), when the server sent it.
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        retry_after: float | None = None
        with contextlib.suppress(ValueError):
            retry_after = float(response.headers.get("retry-after", ""))
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            errors = body.get("errors")
            return cls(
                response.status_code,
                body["code"],
                str(body.get("detail") or body.get("title") or ""),
                title=str(body.get("title") or ""),
                errors=errors if isinstance(errors, list) else None,
                body=body,
                retry_after=retry_after,
            )
        return cls(
            response.status_code,
            f"http_{response.status_code}",
            response.text[:500],
            body=body,
            retry_after=retry_after,
        )


def format_time(value: TimeArg) -> str:
    """ISO 8601 in UTC with ``Z``, as the contract wants; strings pass through unchanged."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _query(**params: object) -> dict[str, str]:
    """Drop ``None``s, format datetimes and booleans for a query string."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            out[key] = format_time(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


class ApiClient:
    """The REST half of the SDK. Use as ``async with``; ``register``/``login`` keep the token."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user: User | None = None
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def ws_url(self) -> str:
        """The gateway's URL (``ws://.../ws`` or ``wss://.../ws``)."""
        if self.base_url.startswith("https://"):
            return "wss://" + self.base_url.removeprefix("https://") + "/ws"
        return "ws://" + self.base_url.removeprefix("http://") + "/ws"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        """Send one request; return the JSON object of a 2xx answer or raise :class:`ApiError`."""
        headers: dict[str, str] = {}
        if auth and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self._http.request(method, path, json=json, params=params, headers=headers)
        if response.is_error:
            raise ApiError.from_response(response)
        body = response.json()
        if not isinstance(body, dict):
            raise ApiError(response.status_code, "invalid_response", "expected a JSON object")
        return body

    # -- health ---------------------------------------------------------------------------

    async def healthz(self) -> dict[str, Any]:
        return await self.request("GET", "/healthz", auth=False)

    # -- auth and users -------------------------------------------------------------------

    async def register(
        self, username: str, password: str, *, display_name: str | None = None
    ) -> AuthResult:
        body: dict[str, Any] = {"username": username, "password": password}
        if display_name is not None:
            body["displayName"] = display_name
        result = cast(
            AuthResult, await self.request("POST", "/auth/register", json=body, auth=False)
        )
        self._remember(result)
        return result

    async def login(self, username: str, password: str) -> AuthResult:
        body = {"username": username, "password": password}
        result = cast(AuthResult, await self.request("POST", "/auth/login", json=body, auth=False))
        self._remember(result)
        return result

    def _remember(self, result: AuthResult) -> None:
        self.token = result["accessToken"]
        self.user = result["user"]

    async def me(self) -> User:
        return cast(User, (await self.request("GET", "/users/me"))["user"])

    async def search_users(self, q: str | None = None, *, limit: int | None = None) -> list[User]:
        body = await self.request("GET", "/users", params=_query(q=q, limit=limit))
        return cast(list[User], body["users"])

    async def get_user(self, user_id: str) -> User:
        return cast(User, (await self.request("GET", f"/users/{user_id}"))["user"])

    async def find_user(self, username: str) -> User:
        """The user with exactly this username (case-insensitive), via search.

        Raises :class:`ApiError` 404 ``user_not_found`` when there is none.
        """
        wanted = username.lower()
        for user in await self.search_users(wanted, limit=50):
            if user["username"].lower() == wanted:
                return user
        raise ApiError(404, "user_not_found", f"No user named {username!r}")

    # -- conversations --------------------------------------------------------------------

    async def create_conversation(self, participant_id: str) -> Conversation:
        """Find or create the 1:1 conversation with ``participant_id``."""
        body = await self.request(
            "POST", "/conversations", json={"participantIds": [participant_id]}
        )
        return cast(Conversation, body["conversation"])

    async def list_conversations(self) -> list[Conversation]:
        body = await self.request("GET", "/conversations")
        return cast(list[Conversation], body["conversations"])

    async def get_conversation(self, conversation_id: str) -> Conversation:
        body = await self.request("GET", f"/conversations/{conversation_id}")
        return cast(Conversation, body["conversation"])

    # -- calls ----------------------------------------------------------------------------

    async def initiate_call(
        self,
        receiver_id: str,
        *,
        call_type: CallType = "audio",
        conversation_id: str | None = None,
        connection_id: str | None = None,
    ) -> CallData:
        body: dict[str, Any] = {"receiverId": receiver_id, "callType": call_type}
        if conversation_id is not None:
            body["conversationId"] = conversation_id
        if connection_id is not None:
            body["connectionId"] = connection_id
        return await self._call("POST", "/calls/initiate", body)

    async def answer_call(
        self, call_id: str, *, accept: bool = True, connection_id: str | None = None
    ) -> CallData:
        body: dict[str, Any] = {"accept": accept}
        if connection_id is not None:
            body["connectionId"] = connection_id
        return await self._call("PATCH", f"/calls/{call_id}/answer", body)

    async def end_call(self, call_id: str, *, reason: str | None = None) -> CallData:
        body = {"reason": reason} if reason is not None else None
        return await self._call("PATCH", f"/calls/{call_id}/end", body)

    async def set_call_status(self, call_id: str, status: CallStatus) -> CallData:
        return await self._call("PATCH", f"/calls/{call_id}/status", {"status": status})

    async def get_call(self, call_id: str) -> CallData:
        return await self._call("GET", f"/calls/{call_id}", None)

    async def delete_call(self, call_id: str) -> None:
        await self.request("DELETE", f"/calls/{call_id}")

    async def call_history(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        call_type: CallType | None = None,
        status: CallStatus | None = None,
        direction: Direction | None = None,
        with_user_id: str | None = None,
        conversation_id: str | None = None,
        from_: TimeArg | None = None,
        to: TimeArg | None = None,
    ) -> CallPage:
        params = _query(
            page=page,
            limit=limit,
            callType=call_type,
            status=status,
            direction=direction,
            withUserId=with_user_id,
            conversationId=conversation_id,
            **{"from": from_, "to": to},
        )
        return cast(CallPage, await self.request("GET", "/calls/history", params=params))

    async def active_call(self) -> CallData | None:
        return cast(CallData | None, (await self.request("GET", "/calls/active"))["call"])

    async def missed_count(self, *, since: TimeArg | None = None, unseen: bool = False) -> int:
        params = _query(since=since, unseen=True if unseen else None)
        return int((await self.request("GET", "/calls/missed/count", params=params))["count"])

    async def mark_missed_seen(self) -> str:
        """Mark my missed calls up to now as seen (on all devices); returns ``seenAt``."""
        return str((await self.request("POST", "/calls/missed/seen"))["seenAt"])

    async def call_stats(
        self, *, from_: TimeArg | None = None, to: TimeArg | None = None
    ) -> CallStats:
        params = _query(**{"from": from_, "to": to})
        body = await self.request("GET", "/calls/stats/summary", params=params)
        return cast(CallStats, body["stats"])

    async def ice_servers(self) -> IceServers:
        return cast(IceServers, await self.request("GET", "/calls/ice-servers"))

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> CallData:
        return cast(CallData, (await self.request(method, path, json=body))["call"])
