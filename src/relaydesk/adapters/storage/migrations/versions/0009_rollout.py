"""rollout: phase and segment, intents' modes, the change log, cohorts and buckets

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relaydesk.adapters.storage.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "rollout_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("phase", sa.String(length=64), nullable=False),
        sa.Column("segment", json, nullable=False),
        sa.Column("segment_since", moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_state")),
    )
    op.create_table(
        "rollout_modes",
        sa.Column("intent", sa.String(length=80), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("since", moment, nullable=False),
        sa.PrimaryKeyConstraint("intent", name=op.f("pk_rollout_modes")),
    )
    op.create_table(
        "rollout_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("before", sa.String(length=80)),
        sa.Column("after", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", json, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_rollout_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_changes")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollout_bucket", sa.Integer()))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollout_cohort", sa.String(length=8)))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("rollout_cohort")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("rollout_bucket")
    op.drop_table("rollout_changes")
    op.drop_table("rollout_modes")
    op.drop_table("rollout_state")
