"""All use cases of one app instance, built from settings and the real-time ports."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.clock import Clock
from switchboard.config import Settings
from switchboard.services.auth import AuthService, TokenCodec
from switchboard.services.calls import CallService
from switchboard.services.conversations import ConversationService
from switchboard.services.ports import EventPublisher, Presence
from switchboard.services.secret import resolve_jwt_secret
from switchboard.services.timers import Sweeper
from switchboard.services.users import UserService
from switchboard.store.db import Database


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    tokens: TokenCodec
    auth: AuthService
    users: UserService
    conversations: ConversationService
    calls: CallService
    sweeper: Sweeper

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        clock: Clock,
        db: Database,
        presence: Presence,
        events: EventPublisher,
    ) -> Services:
        tokens = TokenCodec(
            secret=resolve_jwt_secret(settings),
            ttl_seconds=settings.access_token_ttl_seconds,
            clock=clock,
        )
        users = UserService(db=db, presence=presence)
        calls = CallService(
            db=db, users=users, presence=presence, events=events, clock=clock, settings=settings
        )
        return cls(
            settings=settings,
            clock=clock,
            db=db,
            tokens=tokens,
            auth=AuthService(db=db, tokens=tokens, users=users, clock=clock),
            users=users,
            conversations=ConversationService(db=db, users=users, clock=clock),
            calls=calls,
            sweeper=Sweeper(calls=calls, presence=presence, clock=clock, settings=settings),
        )
