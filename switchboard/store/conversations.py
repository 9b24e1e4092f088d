"""Conversation queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.ids import new_id
from switchboard.store.models import Conversation, ConversationParticipant
from switchboard.store.upsert import insert_ignoring_conflicts

# Built once: every call initiation runs these.
_conversations: Table = Conversation.__table__  # type: ignore[assignment]
_BY_PAIR_KEY = select(Conversation).where(Conversation.pair_key == bindparam("key"))
_ID_BY_PAIR_KEY = select(_conversations.c.id).where(_conversations.c.pair_key == bindparam("key"))
_TOUCH_LAST_CALL = (
    _conversations.update()
    .where(_conversations.c.id == bindparam("conversation_id"))
    .values(last_call_at=bindparam("started_at"))
)


def pair_key(user_a: str, user_b: str) -> str:
    low, high = sorted((user_a, user_b))
    return f"{low}:{high}"


async def find_or_create_pair(
    session: AsyncSession, *, user_a: str, user_b: str, now: datetime
) -> tuple[Conversation, bool]:
    """The 1:1 conversation of two users, created if missing; True when created here.

    Read first: two people who call each other again (the usual case) need one statement.
    """
    key = pair_key(user_a, user_b)
    existing = (await session.execute(_BY_PAIR_KEY, {"key": key})).scalar_one_or_none()
    if existing is not None:
        return existing, False
    created = await _create_pair(session, key=key, user_a=user_a, user_b=user_b, now=now)
    return (await session.execute(_BY_PAIR_KEY, {"key": key})).scalar_one(), created


async def pair_conversation_id(
    session: AsyncSession, *, user_a: str, user_b: str, now: datetime
) -> str:
    """The id of the two users' conversation, created if missing (a call needs no more)."""
    key = pair_key(user_a, user_b)
    existing = await session.scalar(_ID_BY_PAIR_KEY, {"key": key})
    if existing is None:
        await _create_pair(session, key=key, user_a=user_a, user_b=user_b, now=now)
        existing = await session.scalar(_ID_BY_PAIR_KEY, {"key": key})
    return str(existing)


async def _create_pair(
    session: AsyncSession, *, key: str, user_a: str, user_b: str, now: datetime
) -> bool:
    """Inserts the pair's conversation and its participants, unless a concurrent first call
    between the same two people did (the caller reads the conversation again either way);
    True when inserted here."""
    conversation_id = new_id()
    created = await insert_ignoring_conflicts(
        session,
        Conversation,
        [{"id": conversation_id, "pair_key": key, "created_at": now, "last_call_at": None}],
        returning="id",
    )
    if created:
        await insert_ignoring_conflicts(
            session,
            ConversationParticipant,
            [{"conversation_id": conversation_id, "user_id": uid} for uid in (user_a, user_b)],
            returning="user_id",
        )
    return bool(created)


async def get_conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def participant_ids(session: AsyncSession, conversation_id: str) -> list[str]:
    result = await session.execute(
        select(ConversationParticipant.user_id)
        .where(ConversationParticipant.conversation_id == conversation_id)
        .order_by(ConversationParticipant.user_id)
    )
    return list(result.scalars())


async def participants_of(
    session: AsyncSession, conversation_ids: list[str]
) -> dict[str, list[str]]:
    if not conversation_ids:
        return {}
    result = await session.execute(
        select(ConversationParticipant.conversation_id, ConversationParticipant.user_id)
        .where(ConversationParticipant.conversation_id.in_(conversation_ids))
        .order_by(ConversationParticipant.user_id)
    )
    members: dict[str, list[str]] = {cid: [] for cid in conversation_ids}
    for conversation_id, user_id in result:
        members[conversation_id].append(user_id)
    return members


async def conversations_of(session: AsyncSession, user_id: str) -> list[Conversation]:
    result = await session.execute(
        select(Conversation)
        .join(ConversationParticipant)
        .where(ConversationParticipant.user_id == user_id)
        .order_by(Conversation.last_call_at.desc().nulls_last(), Conversation.id.desc())
    )
    return list(result.scalars())


async def contacts_of(session: AsyncSession, user_id: str) -> set[str]:
    """Users who share a conversation with this one (they see its presence)."""
    mine = select(ConversationParticipant.conversation_id).where(
        ConversationParticipant.user_id == user_id
    )
    result = await session.execute(
        select(ConversationParticipant.user_id)
        .where(ConversationParticipant.conversation_id.in_(mine))
        .where(ConversationParticipant.user_id != user_id)
        .distinct()
    )
    return set(result.scalars())


async def touch_last_call(
    session: AsyncSession, *, conversation_id: str, started_at: datetime
) -> None:
    await session.execute(
        _TOUCH_LAST_CALL, {"conversation_id": conversation_id, "started_at": started_at}
    )
