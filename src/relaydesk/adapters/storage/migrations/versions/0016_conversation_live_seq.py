"""conversations.live_seq: where each conversation's row last changed, for the Insights cache

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:50:00.000000

Database triggers stamp `conversations.live_seq` whenever a conversation is inserted or a
column the Insights read of it changes (its own, or `facts_rev`, which 0015's triggers
bump when its messages, decisions or booking clicks change), and stamp the customer's
conversation just before one that is inserted, deleted or moved (its next conversation's
start, which the figures read, changed). An Insights cache that read a period then reads
only the conversations stamped since (`adapters.storage.summaries.changes`).

- SQLite: the next value of a counter (`conversation_stamps`, one row; writers take turns,
  so a later commit always has a larger stamp than every earlier one, and deleting the
  conversation with the largest stamp does not lower the next). The stamps are indexed.
- PostgreSQL: the writing transaction's id (`pg_current_xact_id`); a reader's mark is its
  snapshot's oldest running transaction (`pg_snapshot_xmin`), so a transaction that
  commits after a later-numbered one is not missed. Not indexed, so a conversation's
  updates stay HOT (heap-only) where they were: a page looks among its period's rows.

On SQLite, a later migration that rebuilds `conversations` (`batch_alter_table`) must drop
the triggers that name it (0015's on messages, decisions and events as well) first, and
create 0015's and these again after.
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
#: The customer's conversations that started last before `{row}` (ties included): the ones
#: whose next conversation is `{row}`, or is no longer.
_BEFORE = (
    "customer_id = {row}.customer_id AND created_at = (SELECT max(created_at) "
    "FROM conversations WHERE customer_id = {row}.customer_id "
    "AND created_at < {row}.created_at)"
)
_SQLITE_COUNT = "UPDATE conversation_stamps SET last = last + 1"
_SQLITE_STAMP = "UPDATE conversations SET live_seq = (SELECT last FROM conversation_stamps) WHERE"


def _sqlite_triggers() -> list[str]:
    count, stamp = _SQLITE_COUNT, _SQLITE_STAMP
    return [
        "CREATE TRIGGER conversations_live_seq_insert AFTER INSERT ON conversations "
        f"BEGIN {count}; {stamp} id = NEW.id OR ({_BEFORE.format(row='NEW')}); END",
        f"CREATE TRIGGER conversations_live_seq_update AFTER UPDATE OF {', '.join(WATCHED)} "
        f"ON conversations BEGIN {count}; {stamp} id = NEW.id; END",
        "CREATE TRIGGER conversations_live_seq_moved AFTER UPDATE OF customer_id, created_at "
        "ON conversations WHEN NEW.customer_id IS NOT OLD.customer_id "
        "OR NEW.created_at IS NOT OLD.created_at "
        f"BEGIN {count}; {stamp} {_BEFORE.format(row='OLD')}; "
        f"{stamp} {_BEFORE.format(row='NEW')}; END",
        "CREATE TRIGGER conversations_live_seq_delete AFTER DELETE ON conversations "
        f"BEGIN {count}; {stamp} {_BEFORE.format(row='OLD')}; END",
    ]


_PG_XID = "pg_current_xact_id()::text::bigint"
_PG_FUNCTIONS = [
    f"""CREATE FUNCTION relaydesk_stamp_live_seq() RETURNS trigger AS $$
    BEGIN
        NEW.live_seq := {_PG_XID};
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION relaydesk_stamp_live_seq_before() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE conversations SET live_seq = {_PG_XID} WHERE {_BEFORE.format(row="OLD")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE conversations SET live_seq = {_PG_XID} WHERE {_BEFORE.format(row="NEW")};
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",  # noqa: S608 (constants)
]


def _postgres_triggers() -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in WATCHED)
    new = ", ".join(f"NEW.{c}" for c in WATCHED)
    return [
        *_PG_FUNCTIONS,
        "CREATE TRIGGER conversations_live_seq_insert BEFORE INSERT ON conversations "
        "FOR EACH ROW EXECUTE FUNCTION relaydesk_stamp_live_seq()",
        # After 0015's conversations_facts_rev (BEFORE triggers run by name), so a bump it
        # makes is seen here.
        "CREATE TRIGGER conversations_live_seq_update BEFORE UPDATE ON conversations "
        f"FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new})) "
        "EXECUTE FUNCTION relaydesk_stamp_live_seq()",
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
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "conversations",
        sa.Column("live_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "conversation_stamps",
        sa.Column("last", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO conversation_stamps (last) VALUES (0)")
    if sqlite:  # PostgreSQL looks among a period's rows (see the module)
        op.create_index("ix_conversations_live_seq", "conversations", ["live_seq"])
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _PG_FUNCTION_NAMES:  # CASCADE: with the triggers that call it
            op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")
        op.drop_column("conversations", "live_seq")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.drop_index("ix_conversations_live_seq", table_name="conversations")
        # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a rebuild: 0015's triggers stay
        op.execute("ALTER TABLE conversations DROP COLUMN live_seq")
    op.drop_table("conversation_stamps")
