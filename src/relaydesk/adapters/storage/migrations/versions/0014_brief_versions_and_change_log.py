"""brief versions, the change log, and the scorecard's indexes on conversations

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-05 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "brief_versions",
        sa.Column("id", key, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200)),
        sa.Column("message", sa.Text()),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("previous_version", sa.String(length=64)),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brief_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_brief_versions_version")),
    )
    op.create_table(
        "change_log",
        sa.Column("id", key, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200)),
        sa.Column("brief_version", sa.String(length=64)),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index("ix_change_log_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_conversations_customer_id_created_at", ["customer_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_customer_id_created_at")
        batch_op.drop_index("ix_conversations_created_at")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_created_at")
    op.drop_table("change_log")
    op.drop_table("brief_versions")
