"""The timers' storage: which queued or assigned conversations are due (`timer_at` has come,
or they were never looked at), the conversation as the SLA clocks see it, the messages
that move the clocks, and what the worker writes back. Every function takes the caller's
transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from relaydesk.adapters.storage.tables import conversations, messages
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.sla import Party, TimelineMessage

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
RESOLVED = ConversationStatus.RESOLVED.value

#: The columns the worker may write back (`save`).
SAVED = frozenset(
    {"timer_at", "sla_handled", "priority", "queue", "tier", "entered_queue_at", "updated_at"}
)
_COLUMNS = (
    conversations.c.id,
    conversations.c.status,
    conversations.c.queue,
    conversations.c.priority,
    conversations.c.language,
    conversations.c.queued_at,
    conversations.c.entered_queue_at,
    conversations.c.last_inbound_at,
    conversations.c.escalated_at,
    conversations.c.resolved_at,
    conversations.c.sla_handled,
)


@dataclass(frozen=True, slots=True)
class Timed:
    """A conversation as its SLA clocks and the ladder see it, as stored."""

    id: int
    status: str
    queue: str | None
    priority: str | None
    language: str | None
    queued_at: datetime | None
    entered_queue_at: datetime | None
    last_inbound_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    sla_handled: tuple[str, ...] | None  #: None: never looked at


def _is_due(now: datetime) -> ColumnElement[bool]:
    """Queued or assigned, and its timer has come (or it was never looked at)."""
    return and_(
        conversations.c.status.in_((QUEUED, ASSIGNED)),
        or_(
            conversations.c.timer_at <= now,
            and_(conversations.c.timer_at.is_(None), conversations.c.sla_handled.is_(None)),
        ),
    )


def due_ids(conn: Connection, now: datetime, *, after: int, limit: int) -> list[int]:
    """Up to `limit` ids above `after`, in order, of the conversations due at `now`."""
    ids = conn.execute(
        select(conversations.c.id)
        .where(_is_due(now), conversations.c.id > after)
        .order_by(conversations.c.id)
        .limit(limit)
    ).scalars()
    return [int(i) for i in ids]


def claim_due(conn: Connection, ids: Collection[int], now: datetime) -> list[Timed]:
    """Those of `ids` still due at `now`, by id, locked; on PostgreSQL rows another
    worker holds are skipped, so two workers never act on one conversation."""
    query = (
        select(*_COLUMNS)
        .where(conversations.c.id.in_(list(ids)), _is_due(now))
        .order_by(conversations.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_timed(r) for r in conn.execute(query)]


def timed(conn: Connection, conversation_ids: Collection[int] | None = None) -> list[Timed]:
    """Every queued or assigned conversation; or those of `conversation_ids` that are
    queued, assigned or resolved."""
    query = select(*_COLUMNS)
    if conversation_ids is None:
        query = query.where(conversations.c.status.in_((QUEUED, ASSIGNED)))
    elif not conversation_ids:
        return []
    else:
        query = query.where(
            conversations.c.id.in_(list(conversation_ids)),
            conversations.c.status.in_((QUEUED, ASSIGNED, RESOLVED)),
        )
    return [_timed(r) for r in conn.execute(query)]


#: An agent's reply: an outbound with an author (the bot's own messages have none). It
#: moves the SLA clocks; `repository.finish_inbound` asks whether one came in a handoff.
AGENT_REPLY = and_(messages.c.direction == "out", messages.c.author_id.is_not(None))


def clock_messages(
    conn: Connection, conversation_ids: Collection[int], since: datetime
) -> dict[int, list[TimelineMessage]]:
    """The messages from `since` on that move the clocks of these conversations: the
    customer's, and the agents' replies (an outbound with an author; the bot's own
    messages do not count)."""
    if not conversation_ids:
        return {}
    query = select(messages.c.conversation_id, messages.c.direction, messages.c.created_at).where(
        messages.c.conversation_id.in_(list(conversation_ids)),
        messages.c.created_at >= since,
        or_(messages.c.direction == "in", AGENT_REPLY),
    )
    found: dict[int, list[TimelineMessage]] = defaultdict(list)
    for m in conn.execute(query):
        party = Party.CUSTOMER if m.direction == "in" else Party.AGENT
        found[int(m.conversation_id)].append(TimelineMessage(m.created_at, party))
    return dict(found)


def save(conn: Connection, conversation_id: int, changes: Mapping[str, Any]) -> None:
    """Write what the worker changed (columns named in `SAVED`)."""
    unknown = set(changes) - SAVED
    if unknown:
        raise ValueError(
            f"timers may not write {', '.join(sorted(unknown))}; only {', '.join(sorted(SAVED))}"
        )
    conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(dict(changes))
    )


def _timed(r: Any) -> Timed:
    return Timed(
        id=int(r.id),
        status=r.status,
        queue=r.queue,
        priority=r.priority,
        language=r.language,
        queued_at=r.queued_at,
        entered_queue_at=r.entered_queue_at,
        last_inbound_at=r.last_inbound_at,
        escalated_at=r.escalated_at,
        resolved_at=r.resolved_at,
        sla_handled=None if r.sla_handled is None else tuple(r.sla_handled),
    )
