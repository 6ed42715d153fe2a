"""Queries of the handoff: the live queue a conversation joins (who waits, who serves,
how long a conversation takes) and the CSAT answer. Every function takes the caller's
transaction; statements are built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    not_,
    or_,
    select,
    update,
)

from relaydesk.adapters.storage.tables import conversations, users
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.routing import Agent, Presence

_B = bindparam


@dataclass(frozen=True, slots=True)
class QueuedRow:
    """A conversation waiting in a queue, as routing orders them."""

    id: int
    priority: str | None
    queued_at: datetime
    last_inbound_at: datetime | None


_QUEUED_IN = select(
    conversations.c.id,
    conversations.c.priority,
    func.coalesce(conversations.c.queued_at, conversations.c.created_at).label("queued_at"),
    conversations.c.last_inbound_at,
).where(
    conversations.c.status == ConversationStatus.QUEUED.value,
    conversations.c.queue == _B("k_queue"),
)
# The queue tally: the literal status lets both databases use the partial index
# ix_conversations_queued (a bound parameter would not match its WHERE on SQLite).
_IS_QUEUED = conversations.c.status == literal_column(f"'{ConversationStatus.QUEUED.value}'")
_SETTLED = and_(
    conversations.c.queued_at.is_not(None),
    conversations.c.queued_at < _B("k_queued_before"),
    or_(
        conversations.c.last_inbound_at.is_(None),
        conversations.c.last_inbound_at <= _B("k_closed_by"),
        conversations.c.last_inbound_at > _B("k_open_after"),
    ),
)
_SETTLED_COUNTS = (
    select(conversations.c.priority, func.count().label("n"))
    .where(_IS_QUEUED, conversations.c.queue == _B("k_queue"), _SETTLED)
    .group_by(conversations.c.priority)
)
_UNSETTLED = select(
    conversations.c.id,
    conversations.c.priority,
    func.coalesce(conversations.c.queued_at, conversations.c.created_at).label("queued_at"),
    conversations.c.last_inbound_at,
).where(_IS_QUEUED, conversations.c.queue == _B("k_queue"), not_(_SETTLED))
_ASSIGNED_COUNT = (
    select(conversations.c.assignee_id, func.count().label("active"))
    .where(conversations.c.status == ConversationStatus.ASSIGNED.value)
    .group_by(conversations.c.assignee_id)
    .subquery()
)
_ONLINE_AGENTS = (
    select(
        users.c.id,
        users.c.skills,
        users.c.languages,
        users.c.capacity,
        func.coalesce(_ASSIGNED_COUNT.c.active, 0).label("active"),
    )
    .outerjoin(_ASSIGNED_COUNT, _ASSIGNED_COUNT.c.assignee_id == users.c.id)
    .where(users.c.active.is_(True), users.c.presence == "online")
)
_HANDLE_TIMES = (
    select(conversations.c.assigned_at, conversations.c.resolved_at)
    .where(
        conversations.c.status == ConversationStatus.RESOLVED.value,
        conversations.c.queue == _B("k_queue"),
        conversations.c.assigned_at.is_not(None),
        conversations.c.resolved_at.is_not(None),
    )
    .order_by(conversations.c.resolved_at.desc())
    .limit(_B("k_limit"))
)


def queued_in(conn: Connection, queue: str) -> list[QueuedRow]:
    """Every conversation waiting in `queue`, one row each (the wait estimate reads
    `queue_rows` instead; this is its reference in tests and benchmarks)."""
    return [
        QueuedRow(int(r.id), r.priority, r.queued_at, r.last_inbound_at)
        for r in conn.execute(_QUEUED_IN, {"k_queue": queue})
    ]


@dataclass(frozen=True, slots=True)
class QueueRows:
    """A queue's waiting conversations split as `domain.handoff.QueueTally` wants them."""

    settled: dict[str | None, int]  #: per priority as stored (None, or unknown)
    others: list[QueuedRow]


def queue_rows(
    conn: Connection,
    queue: str,
    *,
    queued_before: datetime,
    closed_by: datetime,
    open_after: datetime,
) -> QueueRows:
    """The conversations waiting in `queue`: counted per priority when they were queued
    before `queued_before` and their last inbound message is missing, at or before
    `closed_by`, or after `open_after`; the rest one by one. Two reads of the partial index
    ix_conversations_queued: no row of the counted ones leaves the database."""
    bounds = {
        "k_queue": queue,
        "k_queued_before": queued_before,
        "k_closed_by": closed_by,
        "k_open_after": open_after,
    }
    settled = {r.priority: int(r.n) for r in conn.execute(_SETTLED_COUNTS, bounds)}
    others = [
        QueuedRow(int(r.id), r.priority, r.queued_at, r.last_inbound_at)
        for r in conn.execute(_UNSETTLED, bounds)
    ]
    return QueueRows(settled, others)


def online_agents(conn: Connection) -> list[Agent]:
    """Active agents who are online, with how many conversations each holds now."""
    return [
        Agent(
            id=int(r.id),
            skills=frozenset(r.skills or ()),
            languages=frozenset(r.languages or ()),
            capacity=int(r.capacity),
            presence=Presence.ONLINE,
            active_conversations=int(r.active),
        )
        for r in conn.execute(_ONLINE_AGENTS)
    ]


def handle_times(conn: Connection, queue: str, limit: int) -> list[timedelta]:
    """assigned -> resolved of the last `limit` conversations resolved in `queue`."""
    rows = conn.execute(_HANDLE_TIMES, {"k_queue": queue, "k_limit": limit})
    return [r.resolved_at - r.assigned_at for r in rows]


@dataclass(frozen=True, slots=True)
class CsatTarget:
    """A conversation of this customer that a CSAT reply names."""

    id: int
    csat_state: str | None


def csat_target(conn: Connection, conversation_id: int, customer_id: int) -> CsatTarget | None:
    """The conversation, if it is this customer's; None for anyone else's or none."""
    row = conn.execute(
        select(conversations.c.id, conversations.c.csat_state).where(
            conversations.c.id == conversation_id, conversations.c.customer_id == customer_id
        )
    ).first()
    return None if row is None else CsatTarget(int(row.id), row.csat_state)


def latest_conversation(conn: Connection, customer_id: int) -> int | None:
    """The customer's most recent conversation, open or not."""
    return conn.execute(
        select(conversations.c.id)
        .where(conversations.c.customer_id == customer_id)
        .order_by(conversations.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def answer_csat(
    conn: Connection,
    conversation_id: int,
    *,
    rating: int,
    sent_at: datetime,
    now: datetime,
) -> bool:
    """Store the customer's rating if the question is still open (`csat_state` 'sent');
    the reply also moves the conversation's 24-hour window forward. False when it was
    not open (answered already, never asked)."""
    result = conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.csat_state == "sent")
        .values(
            csat_state="answered",
            csat_rating=rating,
            csat_at=now,
            updated_at=now,
            last_inbound_at=case(
                (
                    or_(
                        conversations.c.last_inbound_at.is_(None),
                        conversations.c.last_inbound_at < sent_at,
                    ),
                    sent_at,
                ),
                else_=conversations.c.last_inbound_at,
            ),
        )
    )
    return result.rowcount == 1
