"""User lookup and search, with live `online` flags."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.ids import is_id
from switchboard.services.errors import USER_NOT_FOUND, not_found
from switchboard.services.ports import Presence
from switchboard.services.views import UserView
from switchboard.store import users as user_store
from switchboard.store.db import Database
from switchboard.store.models import User


class UserService:
    def __init__(self, *, db: Database, presence: Presence) -> None:
        self._db = db
        self._presence = presence

    async def get(self, *, user_id: str) -> UserView:
        if not is_id(user_id):
            raise not_found(USER_NOT_FOUND, "User not found")
        async with self._db.read() as session:
            user = await user_store.get_user(session, user_id)
        if user is None:
            raise not_found(USER_NOT_FOUND, "User not found")
        return (await self.views([user]))[user.id]

    async def search(self, *, user_id: str, query: str, limit: int) -> list[UserView]:
        async with self._db.read() as session:
            found = await user_store.search_users(
                session, query=query, exclude_id=user_id, limit=limit
            )
        views = await self.views(found)
        return [views[user.id] for user in found]

    async def views(self, users: Iterable[User]) -> dict[str, UserView]:
        by_id = {user.id: user for user in users}
        online = await self._presence.online_users(by_id)
        return {uid: UserView.of(user, online=uid in online) for uid, user in by_id.items()}

    async def load_views(
        self, session: AsyncSession, user_ids: Iterable[str]
    ) -> dict[str, UserView]:
        return await self.views((await user_store.get_users(session, user_ids)).values())
