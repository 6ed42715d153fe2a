"""drafts: the bot's answers held for a person's approval (draft mode per intent)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "drafts",
        sa.Column("id", key, nullable=False),
        sa.Column("conversation_id", key, nullable=False),
        sa.Column("message_id", key, nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=False),
        sa.Column("confidence", sa.Float()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("handled_at", moment),
        sa.Column("handled_by", key),
        sa.Column("sent_text", sa.Text()),
        sa.Column("edit_distance", sa.Float()),
        sa.Column("unchanged", sa.Boolean()),
        sa.Column("outbox_id", key),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_drafts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_drafts_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by"],
            ["users.id"],
            name=op.f("fk_drafts_handled_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_drafts_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index("ix_drafts_state_created_at", ["state", "created_at"], unique=False)
        batch_op.create_index("ix_drafts_conversation_id", ["conversation_id"], unique=False)
        batch_op.create_index("ix_drafts_handled_at", ["handled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_handled_at")
        batch_op.drop_index("ix_drafts_conversation_id")
        batch_op.drop_index("ix_drafts_state_created_at")
    op.drop_table("drafts")
