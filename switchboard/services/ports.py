"""What services need from the real-time layer, as interfaces (it implements them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from switchboard.services.views import CallEvent


class LivenessUnavailable(Exception):
    """Connection liveness cannot be read right now (e.g. Redis is down)."""


class Presence(Protocol):
    async def online_users(self, user_ids: Iterable[str], *, strict: bool = False) -> set[str]:
        """Which of these users have at least one live connection. `strict`: raise
        `LivenessUnavailable` rather than answer from partial knowledge."""
        ...

    async def has_connection(
        self, user_id: str, connection_id: str, *, strict: bool = False
    ) -> bool:
        """Whether the user has a live connection with this id."""
        ...


class EventPublisher(Protocol):
    async def publish_call_event(self, event: CallEvent) -> None:
        """Tells every connection of both participants; called after commit."""
        ...
