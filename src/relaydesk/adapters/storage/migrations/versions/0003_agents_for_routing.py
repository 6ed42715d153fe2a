"""agents for routing

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:14:40.310423
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_status", "conversations", ["status"])

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "queued_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "assigned_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "skills",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "languages",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("capacity", sa.Integer(), server_default=sa.text("5"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("presence", sa.String(length=10), server_default="offline", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "last_assigned_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    op.drop_index("ix_conversations_status", table_name="conversations")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_assigned_at")
        batch_op.drop_column("presence")
        batch_op.drop_column("capacity")
        batch_op.drop_column("languages")
        batch_op.drop_column("skills")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("queued_at")
