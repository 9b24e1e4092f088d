"""Conversations: the 1:1 threads that calls belong to."""

from __future__ import annotations

from switchboard.clock import Clock
from switchboard.ids import is_id
from switchboard.services.errors import (
    CONVERSATION_NOT_FOUND,
    USER_NOT_FOUND,
    invalid,
    not_found,
)
from switchboard.services.users import UserService
from switchboard.services.views import ConversationView
from switchboard.store import conversations as store
from switchboard.store import users as user_store
from switchboard.store.db import Database
from switchboard.store.models import Conversation


class ConversationService:
    def __init__(self, *, db: Database, users: UserService, clock: Clock) -> None:
        self._db = db
        self._users = users
        self._clock = clock

    async def open(
        self, *, user_id: str, participant_ids: list[str]
    ) -> tuple[ConversationView, bool]:
        """Finds or creates the 1:1 conversation with the one other participant."""
        if len(participant_ids) != 1 or participant_ids[0] == user_id:
            raise invalid(
                "validation_error",
                "participantIds must list exactly one other user",
                field="participantIds",
            )
        other_id = participant_ids[0]
        if not is_id(other_id):
            raise not_found(USER_NOT_FOUND, "User not found")
        async with self._db.write() as session:
            if await user_store.get_user(session, other_id) is None:
                raise not_found(USER_NOT_FOUND, "User not found")
            conversation, created = await store.find_or_create_pair(
                session, user_a=user_id, user_b=other_id, now=self._clock.now()
            )
        return (await self._views([conversation]))[0], created

    async def list_mine(self, *, user_id: str) -> list[ConversationView]:
        async with self._db.read() as session:
            conversations = await store.conversations_of(session, user_id)
        return await self._views(conversations)

    async def get(self, *, user_id: str, conversation_id: str) -> ConversationView:
        if not is_id(conversation_id):
            raise not_found(CONVERSATION_NOT_FOUND, "Conversation not found")
        async with self._db.read() as session:
            conversation = await store.get_conversation(session, conversation_id)
            members = await store.participant_ids(session, conversation_id)
        if conversation is None or user_id not in members:
            raise not_found(CONVERSATION_NOT_FOUND, "Conversation not found")
        return (await self._views([conversation]))[0]

    async def contacts(self, *, user_id: str) -> set[str]:
        """Users who share a conversation with this one."""
        async with self._db.read() as session:
            return await store.contacts_of(session, user_id)

    async def _views(self, conversations: list[Conversation]) -> list[ConversationView]:
        async with self._db.read() as session:
            members = await store.participants_of(session, [c.id for c in conversations])
            users = await self._users.load_views(
                session, {uid for ids in members.values() for uid in ids}
            )
        return [
            ConversationView(
                id=c.id,
                participants=[users[uid] for uid in members[c.id]],
                created_at=c.created_at,
                last_call_at=c.last_call_at,
            )
            for c in conversations
        ]
