"""integration outbox

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    op.create_table(
        "integration_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("integration", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("due_at", moment, nullable=False),
        sa.Column("leased_until", moment),
        sa.Column("last_error", sa.String(length=300)),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("finished_at", moment),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_integration_outbox_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_outbox")),
    )
    with op.batch_alter_table("integration_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integration_outbox_status_due", ["status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_integration_outbox_conversation",
            ["integration", "conversation_id", "seq"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("integration_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_outbox_conversation")
        batch_op.drop_index("ix_integration_outbox_status_due")
    op.drop_table("integration_outbox")
