"""login attempts, token expiry and keyed token hashes

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

    # Existing hashes are unkeyed SHA-256 ("sha256"); each is rewritten keyed on first use.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hash_scheme", sa.String(length=10), server_default="sha256", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "expires_at",
                relaydesk.adapters.storage.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("hash_scheme")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_at")
        batch_op.drop_index("ix_login_attempts_account_key_at")
    op.drop_table("login_attempts")
