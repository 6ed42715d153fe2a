"""One conversation as the API and the console read it: the conversation with its customer
and assignee, its messages (with the authors' names) and decisions a page at a time, its
latest decision of a kind, what the customer wrote, and its notes. Every function takes the
caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    messages,
    notes,
    users,
)
from relaydesk.brief.schema import Priority

_B = bindparam
_VISIBILITY = select(conversations.c.id, conversations.c.status, conversations.c.assignee_id)
_FOR_CUSTOMER = (
    _VISIBILITY.join(customers, customers.c.id == conversations.c.customer_id)
    .where(or_(customers.c.wa_id == _B("k_customer"), customers.c.user_id == _B("k_customer")))
    .order_by(conversations.c.id.desc())
)
_CONVERSATION = (
    select(
        conversations,
        customers.c.wa_id,
        customers.c.user_id,
        customers.c.profile_name,
        customers.c.attributes,
        users.c.name.label("assignee_name"),
        users.c.email.label("assignee_email"),
    )
    .join(customers, customers.c.id == conversations.c.customer_id)
    .outerjoin(users, users.c.id == conversations.c.assignee_id)
    .where(conversations.c.id == _B("k_id"))
)
_MESSAGES = (
    select(messages, users.c.name.label("author_name"))
    .outerjoin(users, users.c.id == messages.c.author_id)
    .where(messages.c.conversation_id == _B("k_id"))
    .order_by(messages.c.id.desc())
)
_DECISIONS = (
    select(decisions)
    .where(decisions.c.conversation_id == _B("k_id"))
    .order_by(decisions.c.id.desc())
)
_LATEST_DECISION = _DECISIONS.where(decisions.c.action == _B("k_action")).limit(1)
_CUSTOMER_TEXTS = (
    select(messages.c.text)
    .where(messages.c.conversation_id == _B("k_id"), messages.c.direction == "in")
    .order_by(messages.c.id)
)
_NOTES = (
    select(notes, users.c.name.label("author_name"))
    .outerjoin(users, users.c.id == notes.c.author_id)
    .where(notes.c.conversation_id == _B("k_id"))
    .order_by(notes.c.id)
)


@dataclass(frozen=True, slots=True)
class Visibility:
    """What decides who may see a conversation."""

    id: int
    status: str
    assignee_id: int | None


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation with its customer and its assignee's name and email."""

    id: int
    phone_number_id: str
    status: str
    queue: str | None
    tier: int | None
    priority: Priority | None  #: as written from the brief
    language: str | None
    assignee_id: int | None
    assignee_name: str | None
    assignee_email: str | None
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    attributes: dict[str, Any]  #: the customer's, from the CRM or the API
    dialogue: dict[str, Any] | None  #: `domain.dialogue.DialogueState` as stored
    last_inbound_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    feedback: str | None
    failure_tags: tuple[str, ...]
    feedback_by: int | None
    feedback_at: datetime | None
    csat_state: str | None
    csat_rating: int | None
    csat_at: datetime | None
    customer_id: int | None = None  #: the customer's row (export and erasure name it)


@dataclass(frozen=True, slots=True)
class Message:
    """A message of the conversation; `author_name` is the agent's who wrote a reply."""

    id: int
    direction: str  #: "in" | "out"
    type: str
    text: str | None
    status: int | None  #: `domain.channel.DeliveryStatus` of an outbound message
    wamid: str | None
    error_code: int | None
    error_detail: str | None
    sent_at: datetime
    author_id: int | None
    author_name: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision on a message, with its reasons."""

    id: int
    message_id: int | None
    action: str
    intent: str | None
    confidence: float | None
    triggers: list[dict[str, Any]]
    policy_version: str
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    author_id: int | None
    author_name: str | None  #: None once the author's account is gone
    body: str
    created_at: datetime


def for_customer(conn: Connection, customer: str, *, before: int | None = None) -> list[Visibility]:
    """The conversations of the customer with this wa_id or BSUID, newest first (with ids
    below `before`, if given)."""
    query = _FOR_CUSTOMER
    if before is not None:
        query = query.where(conversations.c.id < before)
    return [_visibility(r) for r in conn.execute(query, {"k_customer": customer})]


def visibility(conn: Connection, conversation_id: int) -> Visibility | None:
    """The conversation's status and assignee; None if there is no such conversation."""
    row = conn.execute(_VISIBILITY.where(conversations.c.id == conversation_id)).first()
    return None if row is None else _visibility(row)


