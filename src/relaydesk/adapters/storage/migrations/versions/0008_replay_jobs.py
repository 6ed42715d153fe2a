"""replay jobs: pre-launch replays run by the worker

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    op.create_table(
        "replay_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_gz", sa.LargeBinary(), nullable=False),
        sa.Column("business_name", sa.String(length=200)),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("date_order", sa.String(length=3)),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_turns", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_turns", sa.Integer()),
        sa.Column("conversations", sa.Integer()),
        sa.Column("started_at", moment),
        sa.Column("heartbeat_at", moment),
        sa.Column("finished_at", moment),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        ),
        sa.Column("ready", sa.Boolean()),
        sa.Column("brief_version", sa.String(length=64)),
        sa.Column("report_json_gz", sa.LargeBinary()),
        sa.Column("report_html_gz", sa.LargeBinary()),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_replay_jobs_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_jobs")),
    )
    with op.batch_alter_table("replay_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_replay_jobs_state_id", ["state", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replay_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_replay_jobs_state_id")
    op.drop_table("replay_jobs")
