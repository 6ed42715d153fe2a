"""The database schema (SQLAlchemy Core). Alembic migrations in `migrations/` must match it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; pass a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text parsed straight to an aware UTC datetime: about 7x
        cheaper per value than the general path (SQLAlchemy's regex, then `replace`), which
        an Insights page pays on hundreds of thousands of values. Anything it does not
        recognise (a bare date, text written with an offset) takes the general path."""
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if value.__class__ is str:
                try:
                    parsed = parse(value + "+00:00")
                except ValueError:
                    return general(value)  # e.g. text stored with its own offset
                if parsed.tzinfo is not None:  # 3.11 drops the offset after a bare date
                    return parsed
            return general(value)

        return process


Json: Any = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER keys

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Routing: what the person can take (domain.routing.Agent)
    Column("skills", Json),
    Column("languages", Json),
    Column("capacity", Integer, nullable=False, server_default=text("5")),
    Column("presence", String(10), nullable=False, server_default="offline"),
    Column("last_assigned_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("wa_id", String(64), unique=True),
    Column("user_id", String(160), unique=True),
    Column("parent_user_id", String(160)),
    Column("profile_name", String(200)),
    Column("username", String(200)),
    Column("unreachable", Boolean, nullable=False, server_default=text("false")),
    Column("attributes", Json),  # from the CRM or the API: {"vip": "true", ...}
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("rollout_bucket", Integer),  # 0..9999, taken once (domain.rollout.bucket_of)
    Column("language", String(16)),  # the language they write in (domain.language.settle)
    Column("language_at", UtcDateTime),  # when it was last set
    Column("language_source", String(16)),  # how: "detected" or "phrase"
)

