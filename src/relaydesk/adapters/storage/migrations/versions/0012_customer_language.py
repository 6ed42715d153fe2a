"""customer language

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import relaydesk.adapters.storage.tables

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The language the customer writes in (detected from their messages), kept across
    # conversations for replies and routing; when and how it was last set.
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "language_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("language_source", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("language_source")
        batch_op.drop_column("language_at")
        batch_op.drop_column("language")
