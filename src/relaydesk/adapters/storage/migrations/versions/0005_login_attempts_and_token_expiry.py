"""login attempts and token expiry

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import relaydesk.adapters.storage.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column(
            "at", relaydesk.adapters.storage.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempts_account_key_at", ["account_key", "at"], unique=False
        )
        batch_op.create_index("ix_login_attempts_at", ["at"], unique=False)

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "expires_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    # Deactivation now revokes a user's tokens and ends their sessions, so reactivation
    # revives neither; do the same for the users deactivated before this revision.
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("active", sa.Boolean))
    inactive = sa.select(users.c.id).where(users.c.active.is_(False))
    tokens = sa.table("api_tokens", sa.column("user_id"), sa.column("revoked_at"))
    op.execute(
        tokens.update()
        .where(tokens.c.revoked_at.is_(None), tokens.c.user_id.in_(inactive))
        .values(revoked_at=sa.func.current_timestamp())
    )
    sessions = sa.table("console_sessions", sa.column("user_id"))
    op.execute(sessions.delete().where(sessions.c.user_id.in_(inactive)))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_at")
        batch_op.drop_index("ix_login_attempts_account_key_at")
    op.drop_table("login_attempts")
