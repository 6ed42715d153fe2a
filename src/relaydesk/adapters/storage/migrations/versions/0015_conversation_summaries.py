"""conversation summaries for the Insights, kept current by triggers

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-06 05:10:00.000000

`conversations.facts_rev` is bumped by database triggers whenever anything a
conversation's Insights summary is computed from changes (`SUMMARISED`); a summary whose
`facts_rev` differs from its conversation's is stale and computed again. On SQLite, a later
migration that rebuilds one of these tables (`batch_alter_table`) drops its triggers: it
must call `create_triggers` again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import relaydesk.adapters.storage.tables

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

#: The columns of each table a summary is computed from (the whole row for decisions).
SUMMARISED = {
    "messages": ("conversation_id", "direction", "author_id", "sent_at", "draft", "text",
                 "type", "payload"),
    "conversations": ("escalated_at", "resolved_at", "priority"),
}  # fmt: skip
_BUMP = "UPDATE conversations SET facts_rev = facts_rev + 1 WHERE id = {row}.conversation_id"
_CLICK = "{row}.kind = 'booking_click'"


def _sqlite_triggers() -> list[str]:
    messages = ", ".join(SUMMARISED["messages"])
    watched = SUMMARISED["conversations"]
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in watched)
    made = []
    for table, columns in (("messages", f" OF {messages}"), ("decisions", "")):
        made += [
            f"CREATE TRIGGER {table}_facts_rev_insert AFTER INSERT ON {table} "
            f"BEGIN {_BUMP.format(row='NEW')}; END",
            f"CREATE TRIGGER {table}_facts_rev_update AFTER UPDATE{columns} ON {table} "
            f"BEGIN {_BUMP.format(row='OLD')}; {_BUMP.format(row='NEW')}; END",
            f"CREATE TRIGGER {table}_facts_rev_delete AFTER DELETE ON {table} "
            f"BEGIN {_BUMP.format(row='OLD')}; END",
        ]
    return [
        *made,
        "CREATE TRIGGER events_facts_rev_insert AFTER INSERT ON events "
        f"WHEN {_CLICK.format(row='NEW')} BEGIN {_BUMP.format(row='NEW')}; END",
        "CREATE TRIGGER events_facts_rev_update AFTER UPDATE ON events "
        f"WHEN {_CLICK.format(row='OLD')} OR {_CLICK.format(row='NEW')} "
        f"BEGIN {_BUMP.format(row='OLD')}; {_BUMP.format(row='NEW')}; END",
        "CREATE TRIGGER events_facts_rev_delete AFTER DELETE ON events "
        f"WHEN {_CLICK.format(row='OLD')} BEGIN {_BUMP.format(row='OLD')}; END",
        f"CREATE TRIGGER conversations_facts_rev AFTER UPDATE OF {', '.join(watched)} "  # noqa: S608 (constants)
        f"ON conversations WHEN {changed} "
        "BEGIN UPDATE conversations SET facts_rev = facts_rev + 1 WHERE id = NEW.id; END",
    ]


_PG_FUNCTIONS = [
    """CREATE FUNCTION relaydesk_bump_facts_rev() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE conversations SET facts_rev = facts_rev + 1 WHERE id = OLD.conversation_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE conversations SET facts_rev = facts_rev + 1 WHERE id = NEW.conversation_id;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    # Inserts and deletes bump each conversation once per statement (a bulk insert of a
    # history would otherwise update a conversation's row once per message).
    """CREATE FUNCTION relaydesk_bump_facts_rev_inserted() RETURNS trigger AS $$
    BEGIN
        UPDATE conversations SET facts_rev = facts_rev + 1
        WHERE id IN (SELECT conversation_id FROM inserted);
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION relaydesk_bump_facts_rev_deleted() RETURNS trigger AS $$
    BEGIN
        UPDATE conversations SET facts_rev = facts_rev + 1
        WHERE id IN (SELECT conversation_id FROM deleted);
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE FUNCTION relaydesk_bump_own_facts_rev() RETURNS trigger AS $$
    BEGIN
        NEW.facts_rev := OLD.facts_rev + 1;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
]


def _postgres_triggers() -> list[str]:
    bump = "FOR EACH ROW EXECUTE FUNCTION relaydesk_bump_facts_rev()"
    watched = SUMMARISED["conversations"]
    old = ", ".join(f"OLD.{c}" for c in watched)
    new = ", ".join(f"NEW.{c}" for c in watched)
    made = []
    for table, columns in (("messages", f" OF {', '.join(SUMMARISED['messages'])}"),
                           ("decisions", "")):  # fmt: skip
        made += [
            f"CREATE TRIGGER {table}_facts_rev_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
            "EXECUTE FUNCTION relaydesk_bump_facts_rev_inserted()",
            f"CREATE TRIGGER {table}_facts_rev_update AFTER UPDATE{columns} ON {table} {bump}",
            f"CREATE TRIGGER {table}_facts_rev_delete AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT "
            "EXECUTE FUNCTION relaydesk_bump_facts_rev_deleted()",
        ]
    return [
        *_PG_FUNCTIONS,
        *made,
        "CREATE TRIGGER events_facts_rev_insert AFTER INSERT ON events "
        f"FOR EACH ROW WHEN ({_CLICK.format(row='NEW')}) "
        "EXECUTE FUNCTION relaydesk_bump_facts_rev()",
        "CREATE TRIGGER events_facts_rev_update AFTER UPDATE ON events FOR EACH ROW "
        f"WHEN ({_CLICK.format(row='OLD')} OR {_CLICK.format(row='NEW')}) "
        "EXECUTE FUNCTION relaydesk_bump_facts_rev()",
        "CREATE TRIGGER events_facts_rev_delete AFTER DELETE ON events "
        f"FOR EACH ROW WHEN ({_CLICK.format(row='OLD')}) "
        "EXECUTE FUNCTION relaydesk_bump_facts_rev()",
        f"CREATE TRIGGER conversations_facts_rev BEFORE UPDATE OF {', '.join(watched)} "
        f"ON conversations FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new})) "
        "EXECUTE FUNCTION relaydesk_bump_own_facts_rev()",
    ]


_SQLITE_TRIGGERS = (
    *(f"{table}_facts_rev_{event}" for table in ("messages", "decisions", "events")
      for event in ("insert", "update", "delete")),
    "conversations_facts_rev",
)  # fmt: skip
_PG_FUNCTION_NAMES = (
    "relaydesk_bump_facts_rev",
    "relaydesk_bump_facts_rev_inserted",
    "relaydesk_bump_facts_rev_deleted",
    "relaydesk_bump_own_facts_rev",
)


def create_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def upgrade() -> None:
    moment = relaydesk.adapters.storage.tables.UtcDateTime(timezone=True)
    op.add_column(
        "conversations",
        sa.Column("facts_rev", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "conversation_summaries",
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=False, nullable=False),
        sa.Column("facts_rev", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=100)),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("bot_replied", sa.Boolean(), nullable=False),
        sa.Column("booking_offered", sa.Boolean(), nullable=False),
        sa.Column("booking_clicked", sa.Boolean(), nullable=False),
        sa.Column("first_escalation_at", moment),
        sa.Column("escalation_triggers", sa.Text()),
        sa.Column("escalation_reply_at", moment),
        sa.Column("lag_reply_at", moment),
        sa.Column("came_back", sa.Boolean(), nullable=False),
        sa.Column("contact_ended_at", moment),
        sa.Column("contact_returned_at", moment),
        sa.Column("drafts", sa.Integer(), nullable=False),
        sa.Column("drafts_rewritten", sa.Integer(), nullable=False),
        sa.Column("draft_kept", sa.Boolean(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("sla_basis", sa.String(length=32)),
        sa.Column("sla_met", sa.Boolean()),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_summaries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_summaries")),
    )  # fmt: skip
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _PG_FUNCTION_NAMES:  # CASCADE: with the triggers that call it
            op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("conversation_summaries")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("facts_rev")
