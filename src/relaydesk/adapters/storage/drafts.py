"""The bot's drafts held for a person's approval: stored by the decision stage, listed for
the Approvals view, handled once (a conditional update: of two agents or two clicks, one
wins), expired past the brief's limit, and counted per intent for the rollout's gates.
Every function takes the caller's transaction; statements are built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

from relaydesk.adapters.storage.tables import conversations, customers, drafts, users

_B = bindparam
PENDING = "pending"
SENT = "sent"
REJECTED = "rejected"
#: What a person decided: the drafts the acceptance gate counts (an expired draft was
#: judged by nobody).
JUDGED = (SENT, REJECTED)

_COLUMNS = (
    drafts,
    conversations.c.status.label("conversation_status"),
    conversations.c.assignee_id,
    conversations.c.language,
    customers.c.profile_name.label("customer_name"),
    users.c.name.label("handled_by_name"),
)
_JOINED = (
    drafts.join(conversations, conversations.c.id == drafts.c.conversation_id)
    .join(customers, customers.c.id == conversations.c.customer_id)
    .outerjoin(users, users.c.id == drafts.c.handled_by)
)
_SELECT = select(*_COLUMNS).select_from(_JOINED)
_BY_ID = _SELECT.where(drafts.c.id == _B("k_id"))
_INSERT = drafts.insert().returning(drafts.c.id)
_HANDLE = (
    update(drafts)
    .where(drafts.c.id == _B("k_id"), drafts.c.state == PENDING)
    .values(
        state=_B("k_state"),
        handled_at=_B("k_now"),
        handled_by=_B("k_by"),
        sent_text=_B("k_sent"),
        edit_distance=_B("k_distance"),
        unchanged=_B("k_unchanged"),
    )
)
_OUTBOX = update(drafts).where(drafts.c.id == _B("k_id")).values(outbox_id=_B("k_outbox"))
_LATEST_UNSENT = (
    select(drafts.c.text)
    .where(drafts.c.conversation_id == _B("k_conversation"), drafts.c.state != SENT)
    .order_by(drafts.c.id.desc())
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    conversation_id: int
    message_id: int  #: the customer's message it answers
    intent: str
    confidence: float | None
    text: str  #: the drafted text
    content: dict[str, Any]  #: the drafted message, as `codec.content_to_dict` stores it
    state: str  #: pending | sent | rejected | expired
    created_at: datetime
    handled_at: datetime | None
    handled_by: int | None  #: None while pending, and for an expired draft
    handled_by_name: str | None
    sent_text: str | None
    edit_distance: float | None
    unchanged: bool | None
    outbox_id: int | None
    conversation_status: str
    assignee_id: int | None
    language: str | None
    customer_name: str | None


def insert(
    conn: Connection,
    *,
    conversation_id: int,
    message_id: int,
    intent: str,
    confidence: float | None,
    text: str,
    content: dict[str, Any],
    now: datetime,
) -> int:
    """Hold a drafted answer; returns the draft's id."""
    values = {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "intent": intent,
        "confidence": confidence,
        "text": text,
        "content": content,
        "state": PENDING,
        "created_at": now,
    }
    return int(conn.execute(_INSERT, values).scalar_one())


def get(conn: Connection, draft_id: int) -> Draft | None:
    row = conn.execute(_BY_ID, {"k_id": draft_id}).first()
    return None if row is None else _draft(row)


def pending(
    conn: Connection,
    *,
    conversation_status: str | None = None,
    limit: int = 50,
    after: int | None = None,
) -> list[Draft]:
    """Pending drafts oldest first (ids above `after`), of conversations in
    `conversation_status` when given."""
    query = _SELECT.where(drafts.c.state == PENDING)
    if conversation_status is not None:
        query = query.where(conversations.c.status == conversation_status)
    if after is not None:
        query = query.where(drafts.c.id > after)
    return [_draft(r) for r in conn.execute(query.order_by(drafts.c.id).limit(limit))]


def handle(
    conn: Connection,
    draft_id: int,
    *,
    state: str,
    by: int | None,
    now: datetime,
    sent_text: str | None = None,
    edit_distance: float | None = None,
    unchanged: bool | None = None,
) -> bool:
    """Move a pending draft to `state`; False when it was not pending any more (handled
    by someone else first: only one UPDATE matches, on both databases)."""
    result = conn.execute(
        _HANDLE,
        {
            "k_id": draft_id,
            "k_state": state,
            "k_now": now,
            "k_by": by,
            "k_sent": sent_text,
            "k_distance": edit_distance,
            "k_unchanged": unchanged,
        },
    )
    return result.rowcount == 1


def set_outbox(conn: Connection, draft_id: int, outbox_id: int) -> None:
    conn.execute(_OUTBOX, {"k_id": draft_id, "k_outbox": outbox_id})


def due_ids(conn: Connection, created_before: datetime, *, limit: int = 100) -> list[int]:
    """Pending drafts created at or before `created_before` (past the brief's limit)."""
    query = (
        select(drafts.c.id)
        .where(drafts.c.state == PENDING, drafts.c.created_at <= created_before)
        .order_by(drafts.c.id)
        .limit(limit)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def latest_unsent_text(conn: Connection, conversation_id: int) -> str | None:
    """The newest draft of the conversation that was not sent (pending, rejected or
    expired): the reply the console suggests instead of a generic greeting."""
    value = conn.execute(_LATEST_UNSENT, {"k_conversation": conversation_id}).scalar()
    return None if value is None else str(value)


def acceptance_by_intent(
    conn: Connection, since: datetime, until: datetime
) -> dict[str, tuple[int, int]]:
    """Per intent, (drafts a person handled, of which sent unchanged) with `handled_at`
    in [since, until): sent and rejected drafts count, expired ones do not."""
    unchanged = func.sum(case((drafts.c.unchanged.is_(True), 1), else_=0))
    query = (
        select(drafts.c.intent, func.count(), unchanged)
        .where(
            drafts.c.state.in_(JUDGED),
            drafts.c.handled_at >= since,
            drafts.c.handled_at < until,
        )
        .group_by(drafts.c.intent)
    )
    return {str(intent): (int(n), int(kept or 0)) for intent, n, kept in conn.execute(query)}


def _draft(row: Any) -> Draft:
    return Draft(
        id=int(row.id),
        conversation_id=int(row.conversation_id),
        message_id=int(row.message_id),
        intent=row.intent,
        confidence=row.confidence,
        text=row.text,
        content=dict(row.content),
        state=row.state,
        created_at=row.created_at,
        handled_at=row.handled_at,
        handled_by=row.handled_by,
        handled_by_name=row.handled_by_name,
        sent_text=row.sent_text,
        edit_distance=row.edit_distance,
        unchanged=row.unchanged,
        outbox_id=row.outbox_id,
        conversation_status=row.conversation_status,
        assignee_id=row.assignee_id,
        language=row.language,
        customer_name=row.customer_name,
    )
