"""a covering call log index: history, every filter and stats from the index alone

The log index now carries every column that filters and stats read (direction, type, status,
answered, duration, the other party, the conversation, and deleted_at, which SQLite needs in
the index to call it covering even under the partial-index condition), so a heavy user's
counts, filtered pages and stats read no table rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NOT_DELETED = "deleted_at IS NULL"
LOG_COLUMNS = [
    "user_id",
    "started_at",
    "call_id",
    "deleted_at",
    "direction",
    "call_type",
    "status",
    "answered",
    "duration",
    "peer_id",
    "conversation_id",
]


def _where() -> dict[str, Any]:
    return {"sqlite_where": sa.text(NOT_DELETED), "postgresql_where": sa.text(NOT_DELETED)}


def upgrade() -> None:
    op.drop_index("ix_call_entries_log", table_name="call_entries")
    op.create_index("ix_call_entries_log", "call_entries", LOG_COLUMNS, **_where())


def downgrade() -> None:
    op.drop_index("ix_call_entries_log", table_name="call_entries")
    op.create_index(
        "ix_call_entries_log", "call_entries", ["user_id", "started_at", "call_id"], **_where()
    )
