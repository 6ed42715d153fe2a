"""Conversations for review: every conversation (bot-only ones included) filtered by
period, status, intent, queue and customer, newest first, a page at a time; and the
failure tags a reviewer puts on any conversation. Every function takes the caller's
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, update

from relaydesk.adapters.storage.tables import conversations, customers, decisions

#: The conversation's intent: the first one the bot recognised (`ConversationFacts.intent`).
_FIRST_INTENT = (
    select(decisions.c.intent)
    .where(decisions.c.conversation_id == conversations.c.id, decisions.c.intent.is_not(None))
    .order_by(decisions.c.created_at, decisions.c.id)
    .limit(1)
    .scalar_subquery()
)
_ROWS = select(
    conversations.c.id,
    conversations.c.created_at,
    conversations.c.status,
    conversations.c.queue,
    conversations.c.priority,
    conversations.c.phone_number_id,
    conversations.c.escalated_at,
    conversations.c.feedback,
    conversations.c.failure_tags,
    customers.c.wa_id,
    customers.c.user_id,
    customers.c.profile_name,
    _FIRST_INTENT.label("intent"),
).join(customers, customers.c.id == conversations.c.customer_id)


@dataclass(frozen=True, slots=True)
class Search:
    """What to look for; None leaves a filter out. `text` matches part of the customer's
    phone number (its digits), their BSUID or part of their profile name (any case);
    `customer` is one customer's exact wa_id or BSUID; `agent_id` keeps what that agent
    may see (waiting conversations and their own)."""

    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    intent: str | None = None
    queue: str | None = None
    text: str | None = None
    customer: str | None = None
    agent_id: int | None = None
    before: int | None = None  #: only ids below this one (the page cursor)
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One conversation as the review list shows it."""

    id: int
    created_at: datetime
    status: str
    queue: str | None
    priority: str | None
    intent: str | None
    number: str  #: the business number (phone_number_id) it came to
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    escalated: bool
    feedback: str | None
    failure_tags: tuple[str, ...]


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _text_match(text: str) -> ColumnElement[bool]:
    digits = "".join(ch for ch in text if ch.isdigit())
    bare = text.lstrip("+").replace(" ", "").replace("-", "")
    matches = [
        customers.c.user_id == text,
        func.lower(customers.c.profile_name).like(_like(text.lower()), escape="\\"),
    ]
    if digits and digits == bare:  # a phone number, however it was typed
        matches.append(customers.c.wa_id.like(_like(digits), escape="\\"))
    return or_(*matches)


def _query(s: Search) -> Select[tuple[object, ...]]:
    query = _ROWS
    where: list[ColumnElement[bool]] = []
    if s.start is not None:
        where.append(conversations.c.created_at >= s.start)
    if s.end is not None:
        where.append(conversations.c.created_at < s.end)
    if s.status is not None:
        where.append(conversations.c.status == s.status)
    if s.queue is not None:
        where.append(conversations.c.queue == s.queue)
    if s.intent is not None:
        where.append(_FIRST_INTENT == s.intent)
    if s.text is not None:
        where.append(_text_match(s.text))
    if s.customer is not None:
        where.append(or_(customers.c.wa_id == s.customer, customers.c.user_id == s.customer))
    if s.agent_id is not None:
        where.append(
            or_(conversations.c.status == "queued", conversations.c.assignee_id == s.agent_id)
        )
    if s.before is not None:
        where.append(conversations.c.id < s.before)
    if where:
        query = query.where(and_(*where))
    return query.order_by(conversations.c.id.desc()).limit(s.limit)


def search(conn: Connection, s: Search) -> list[Reviewed]:
    """The conversations that match, newest first, at most `s.limit`."""
    return [
        Reviewed(
            id=int(r.id),
            created_at=r.created_at,
            status=r.status,
            queue=r.queue,
            priority=r.priority,
            intent=r.intent,
            number=r.phone_number_id,
            wa_id=r.wa_id,
            user_id=r.user_id,
            profile_name=r.profile_name,
            escalated=r.escalated_at is not None,
            feedback=r.feedback,
            failure_tags=tuple(r.failure_tags or ()),
        )
        for r in conn.execute(_query(s))
    ]


def failure_tags(conn: Connection, conversation_id: int) -> tuple[str, ...] | None:
    """The conversation's failure tags; None when there is no such conversation."""
    row = conn.execute(
        select(conversations.c.failure_tags).where(conversations.c.id == conversation_id)
    ).first()
    return None if row is None else tuple(row.failure_tags or ())


def set_failure_tags(conn: Connection, conversation_id: int, tags: list[str]) -> None:
    """Replace the conversation's failure tags (any conversation; the escalation verdict,
    if any, stays as it is; the audit log says who tagged and when)."""
    conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(failure_tags=tags)
    )
