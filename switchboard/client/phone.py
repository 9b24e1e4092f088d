"""A :class:`Phone` is one logged-in device: REST client + gateway session + its calls.

```python
server = "http://127.0.0.1:8000"
async with await Phone.login(server, "alice", "secret-pass", device_id="bot-1") as phone:
    call = await phone.call("bob", call_type="audio")
    await call.wait_answered(timeout=30)
    ...
    await call.end()
```

The phone subscribes to its session before doing anything, so no event of a call it places or
receives is lost; it routes every event to the :class:`~switchboard.client.calls.Call` it
concerns, hands incoming calls out through :meth:`Phone.next_incoming`, and after a reconnect
re-reads the calls that ``hello`` no longer mentions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, cast

import httpx

from .calls import CALL_EVENTS, Call
from .gateway import Event, GatewaySession
from .http import ApiClient, ApiError
from .models import CallData, CallType, Signal, SignalKind, User

log = logging.getLogger(__name__)


class Phone:
    """One device of one user. Implements :class:`~switchboard.client.calls.CallControl`."""

    def __init__(self, api: ApiClient, session: GatewaySession) -> None:
        if api.user is None:
            raise ValueError("log in (or register) with the ApiClient first")
        self.api = api
        self.session = session
        self.user: User = api.user
        self.calls: dict[str, Call] = {}
        self._incoming: asyncio.Queue[Call] = asyncio.Queue()
        self._early_signals: dict[str, list[Signal]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._events = session.subscribe()
        self._router: asyncio.Task[None] | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []

    # -- construction ---------------------------------------------------------------------

    @classmethod
    async def login(
        cls,
        server: str,
        username: str,
        password: str,
        *,
        device_id: str | None = None,
        register: bool = False,
        display_name: str | None = None,
        **session_options: Any,
    ) -> Phone:
        """Log in (or first ``register``) and open the gateway session of ``device_id``."""
        api = ApiClient(server)
        try:
            if register:
                await api.register(username, password, display_name=display_name)
            else:
                await api.login(username, password)
            return await cls.open(api, device_id=device_id, **session_options)
        except BaseException:
            await api.aclose()
            raise

    @classmethod
    async def open(cls, api: ApiClient, *, device_id: str | None = None, **options: Any) -> Phone:
        """A phone over an already logged-in ``api`` (closed with the phone)."""
        if api.token is None:
            raise ValueError("the ApiClient has no token: log in first")
        session = GatewaySession(api.ws_url, api.token, device_id=device_id, **options)
        await session.connect()
        phone = cls(api, session)
        phone.start()
        return phone

    def start(self) -> None:
        """Start routing events (done by :meth:`open`); takes the current ``hello`` first."""
        if self._router is None:
            self._on_hello(cast(dict[str, Any], self.session.hello))
            self._router = asyncio.create_task(self._route(), name="switchboard-phone")

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` (e.g. a media peer's ``close``) when the phone closes."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Close what was registered with :meth:`on_close`, the session and the REST client."""
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                await closer()
        self._events.close()
        if self._router is not None:
            self._router.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._router
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ApiError):
                await task
        await self.session.close()
        await self.api.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- CallControl ----------------------------------------------------------------------

    @property
    def connection_id(self) -> str | None:
        return self.session.connection_id if self.session.connected else None

    async def answer_call(self, call_id: str, *, accept: bool) -> CallData:
        return await self.api.answer_call(
            call_id, accept=accept, connection_id=self.session.connection_id
        )

    async def end_call(self, call_id: str, *, reason: str | None) -> CallData:
        return await self.api.end_call(call_id, reason=reason)

    async def get_call(self, call_id: str) -> CallData:
        return await self.api.get_call(call_id)

    async def send_signal(self, call_id: str, kind: SignalKind, payload: dict[str, Any]) -> None:
        await self.session.signal(call_id, kind, payload)

    # -- calls ----------------------------------------------------------------------------

    async def call(
        self,
        user: str | User,
        *,
        call_type: CallType = "audio",
        conversation_id: str | None = None,
        bind_device: bool = True,
    ) -> Call:
        """Place a call to a user (a ``User``, a username, or a user id).

        With ``bind_device`` the call is bound to this device (``connectionId``), so the other
        side's signals come here only.
        """
        receiver_id = await self._resolve(user)
        data = await self.api.initiate_call(
            receiver_id,
            call_type=call_type,
            conversation_id=conversation_id,
            connection_id=self.session.connection_id if bind_device else None,
        )
        return self._track(data)

    async def next_incoming(self, timeout: float | None = None) -> Call:
        """The next call ringing on this device (``call.incoming``, or ringing at ``hello``)."""
        async with asyncio.timeout(timeout):
            return await self._incoming.get()

    async def active_call(self) -> Call | None:
        data = await self.api.active_call()
        return None if data is None else self._track(data)

    async def _resolve(self, user: str | User) -> str:
        if not isinstance(user, str):
            return user["id"]
        try:
            return (await self.api.find_user(user))["id"]
        except ApiError as exc:
            if exc.code != "user_not_found":
                raise
            return user  # not a username: take it as an id; the server says if it is not one

    def _track(self, data: CallData) -> Call:
        call = self.calls.get(data["id"])
        if call is None:
            call = Call(data, my_user_id=self.user["id"], control=self)
            self.calls[call.id] = call
            for signal in self._early_signals.pop(call.id, []):
                call.handle_event(Event("signal", cast(dict[str, Any], signal)))
            if not call.is_caller and call.status == "initiated":
                self._incoming.put_nowait(call)
        else:
            call.apply(data)
        return call

    # -- event routing --------------------------------------------------------------------

    async def _route(self) -> None:
        async for event in self._events:
            self._on_event(event)

    def _on_event(self, event: Event) -> None:
        if event.type in CALL_EVENTS:
            data = event.data.get("call")
            if isinstance(data, dict):
                self._track(cast(CallData, data)).handle_event(event)
        elif event.type == "signal":
            call_id = str(event.data.get("callId"))
            call = self.calls.get(call_id)
            if call is not None:
                call.handle_event(event)
            else:
                self._early_signals.setdefault(call_id, []).append(cast(Signal, event.data))
        elif event.type in ("hello", "sync"):
            self._on_hello(event.data, event.type)

    def _on_hello(self, data: dict[str, Any], type: str = "hello") -> None:
        active = data.get("activeCall")
        if isinstance(active, dict):
            self._track(cast(CallData, active))
        event = Event(type, data)
        for call in list(self.calls.values()):
            if call.handle_event(event):
                task = asyncio.create_task(self._refresh(call))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _refresh(self, call: Call) -> None:
        try:
            await call.refresh()
        except (ApiError, httpx.HTTPError) as exc:
            log.warning("could not re-read call %s after reconnecting: %s", call.id, exc)
