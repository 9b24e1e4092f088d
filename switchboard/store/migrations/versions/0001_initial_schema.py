"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pair_key", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_call_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pair_key"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("missed_seen_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("caller_id", sa.String(length=36), nullable=False),
        sa.Column("receiver_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("call_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("ended_by", sa.String(length=36), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("ring_deadline", sa.DateTime(), nullable=False),
        sa.Column("caller_connection_id", sa.String(length=64), nullable=True),
        sa.Column("receiver_connection_id", sa.String(length=64), nullable=True),
        sa.Column("caller_watched", sa.Boolean(), nullable=False),
        sa.Column("receiver_watched", sa.Boolean(), nullable=False),
        sa.Column("caller_lost_at", sa.DateTime(), nullable=True),
        sa.Column("receiver_lost_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_active",
            ["status"],
            unique=False,
            sqlite_where=sa.text("status IN ('initiated', 'answered')"),
            postgresql_where=sa.text("status IN ('initiated', 'answered')"),
        )

    op.create_table(
        "conversation_participants",
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id"),
    )
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_participants_user", ["user_id"], unique=False)

    op.create_table(
        "busy_users",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "call_entries",
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("peer_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("call_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("call_id", "user_id"),
    )
    with op.batch_alter_table("call_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_call_entries_log",
            ["user_id", "started_at", "call_id"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_call_entries_missed",
            ["user_id", "started_at"],
            unique=False,
            sqlite_where=sa.text(
                "deleted_at IS NULL AND status = 'missed' AND direction = 'incoming'"
            ),
            postgresql_where=sa.text(
                "deleted_at IS NULL AND status = 'missed' AND direction = 'incoming'"
            ),
        )


def downgrade() -> None:
    with op.batch_alter_table("call_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_call_entries_missed",
            sqlite_where=sa.text(
                "deleted_at IS NULL AND status = 'missed' AND direction = 'incoming'"
            ),
            postgresql_where=sa.text(
                "deleted_at IS NULL AND status = 'missed' AND direction = 'incoming'"
            ),
        )
        batch_op.drop_index(
            "ix_call_entries_log",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.drop_table("call_entries")
    op.drop_table("busy_users")
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_participants_user")

    op.drop_table("conversation_participants")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_calls_active",
            sqlite_where=sa.text("status IN ('initiated', 'answered')"),
            postgresql_where=sa.text("status IN ('initiated', 'answered')"),
        )

    op.drop_table("calls")
    op.drop_table("users")
    op.drop_table("conversations")
