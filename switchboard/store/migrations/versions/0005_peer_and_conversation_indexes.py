"""indexes for the `withUserId` and `conversationId` filters of the call log

Both filters counted and paged through all of a user's log entries to find the few with that
other party or conversation (1.5 ms of PostgreSQL for a heavy user's 9,793 entries to find 98).
Each now has an index that starts with (user_id, the filter's column).

SQLite's planner compares indexes by the statistics of `ANALYZE`: an index without them next
to analysed ones looked cheaper than it is and was chosen for unfiltered pages (50x slower),
so the tables are analysed again here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NOT_DELETED = "deleted_at IS NULL"
FILTERS = (("peer", "peer_id"), ("conversation", "conversation_id"))


def upgrade() -> None:
    for name, column in FILTERS:
        op.create_index(
            f"ix_call_entries_{name}",
            "call_entries",
            ["user_id", column, "started_at", "call_id", "deleted_at"],
            sqlite_where=sa.text(NOT_DELETED),
            postgresql_where=sa.text(NOT_DELETED),
        )
    op.execute("ANALYZE call_entries")


def downgrade() -> None:
    for name, _ in FILTERS:
        op.drop_index(f"ix_call_entries_{name}", table_name="call_entries")
