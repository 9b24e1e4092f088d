"""Who is online and which connections are live, as services ask it (the `Presence` port)."""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.realtime.connections import Registry


class LocalPresence:
    """Liveness of one instance's own connections (the single-process deployment)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def online_users(self, user_ids: Iterable[str]) -> set[str]:
        online = self._registry.users()
        return {uid for uid in user_ids if uid in online}

    async def has_connection(self, user_id: str, connection_id: str) -> bool:
        return self._registry.get(user_id, connection_id) is not None