identity_changes = Table(
    "identity_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("wamid", String(255), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),
    Column("old_wa_id", String(64)),
    Column("new_wa_id", String(64)),
    Column("old_user_id", String(160)),
    Column("new_user_id", String(160)),
    Column("at", UtcDateTime, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("phone_number_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("queue", String(64)),
    Column("tier", Integer),
    Column("priority", String(2)),
    Column("assignee_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("last_inbound_at", UtcDateTime),
    Column("dialogue", Json),  # the bot's memory of the conversation (domain.dialogue)
    Column("queued_at", UtcDateTime),  # when it last started waiting for a person
    Column("assigned_at", UtcDateTime),
    Column("language", String(16)),  # the customer's language, for routing
    Column("escalated_at", UtcDateTime),  # when people took over: the SLA clocks start
    Column("entered_queue_at", UtcDateTime),  # when it entered `queue` (the ladder timeout)
    Column("timer_at", UtcDateTime),  # when the worker must look at it again (SLA, ladder)
    Column("sla_handled", Json),  # SlaStatus keys whose warning or breach was acted on
    Column("csat_state", String(10)),  # NULL | pending | sent | answered | skipped
    Column("csat_rating", Integer),  # 1..5
    Column("csat_at", UtcDateTime),
    Column("feedback", String(24)),  # the agent's verdict on the escalation
    Column("failure_tags", Json),  # what the bot did wrong, as agents tagged it
    Column("feedback_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("feedback_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("rollout_cohort", String(8)),  # pilot | baseline, at its first decision
    # Bumped by database triggers (migration 0015) whenever anything a conversation's
    # Insights summary is computed from changes: its messages, decisions, booking clicks,
    # and its escalated_at, resolved_at and priority (`conversation_summaries.facts_rev`).
    Column("facts_rev", Integer, nullable=False, server_default=text("0")),
    # Stamped by database triggers (migration 0016) whenever what the Insights read of the
    # conversation changes, or the customer's next conversation does: an Insights cache
    # reads only what was stamped since its last read (`adapters.storage.summaries.changes`).
    Column("live_seq", BigInteger, nullable=False, server_default=text("0")),
    Index("ix_conversations_status", "status"),  # the waiting queue, agents' load
    Index("ix_conversations_timer_at", "timer_at"),  # due SLA and ladder timers
    Index("ix_conversations_queue_resolved_at", "queue", "resolved_at"),  # handle times
    Index(  # the wait estimate's counts of a queue, read from the index alone (status is
        "ix_conversations_queued",  # a column too: SQLite 3.40 would read the rows for it)
        "queue",
        "status",
        "priority",
        "queued_at",
        "last_inbound_at",
        sqlite_where=text("status = 'queued'"),
        postgresql_where=text("status = 'queued'"),
    ),
    Index(  # resolved conversations whose CSAT question is still to be sent
        "ix_conversations_csat_pending",
        "id",
        sqlite_where=text("csat_state = 'pending'"),
        postgresql_where=text("csat_state = 'pending'"),
    ),
    # One open conversation per customer: concurrent first messages cannot open two.
    Index(
        "uq_conversations_open_customer",
        "customer_id",
        unique=True,
        sqlite_where=text("status != 'resolved'"),
        postgresql_where=text("status != 'resolved'"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),  # "in" | "out"
    Column("wamid", String(255), unique=True),  # the dedupe key; NULL until an outbound is accepted
    Column("type", String(40), nullable=False),
    Column("text", Text),
    Column("payload", Json, nullable=False),
    Column("status", Integer),  # DeliveryStatus for outbound messages
    Column("error_code", Integer),
    Column("error_detail", Text),
    Column("sent_at", UtcDateTime, nullable=False),  # the customer's timestamp, or enqueue time
    Column("author_id", ForeignKey("users.id", ondelete="SET NULL")),  # an agent's reply
    Column("draft", Text),  # the suggested draft the agent started from (the rewrite rate)
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_messages_conversation_id_id", "conversation_id", "id"),
)

status_events = Table(
    "status_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("wamid", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("callback_data", String(512)),
    Column("error_code", Integer),
    Column("error_detail", Text),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("wamid", "status", name="uq_status_events_wamid_status"),
    Index("ix_status_events_callback_data", "callback_data"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE")),
    Column("action", String(16), nullable=False),
    Column("intent", String(80)),
    Column("confidence", Float),
    Column("triggers", Json, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("detail", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_decisions_conversation_id", "conversation_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("phone_number_id", String(64), nullable=False),
    Column("recipient_wa_id", String(64)),
    Column("recipient_user_id", String(160)),
    Column("content", Json, nullable=False),
    Column("reply_to", String(255)),
    Column("state", String(10), nullable=False),  # pending | sending | done | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error_code", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_conversation_id_state", "conversation_id", "state"),
)

send_attempts = Table(
    "send_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("outbox_id", ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", String(16)),  # NULL while in flight: accepted | error | ambiguous
    Column("error_code", Integer),
    Column("wamid", String(255)),
)

raw_webhooks = Table(
    "raw_webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("received_at", UtcDateTime, nullable=False, index=True),
    Column("body", LargeBinary, nullable=False),
    Column("events", Integer, nullable=False),
)

#: How far the worker moved each webhook intake file into this database
#: (`adapters.storage.intake`): the last webhook moved, recorded with the messages it held.
intake_progress = Table(
    "intake_progress",
    metadata,
    Column("intake_id", String(36), primary_key=True),
    Column("moved_upto", BigInteger, nullable=False),
    Column("moved_at", UtcDateTime, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_notes_conversation_id", "conversation_id"),
)

#: What happened to conversations, in order, for the console's live updates and the audit
#: trail: written in the same transaction as the change it describes.
events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE")),
    Column("kind", String(32), nullable=False),
    Column("actor_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("detail", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_events_conversation_id", "conversation_id"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
)

#: Console sign-in attempts per account key (an HMAC of the email as typed), counted before
#: the password is checked and deleted by a successful sign-in: the throttle's memory,
#: shared by every process.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_key", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_login_attempts_account_key_at", "account_key", "at"),
    Index("ix_login_attempts_at", "at"),
)

#: Inbound messages stored and acknowledged but not yet decided on: the decision stage's
#: work queue, written in the webhook's transaction and deleted in the transaction that
#: records the decision, so a crash between the two leaves the message here to be decided.
pending_decisions = Table(
    "pending_decisions",
    metadata,
    Column(
        "message_id",
        ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("received_at", UtcDateTime, nullable=False),  # the decision's `now`
    Column("message", Json, nullable=False),  # what the decision reads beyond the messages row
)

#: Pre-launch replays submitted from the console or the API and worked by the worker: the
#: uploaded history file and the report, both gzip-compressed (a report's JSON is several
#: times the history's size and compresses about twentyfold), and the progress between.
replay_jobs = Table(
    "replay_jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("format", String(8), nullable=False),  # jsonl | csv | txt
    Column("size_bytes", Integer, nullable=False),
    Column("content_gz", LargeBinary, nullable=False),
    Column("business_name", String(200)),
    Column("timezone", String(64), nullable=False),
    Column("date_order", String(3)),  # dmy | mdy; NULL: as the file shows, else day first
    Column("state", String(10), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),  # claims so far
    Column("done_turns", Integer, nullable=False, server_default=text("0")),
    Column("total_turns", Integer),  # customer turns, known once the file is read
    Column("conversations", Integer),
    Column("started_at", UtcDateTime),
    Column("heartbeat_at", UtcDateTime),  # the running worker's last sign of life
    Column("finished_at", UtcDateTime),
    Column("problems", Json),  # why it failed: the history's file:line problems
    Column("ready", Boolean),  # the verdict, once done
    Column("brief_version", String(64)),
    Column("report_json_gz", LargeBinary),
    Column("report_html_gz", LargeBinary),
    Index("ix_replay_jobs_state_id", "state", "id"),
)

#: The rollout (domain/rollout.py): one row of phase and segment, each intent's mode, and
#: the change log. Written from the brief once, then by commands, the console and gates.
rollout_state = Table(
    "rollout_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("phase", String(64), nullable=False),
    Column("segment", Json, nullable=False),  # domain.rollout.Segment.as_dict()
    Column("segment_since", UtcDateTime, nullable=False),
)
rollout_modes = Table(
    "rollout_modes",
    metadata,
    Column("intent", String(80), primary_key=True),
    Column("mode", String(8), nullable=False),  # off | draft | live
    Column("since", UtcDateTime, nullable=False),
)
rollout_changes = Table(
    "rollout_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("actor", String(320), nullable=False),  # the person's email, "gate" or "brief"
    Column("subject", String(80), nullable=False),  # an intent, "segment" or "phase"
    Column("before", String(80)),
    Column("after", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("figures", Json, nullable=False),
)

#: The bot's answers held for a person's approval (draft mode per intent): what it would
#: have sent, and, once handled, who handled it, what was sent and how far it was edited.
drafts = Table(
    "drafts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),  # answered
    Column("intent", String(80), nullable=False),
    Column("confidence", Float),
    Column("text", Text, nullable=False),  # the drafted text, as the agent reads it
    Column("content", Json, nullable=False),  # the drafted message (text and buttons)
    Column("state", String(10), nullable=False),  # pending | sent | rejected | expired
    Column("created_at", UtcDateTime, nullable=False),
    Column("handled_at", UtcDateTime),
    Column("handled_by", ForeignKey("users.id", ondelete="SET NULL")),  # NULL: the timeout
    Column("sent_text", Text),
    Column("edit_distance", Float),  # 0 sent as drafted .. 1 nothing kept
    Column("unchanged", Boolean),  # sent exactly as drafted ("accepted without rewrite")
    Column("outbox_id", ForeignKey("outbox.id", ondelete="SET NULL")),
    Index("ix_drafts_state_created_at", "state", "created_at"),
    Index("ix_drafts_conversation_id", "conversation_id"),
    Index("ix_drafts_handled_at", "handled_at"),
)

#: Every brief a process has loaded, once per content (`version` is `Brief.version`, the
#: hash decisions record as their `policy_version`): who, when, why, the source and the
#: unified diff against the version stored before it.
brief_versions = Table(
    "brief_versions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("author", String(200)),
    Column("message", Text),
    Column("path", String(1000), nullable=False),
    Column("source", Text, nullable=False),
    Column("previous_version", String(64)),
    Column("diff", Text, nullable=False),  # empty for the first version
    Column("created_at", UtcDateTime, nullable=False),
)

#: What was changed and why, in order: brief versions, rollout changes and anything else a
#: weekly review should read (`services.change_log.append`).
change_log = Table(
    "change_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(32), nullable=False),  # brief | rollout | ...
    Column("summary", Text, nullable=False),
    Column("author", String(200)),
    Column("brief_version", String(64)),
    Column("detail", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_change_log_created_at", "created_at"),
)

#: SQLite's `conversations.live_seq` stamps, indexed there only (migration 0016): on
#: PostgreSQL an index on a column every watched update changes would end its HOT updates.
SQLITE_ONLY_INDEXES = ("ix_conversations_live_seq",)
Index("ix_conversations_live_seq", conversations.c.live_seq)

#: SQLite's stamp counter (migration 0016), one row; PostgreSQL stamps transaction ids and
#: leaves it at 0.
conversation_stamps = Table(
    "conversation_stamps",
    metadata,
    Column("last", BigInteger, nullable=False),
)

#: The scorecard reads a period's conversations by start, and each customer's next one.
Index("ix_conversations_created_at", conversations.c.created_at)
Index(
    "ix_conversations_customer_id_created_at",
    conversations.c.customer_id,
    conversations.c.created_at,
)

#: The audit log: who did what to what, when, with the state before and after. Append-only
#: (`adapters.storage.audit` only inserts and reads; migration 0011 adds triggers that refuse
#: UPDATE and DELETE). No foreign keys, so entries outlive the users and rows they name;
#: `actor` keeps the actor's e-mail as it was. Never holds message text or customer
#: identities (targets are ids), so erasing a customer leaves it as it is.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", BigInteger().with_variant(Integer(), "sqlite")),  # NULL: the system
    Column("actor", String(320)),
    Column("action", String(64), nullable=False),
    Column("target", String(200)),  # e.g. conversation:12, user:3, token:7, customer:5
    Column("before", Json),
    Column("after", Json),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
)

#: Write-backs to CRMs and webhooks (`services.integrations`). `events.record` adds one row
#: per event integrations care about (integration "*"), in the event's transaction; the
#: worker fans it out into one row per configured integration, keeping the event's id as
#: `seq`: rows of one integration and conversation are sent in `seq` order.
integration_outbox = Table(
    "integration_outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("integration", String(64), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE")),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("due_at", UtcDateTime, nullable=False),
    Column("leased_until", UtcDateTime),
    Column("last_error", String(300)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Index("ix_integration_outbox_status_due", "status", "due_at"),
    Index("ix_integration_outbox_conversation", "integration", "conversation_id", "seq"),
)

#: What the Insights read of a conversation's messages, decisions and events, worked out
#: once (`domain.metric_summary`); current while `facts_rev` equals the conversation's.
conversation_summaries = Table(
    "conversation_summaries",
    metadata,
    Column(
        "conversation_id",
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("facts_rev", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("intent", String(100)),
    Column("escalated", Boolean, nullable=False),
    Column("bot_replied", Boolean, nullable=False),
    Column("booking_offered", Boolean, nullable=False),
    Column("booking_clicked", Boolean, nullable=False),
    Column("first_escalation_at", UtcDateTime),
    Column("escalation_triggers", Text),  # a JSON list, decoded once per distinct text
    Column("escalation_reply_at", UtcDateTime),
    Column("lag_reply_at", UtcDateTime),
    Column("came_back", Boolean, nullable=False),
    Column("contact_ended_at", UtcDateTime),
    Column("contact_returned_at", UtcDateTime),
    Column("drafts", Integer, nullable=False),
    Column("drafts_rewritten", Integer, nullable=False),
    Column("draft_kept", Boolean, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("sla_basis", String(32)),  # the outcome below was judged under it
    Column("sla_met", Boolean),  # once resolved
)
