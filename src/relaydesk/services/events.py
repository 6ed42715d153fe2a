"""What happened to conversations, for the console's live updates and the audit trail.

Every change that a person watching the console should see (an escalation, an
assignment, a customer message in a conversation people own, an agent's action, a
ladder move, an SLA warning) is written to the `events` table by `record`, in the same
transaction as the change itself: an event is visible exactly when its change is.

On PostgreSQL `record` also issues `NOTIFY relaydesk_events`, which PostgreSQL delivers
only when the transaction commits, so a console connected to another server process
learns of it at once (`EventHub` listens). On SQLite the hub polls the table.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from relaydesk.adapters.storage.tables import events

CHANNEL = "relaydesk_events"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


class EventKind(enum.StrEnum):
    ESCALATED = "escalated"  #: the bot handed the conversation to people
    CANCELLED = "cancelled"  #: the customer called off a pending handoff
    ASSIGNED = "assigned"
    MESSAGE_IN = "message_in"  #: a customer message in a conversation people own or wait on
    MESSAGE_OUT = "message_out"  #: an agent's reply
    NOTE = "note"
    TRANSFERRED = "transferred"
    MOVED = "moved"  #: a ladder move, or an agent's escalation to the next tier
    PRIORITY_RAISED = "priority_raised"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    SUPERVISOR_ALERT = "supervisor_alert"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    FEEDBACK = "feedback"
    CSAT_SENT = "csat_sent"
    CSAT = "csat"  #: the customer rated the conversation
    PRESENCE = "presence"  #: an agent went online, away or offline


def record(
    conn: Connection,
    kind: EventKind,
    *,
    now: datetime,
    conversation_id: int | None = None,
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one event inside the caller's transaction (and notify listeners on commit).

    `detail` holds what the console shows beside the event (queue, priority, reason);
    never a message body or a phone number.
    """
    conn.execute(
        events.insert().values(
            conversation_id=conversation_id,
            kind=kind.value,
            actor_id=actor_id,
            detail=detail or {},
            created_at=now,
        )
    )
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)
