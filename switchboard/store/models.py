"""SQLAlchemy models: users, conversations, calls, and each user's view of their calls.

Index design (one user with 10,000 calls in a table of millions):

* `call_entries` holds one row per (call, participant): the call log as that user sees it,
  with the user's direction, the other party, the status and duration kept in step with the
  call, and the user's own soft delete. History, missed count and stats are then range scans
  over one user's rows instead of `caller_id = ? OR receiver_id = ?` over the whole table,
  which no single index serves.
* `ix_call_entries_log`: (user_id, started_at, call_id, then every column filters and stats
  read) over rows not deleted: history pages newest first, counts, every filter and stats,
  all from the index alone (no table row is read for a user's 10,000 entries).
* `ix_call_entries_peer` and `ix_call_entries_conversation`: (user_id, the other party or the
  conversation, started_at, call_id): the `withUserId` and `conversationId` filters count and
  page only the entries they match, instead of all of the user's.
* `ix_call_entries_missed`: (user_id, started_at, then the condition's columns) over
  not-deleted incoming missed rows only: the missed count (with `since` or unseen) reads just
  those index entries.
* `call_tallies` keeps each user's log in totals: calls and seconds per (direction, type,
  status, answered) over entries not deleted, kept by triggers on `call_entries` (migration
  0004) in the statement that changes an entry. A page's total, the all-time statistics and
  the missed count add up a few of these rows instead of counting a heavy user's 10,000
  index entries on every request.
* `busy_users` has one row per user in a non-terminal call (the primary key makes the
  database refuse a second booking: the race-free busy check), and `ix_calls_active` covers
  the few non-terminal calls the sweeper looks at.

Queries that rely on a partial index repeat its condition as this very SQL text (`ACTIVE`,
`MISSED`), never as bound parameters: a planner cannot tell that `status IN (?, ?)` implies
the index's condition (SQLite then read all of a million calls on every sweep; PostgreSQL's
generic plans have the same blind spot).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID = String(36)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database, returned as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The conditions of the partial indexes (see the module's docstring).
ACTIVE = "status IN ('initiated', 'answered')"
MISSED = "deleted_at IS NULL AND status = 'missed' AND direction = 'incoming'"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    missed_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # "<smaller id>:<larger id>" for a 1:1 conversation: makes find-or-create race-free.
    pair_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationParticipant(Base):
    __tablename__ = "conversation_participants"

    conversation_id: Mapped[str] = mapped_column(
        ID, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), primary_key=True)

    __table_args__ = (Index("ix_conversation_participants_user", "user_id"),)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    caller_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    receiver_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"))
    conversation_id: Mapped[str] = mapped_column(ID, ForeignKey("conversations.id"))
    call_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    ended_by: Mapped[str | None] = mapped_column(ID)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ring_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # The device each side bound with `connectionId` (signals and grace follow it).
    caller_connection_id: Mapped[str | None] = mapped_column(String(64))
    receiver_connection_id: Mapped[str | None] = mapped_column(String(64))
    # Grace bookkeeping: whether the side has had a live connection since the call started,
    # and since when its watched connection(s) have been gone.
    caller_watched: Mapped[bool] = mapped_column(Boolean, default=False)
    receiver_watched: Mapped[bool] = mapped_column(Boolean, default=False)
    caller_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receiver_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "ix_calls_active",
            "status",
            sqlite_where=text(ACTIVE),
            postgresql_where=text(ACTIVE),
        ),
    )


class CallEntry(Base):
    """One participant's view of one call: their call log row."""

    __tablename__ = "call_entries"

    call_id: Mapped[str] = mapped_column(
        ID, ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), primary_key=True)
    peer_id: Mapped[str] = mapped_column(ID)
    conversation_id: Mapped[str] = mapped_column(ID)
    direction: Mapped[str] = mapped_column(String(8))
    call_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "ix_call_entries_log",
            "user_id",
            "started_at",
            "call_id",
            # Covering: counts, filters and stats read no table rows (SQLite also needs the
            # partial condition's column in the index to see that).
            "deleted_at",
            "direction",
            "call_type",
            "status",
            "answered",
            "duration",
            "peer_id",
            "conversation_id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        *(
            Index(
                f"ix_call_entries_{name}",
                "user_id",
                column,
                "started_at",
                "call_id",
                "deleted_at",  # for SQLite, as above
                sqlite_where=text("deleted_at IS NULL"),
                postgresql_where=text("deleted_at IS NULL"),
            )
            for name, column in (("peer", "peer_id"), ("conversation", "conversation_id"))
        ),
        Index(
            "ix_call_entries_missed",
            "user_id",
            "started_at",
            # The condition's columns, so that SQLite too answers from the index alone.
            "deleted_at",
            "status",
            "direction",
            sqlite_where=text(MISSED),
            postgresql_where=text(MISSED),
        ),
    )


class CallTally(Base):
    """How many of a user's not-deleted log entries share these values, and their seconds."""

    __tablename__ = "call_tallies"

    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    call_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    answered: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)
    duration: Mapped[int] = mapped_column(BigInteger)


class BusyUser(Base):
    """A user in a non-terminal call. The primary key refuses a second booking."""

    __tablename__ = "busy_users"

    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id"), primary_key=True)
    call_id: Mapped[str] = mapped_column(ID, ForeignKey("calls.id"))
