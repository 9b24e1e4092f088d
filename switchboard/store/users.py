"""User queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.store.db import Reader
from switchboard.store.models import User
from switchboard.store.upsert import insert_ignoring_conflicts


async def insert_user(
    session: AsyncSession,
    *,
    user_id: str,
    username: str,
    display_name: str,
    password_hash: str,
    now: datetime,
) -> bool:
    """Adds the user; False when the username is taken (decided by the unique index)."""
    row = {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "password_hash": password_hash,
        "created_at": now,
    }
    inserted = await insert_ignoring_conflicts(
        session,
        User,
        [row],
        returning="id",
    )
    return bool(inserted)


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


_MISSED_SEEN_AT = select(User.missed_seen_at).where(User.id == bindparam("user_id"))


async def missed_seen_at(reader: Reader, user_id: str) -> datetime | None:
    """When the user last marked their missed calls seen (None: never, or no such user)."""
    return await reader.scalar(_MISSED_SEEN_AT, {"user_id": user_id})


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(User.username == username))
    return result.scalar_one_or_none()


async def get_users(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, User]:
    ids = set(user_ids)
    if not ids:
        return {}
    result = await session.execute(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in result.scalars()}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_users(
    session: AsyncSession, *, query: str, exclude_id: str, limit: int
) -> list[User]:
    statement = select(User).where(User.id != exclude_id)
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        statement = statement.where(
            or_(
                User.username.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    statement = statement.order_by(User.username).limit(limit)
    result = await session.execute(statement)
    return list(result.scalars())


async def set_missed_seen(session: AsyncSession, *, user_id: str, seen_at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(missed_seen_at=seen_at))
