"""conversations.live_seq: where each conversation's row last changed, for the Insights cache

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:50:00.000000

Database triggers stamp `conversations.live_seq` whenever a conversation is inserted or
changes (its own columns, or `facts_rev`, which 0015's triggers bump when its messages,
decisions or booking clicks change), and stamp the customer's conversation just before
one that is inserted, deleted or moved (its next conversation's start, which the figures
read, changed). An Insights cache that read a period then reads only the conversations
stamped since (`adapters.storage.summaries.changed`).

- SQLite: one more than the largest stamp (writers take turns, so a later commit always
  has a larger stamp than every earlier one).
- PostgreSQL: the writing transaction's id (`pg_current_xact_id`); a reader's mark is its
  snapshot's oldest running transaction (`pg_snapshot_xmin`), so a transaction that
  commits after a later-numbered one is not missed.

On SQLite, a later migration that rebuilds `conversations` (`batch_alter_table`) drops
these triggers: it must call `create_triggers` again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: What a conversation's Insights row reads of it (`adapters.storage.summaries._LIVE`)
#: and the columns whose change bumps `facts_rev` (0015's `SUMMARISED`).
WATCHED = ("facts_rev", "customer_id", "created_at", "status", "queue", "priority",
           "assignee_id", "escalated_at", "resolved_at", "csat_state", "csat_rating",
           "feedback", "failure_tags")  # fmt: skip
_SQLITE_NEXT = "(SELECT coalesce(max(live_seq), 0) + 1 FROM conversations)"
#: The customer's conversations that started last before `{row}` (ties included): the ones
#: whose next conversation is `{row}`, or is no longer.
_BEFORE = (
    "customer_id = {row}.customer_id AND created_at = (SELECT max(created_at) "
    "FROM conversations WHERE customer_id = {row}.customer_id "
    "AND created_at < {row}.created_at)"
)


def _sqlite_triggers() -> list[str]:
    stamp = f"UPDATE conversations SET live_seq = {_SQLITE_NEXT} WHERE"  # noqa: S608 (constants)
    return [
        "CREATE TRIGGER conversations_live_seq_insert AFTER INSERT ON conversations "
        f"BEGIN {stamp} id = NEW.id OR ({_BEFORE.format(row='NEW')}); END",
        f"CREATE TRIGGER conversations_live_seq_update AFTER UPDATE OF {', '.join(WATCHED)} "
        f"ON conversations BEGIN {stamp} id = NEW.id; END",
        "CREATE TRIGGER conversations_live_seq_moved AFTER UPDATE OF customer_id, created_at "
        "ON conversations WHEN NEW.customer_id IS NOT OLD.customer_id "
        "OR NEW.created_at IS NOT OLD.created_at "
        f"BEGIN {stamp} {_BEFORE.format(row='OLD')}; {stamp} {_BEFORE.format(row='NEW')}; END",
        "CREATE TRIGGER conversations_live_seq_delete AFTER DELETE ON conversations "
        f"BEGIN {stamp} {_BEFORE.format(row='OLD')}; END",
    ]


_PG_FUNCTIONS = [
    """CREATE FUNCTION relaydesk_stamp_live_seq() RETURNS trigger AS $$
    BEGIN
        NEW.live_seq := pg_current_xact_id()::text::bigint;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    # Touching a row makes the stamp above run for it (`live_seq` is in no trigger's
    # column list, so nothing else fires).
    f"""CREATE FUNCTION relaydesk_stamp_live_seq_before() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE conversations SET live_seq = 0 WHERE {_BEFORE.format(row="OLD")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE conversations SET live_seq = 0 WHERE {_BEFORE.format(row="NEW")};
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",  # noqa: S608 (constants)
]


def _postgres_triggers() -> list[str]:
    return [
        *_PG_FUNCTIONS,
        "CREATE TRIGGER conversations_live_seq BEFORE INSERT OR UPDATE ON conversations "
        "FOR EACH ROW EXECUTE FUNCTION relaydesk_stamp_live_seq()",
        "CREATE TRIGGER conversations_live_seq_inserted AFTER INSERT OR DELETE "
        "ON conversations FOR EACH ROW EXECUTE FUNCTION relaydesk_stamp_live_seq_before()",
        "CREATE TRIGGER conversations_live_seq_moved AFTER UPDATE OF customer_id, created_at "
        "ON conversations FOR EACH ROW WHEN (NEW.customer_id IS DISTINCT FROM OLD.customer_id "
        "OR NEW.created_at IS DISTINCT FROM OLD.created_at) "
        "EXECUTE FUNCTION relaydesk_stamp_live_seq_before()",
    ]


_SQLITE_TRIGGERS = tuple(
    f"conversations_live_seq_{event}" for event in ("insert", "update", "moved", "delete")
)
_PG_FUNCTION_NAMES = ("relaydesk_stamp_live_seq", "relaydesk_stamp_live_seq_before")


def create_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("live_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_conversations_live_seq", "conversations", ["live_seq"])
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _PG_FUNCTION_NAMES:  # CASCADE: with the triggers that call it
            op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_conversations_live_seq", table_name="conversations")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("live_seq")
