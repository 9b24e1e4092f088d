"""A :class:`Call` follows one call through its statuses.

It is fed the gateway's events (``call.*``, ``signal``, ``hello``, ``sync``) and REST answers;
every update goes through :meth:`Call.apply`, which drops anything whose ``version`` is not newer
than what the call already holds, so a late or replayed event never moves a call backwards.
Signals for the call are queued for the media layer (:meth:`Call.next_signal`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, cast

from .gateway import Event
from .models import TERMINAL_STATUSES, CallData, CallStatus, Signal, SignalKind, User

CALL_EVENTS = frozenset(
    {
        "call.initiated",
        "call.incoming",
        "call.answered",
        "call.rejected",
        "call.missed",
        "call.ended",
    }
)


class CallControl(Protocol):
    """What a :class:`Call` needs to act: the :class:`~switchboard.client.phone.Phone` is one."""

    @property
    def connection_id(self) -> str | None: ...

    async def answer_call(self, call_id: str, *, accept: bool) -> CallData: ...

    async def end_call(self, call_id: str, *, reason: str | None) -> CallData: ...

    async def get_call(self, call_id: str) -> CallData: ...

    async def send_signal(
        self, call_id: str, kind: SignalKind, payload: dict[str, Any]
    ) -> None: ...


class CallNotControllable(RuntimeError):
    """The :class:`Call` was made without a :class:`CallControl` (e.g. in a unit test)."""


class Call:
    """The client's view of one call, kept current and never moved backwards."""

    def __init__(
        self,
        data: CallData,
        *,
        my_user_id: str,
        control: CallControl | None = None,
    ) -> None:
        self.data = data
        self.my_user_id = my_user_id
        self.control = control
        #: The device that answered (from ``call.answered``), ``None`` while unknown.
        self.answered_connection_id: str | None = None
        #: Every status this client has seen the call in, in order.
        self.statuses: list[CallStatus] = [data["status"]]
        #: How many updates were dropped as stale (version not newer).
        self.stale_dropped = 0
        self._signals: asyncio.Queue[Signal | None] = asyncio.Queue()
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.status} v{self.version}>"

    # -- state ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def status(self) -> CallStatus:
        return self.data["status"]

    @property
    def version(self) -> int:
        return self.data["version"]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_caller(self) -> bool:
        return self.data["callerId"] == self.my_user_id

    @property
    def peer(self) -> User:
        """The other participant."""
        return self.data["receiver"] if self.is_caller else self.data["caller"]

    @property
    def answered_here(self) -> bool:
        """This device answered (or the answer named no device and I am the receiver)."""
        if self.data.get("answeredAt") is None:
            return False
        mine = self.control.connection_id if self.control is not None else None
        return self.answered_connection_id is None or self.answered_connection_id == mine

    @property
    def answered_elsewhere(self) -> bool:
        """Another device of mine answered this incoming call: stop ringing here."""
        if self.is_caller or self.data.get("answeredAt") is None:
            return False
        mine = self.control.connection_id if self.control is not None else None
        return self.answered_connection_id is not None and self.answered_connection_id != mine

    def apply(self, data: CallData, *, answered_connection_id: str | None = None) -> bool:
        """Take ``data`` if it is newer than what is held; return whether it was taken."""
        if data["id"] != self.id:
            raise ValueError(f"call {data['id']} is not {self.id}")
        if answered_connection_id is not None and self.answered_connection_id is None:
            self.answered_connection_id = answered_connection_id
        if data["version"] <= self.version:
            self.stale_dropped += 1
            return False
        previous = self.status
        self.data = data
        if data["status"] != previous:
            self.statuses.append(data["status"])
        if self.is_terminal:
            self._signals.put_nowait(None)
        self._changed.set()
        self._changed = asyncio.Event()
        return True

    def handle_event(self, event: Event) -> bool:
        """Apply a gateway event if it concerns this call.

        Returns ``True`` when the event says the call may have changed without telling how (a
        ``hello``/``sync`` whose ``activeCall`` is not this call while it is not terminal): the
        caller should then :meth:`refresh` it over REST.
        """
        if event.type in CALL_EVENTS:
            data = cast(CallData | None, event.data.get("call"))
            if data is not None and data.get("id") == self.id:
                connection = event.data.get("connectionId")
                self.apply(
                    data,
                    answered_connection_id=connection if isinstance(connection, str) else None,
                )
        elif event.type == "signal":
            if event.data.get("callId") == self.id and not self.is_terminal:
                self._signals.put_nowait(cast(Signal, event.data))
        elif event.type in ("hello", "sync"):
            active = cast(CallData | None, event.data.get("activeCall"))
            if active is not None and active.get("id") == self.id:
                self.apply(active)
            elif not self.is_terminal:
                return True
        return False

    async def wait_for_status(
        self, *statuses: CallStatus, timeout: float | None = None
    ) -> CallData:
        """Wait until the call is in one of ``statuses`` (or any terminal one, if none given)."""
        wanted = set(statuses) if statuses else set(TERMINAL_STATUSES)
        async with asyncio.timeout(timeout):
            while self.status not in wanted:
                if self.is_terminal:
                    raise CallEnded(self)
                await self._changed.wait()
        return self.data

    async def wait_answered(self, timeout: float | None = None) -> CallData:
        return await self.wait_for_status("answered", timeout=timeout)

    async def wait_ended(self, timeout: float | None = None) -> CallData:
        """Wait for any terminal status (``ended``, ``missed``, ``rejected``)."""
        return await self.wait_for_status(timeout=timeout)

    async def next_signal(self, timeout: float | None = None) -> Signal | None:
        """The next signal from the other side; ``None`` once the call is over."""
        if self.is_terminal and self._signals.empty():
            return None
        async with asyncio.timeout(timeout):
            return await self._signals.get()

    # -- actions --------------------------------------------------------------------------

    def _control(self) -> CallControl:
        if self.control is None:
            raise CallNotControllable("this Call has no CallControl")
        return self.control

    async def answer(self) -> CallData:
        """Accept the ringing call on this device (binds the device to the call)."""
        control = self._control()
        data = await control.answer_call(self.id, accept=True)
        self.apply(data, answered_connection_id=control.connection_id)
        return self.data

    async def reject(self) -> CallData:
        data = await self._control().answer_call(self.id, accept=False)
        self.apply(data)
        return self.data

    async def end(self, reason: str | None = None) -> CallData:
        """Hang up (answered), cancel (ringing, caller) or reject (ringing, receiver)."""
        data = await self._control().end_call(self.id, reason=reason)
        self.apply(data)
        return self.data

    hang_up = end

    async def refresh(self) -> CallData:
        """Re-read the call over REST (after a reconnect that may have missed events)."""
        self.apply(await self._control().get_call(self.id))
        return self.data

    async def signal(self, kind: SignalKind, payload: dict[str, Any]) -> None:
        await self._control().send_signal(self.id, kind, payload)


class CallEnded(Exception):
    """The call reached a terminal status other than the one waited for."""

    def __init__(self, call: Call) -> None:
        super().__init__(f"call {call.id} is {call.status} ({call.data.get('endReason')})")
        self.call = call