def conversation(conn: Connection, conversation_id: int) -> Conversation | None:
    """The conversation with its customer and assignee; None if there is none."""
    row = conn.execute(_CONVERSATION, {"k_id": conversation_id}).first()
    if row is None:
        return None
    return Conversation(
        id=int(row.id),
        phone_number_id=row.phone_number_id,
        status=row.status,
        queue=row.queue,
        tier=row.tier,
        priority=row.priority,
        language=row.language,
        assignee_id=row.assignee_id,
        assignee_name=row.assignee_name,
        assignee_email=row.assignee_email,
        wa_id=row.wa_id,
        user_id=row.user_id,
        profile_name=row.profile_name,
        attributes=dict(row.attributes or {}),
        dialogue=row.dialogue,
        last_inbound_at=row.last_inbound_at,
        escalated_at=row.escalated_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        feedback=row.feedback,
        failure_tags=tuple(row.failure_tags or ()),
        feedback_by=row.feedback_by,
        feedback_at=row.feedback_at,
        csat_state=row.csat_state,
        csat_rating=row.csat_rating,
        csat_at=row.csat_at,
        customer_id=row.customer_id,
    )


def messages_page(
    conn: Connection, conversation_id: int, *, limit: int, before: int | None = None
) -> tuple[list[Message], int | None]:
    """The newest `limit` messages with ids below `before`, oldest first, and the cursor
    for the page before them (the id of the oldest shown; None when these are the first)."""
    query = _MESSAGES if before is None else _MESSAGES.where(messages.c.id < before)
    rows = list(conn.execute(query.limit(limit + 1), {"k_id": conversation_id}))
    shown = [_message(r) for r in reversed(rows[:limit])]
    return shown, (shown[0].id if len(rows) > limit else None)


def decisions_page(
    conn: Connection, conversation_id: int, *, limit: int, before: int | None = None
) -> tuple[list[Decision], int | None]:
    """As `messages_page`, for the decisions."""
    query = _DECISIONS if before is None else _DECISIONS.where(decisions.c.id < before)
    rows = list(conn.execute(query.limit(limit + 1), {"k_id": conversation_id}))
    shown = [_decision(r) for r in reversed(rows[:limit])]
    return shown, (shown[0].id if len(rows) > limit else None)


def latest_decision(conn: Connection, conversation_id: int, action: str) -> Decision | None:
    """The conversation's newest decision with this action; None if it has none."""
    row = conn.execute(_LATEST_DECISION, {"k_id": conversation_id, "k_action": action}).first()
    return None if row is None else _decision(row)


def customer_texts(conn: Connection, conversation_id: int) -> list[str]:
    """Everything the customer wrote in the conversation, oldest first (messages without
    text, such as images, left out)."""
    return [t for t in conn.execute(_CUSTOMER_TEXTS, {"k_id": conversation_id}).scalars() if t]


def notes_of(conn: Connection, conversation_id: int) -> list[Note]:
    """The conversation's notes, oldest first, with their authors' names."""
    return [
        Note(
            id=int(n.id),
            author_id=n.author_id,
            author_name=n.author_name,
            body=n.body,
            created_at=n.created_at,
        )
        for n in conn.execute(_NOTES, {"k_id": conversation_id})
    ]


def _visibility(row: Any) -> Visibility:
    return Visibility(int(row.id), row.status, row.assignee_id)


def _message(row: Any) -> Message:
    return Message(
        id=int(row.id),
        direction=row.direction,
        type=row.type,
        text=row.text,
        status=row.status,
        wamid=row.wamid,
        error_code=row.error_code,
        error_detail=row.error_detail,
        sent_at=row.sent_at,
        author_id=row.author_id,
        author_name=row.author_name,
    )


def _decision(row: Any) -> Decision:
    return Decision(
        id=int(row.id),
        message_id=row.message_id,
        action=row.action,
        intent=row.intent,
        confidence=row.confidence,
        triggers=row.triggers,
        policy_version=row.policy_version,
        detail=row.detail,
        created_at=row.created_at,
    )
