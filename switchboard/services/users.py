"""User lookup and search, with live `online` flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.ids import is_id
from switchboard.services.errors import USER_NOT_FOUND, not_found
from switchboard.services.ports import Presence
from switchboard.services.views import UserView
from switchboard.store import users as user_store
from switchboard.store.db import Database
from switchboard.store.models import User

PROFILE_CACHE_SIZE = 100_000


class UserService:
    def __init__(self, *, db: Database, presence: Presence) -> None:
        self._db = db
        self._presence = presence
        # A user's id, username, display name and creation time never change once stored,
        # so every instance may keep them: authenticating a request and showing the parties
        # of a call then need no query. `online` is always asked of presence.
        self._profiles: dict[str, UserView] = {}

    def _remember(self, user: User) -> UserView:
        profile = self._profiles.get(user.id)
        if profile is None:
            if len(self._profiles) >= PROFILE_CACHE_SIZE:
                del self._profiles[next(iter(self._profiles))]  # the oldest entry
            profile = self._profiles[user.id] = UserView.of(user, online=False)
        return profile

    async def _profiles_of(
        self, session: AsyncSession | None, user_ids: Iterable[str]
    ) -> dict[str, UserView]:
        found = {uid: p for uid in user_ids if (p := self._profiles.get(uid)) is not None}
        missing = [uid for uid in user_ids if uid not in found and is_id(uid)]
        if missing:
            if session is None:
                async with self._db.read() as own:
                    loaded = await user_store.get_users(own, missing)
            else:
                loaded = await user_store.get_users(session, missing)
            found.update({uid: self._remember(user) for uid, user in loaded.items()})
        return found

    async def exists(self, user_id: str, session: AsyncSession | None = None) -> bool:
        return bool(await self._profiles_of(session, [user_id]))

    async def profile(self, *, user_id: str) -> UserView:
        """The user without asking presence (`online` is False): for callers that know it."""
        if not is_id(user_id):
            raise not_found(USER_NOT_FOUND, "User not found")
        profile = (await self._profiles_of(None, [user_id])).get(user_id)
        if profile is None:
            raise not_found(USER_NOT_FOUND, "User not found")
        return profile

    async def get(self, *, user_id: str) -> UserView:
        profile = await self.profile(user_id=user_id)
        return (await self._with_presence({user_id: profile}))[user_id]

    async def search(self, *, user_id: str, query: str, limit: int) -> list[UserView]:
        async with self._db.read() as session:
            found = await user_store.search_users(
                session, query=query, exclude_id=user_id, limit=limit
            )
        views = await self.views(found)
        return [views[user.id] for user in found]

    async def views(self, users: Iterable[User]) -> dict[str, UserView]:
        return await self._with_presence({user.id: self._remember(user) for user in users})

    async def load_views(
        self, session: AsyncSession | None, user_ids: Iterable[str]
    ) -> dict[str, UserView]:
        return await self._with_presence(await self._profiles_of(session, set(user_ids)))

    async def _with_presence(self, profiles: dict[str, UserView]) -> dict[str, UserView]:
        online = await self._presence.online_users(profiles) if profiles else set()
        # Kept profiles say offline: only the users online need a copy that says otherwise.
        return {uid: replace(p, online=True) if uid in online else p for uid, p in profiles.items()}
