"""intake_progress: how far the worker moved each webhook intake file into the database

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:40:00.000000

`serve` on a SQLite file commits webhooks to an intake file of their own
(`adapters.storage.intake`); the worker moves them into this database and records here,
in the same transaction, the id of the last one it moved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import relaydesk.adapters.storage.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    op.create_table(
        "intake_progress",
        sa.Column("intake_id", sa.String(length=36), nullable=False),
        sa.Column("moved_upto", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("intake_id"),
    )


def downgrade() -> None:
    op.drop_table("intake_progress")
