"""The event bus: one interface, an in-process backend and (with REDIS_URL) a Redis one.

An envelope is a frame for one user's connections (or one of them). Every instance hears
every envelope and delivers it to the connections it holds; a single ordered stream keeps
each sender's order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from switchboard.realtime import codec


@dataclass(slots=True)  # one per relayed frame: not frozen, whose __init__ costs twice as much
class Envelope:
    user_id: str
    frame: dict[str, Any]
    connection_id: str | None = None  # only this connection of the user
    call: dict[str, Any] | None = field(default=None)  # relay state of the call it concerns

    def dumps(self) -> str:
        return codec.dumps(
            {"u": self.user_id, "f": self.frame, "c": self.connection_id, "s": self.call}
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Envelope:
        raw = codec.loads(text)
        return cls(user_id=raw["u"], frame=raw["f"], connection_id=raw["c"], call=raw["s"])


class BusUnavailable(Exception):
    """The bus cannot carry envelopes right now."""


Deliver = Callable[[Envelope], None]
Resync = Callable[[], Awaitable[None]]


class Bus(ABC):
    def __init__(self) -> None:
        self._deliver: Deliver = lambda envelope: None
        self._resync: Resync | None = None

    def attach(self, deliver: Deliver, resync: Resync | None = None) -> None:
        """`deliver` gets every envelope; `resync` runs when envelopes may have been lost."""
        self._deliver = deliver
        self._resync = resync

    async def start(self) -> None:  # noqa: B027 - optional for backends
        pass

    async def stop(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    async def publish(self, envelopes: list[Envelope]) -> None:
        """Sends envelopes to every instance, in order."""

    @property
    def healthy(self) -> bool:
        return True


class LocalBus(Bus):
    """Everything in one process: delivery is a function call."""

    async def publish(self, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            self._deliver(envelope)
