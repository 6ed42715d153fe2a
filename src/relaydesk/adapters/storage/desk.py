"""A conversation as people work on it after an escalation: locked while an action decides,
put back in a queue, resolved, handed back to the bot, annotated, replied to, judged.
Every function takes the caller's transaction; statements are built once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from relaydesk.adapters.storage.tables import conversations, customers, messages, notes, outbox
from relaydesk.brief.schema import Priority
from relaydesk.domain.conversation import ConversationStatus

_B = bindparam
QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value

_COLUMNS = (
    conversations.c.id,
    conversations.c.status,
    conversations.c.queue,
    conversations.c.priority,
    conversations.c.language,
    conversations.c.assignee_id,
    conversations.c.customer_id,
    conversations.c.phone_number_id,
    conversations.c.queued_at,
    conversations.c.escalated_at,
    conversations.c.created_at,
)
_LOCK = select(*_COLUMNS).where(conversations.c.id == _B("k_id")).with_for_update()
_HELD_BY = (
    select(*_COLUMNS)
    .where(conversations.c.assignee_id == _B("k_agent"), conversations.c.status == ASSIGNED)
    .with_for_update()
)
_BY_ID = update(conversations).where(conversations.c.id == _B("k_id"))
_REQUEUE = _BY_ID.values(
    status=QUEUED,
    queue=_B("k_queue"),
    tier=_B("k_tier"),
    assignee_id=None,
    assigned_at=None,
    queued_at=_B("k_queued"),
    entered_queue_at=_B("k_now"),
    timer_at=_B("k_now"),
    updated_at=_B("k_now"),
)
_RESOLVE = _BY_ID.values(
    status=ConversationStatus.RESOLVED.value,
    resolved_at=_B("k_now"),
    csat_state="pending",
    updated_at=_B("k_now"),
)
_HAND_BACK = _BY_ID.values(
    status=ConversationStatus.BOT.value,
    assignee_id=None,
    queue=None,
    tier=None,
    priority=None,
    entered_queue_at=None,
    timer_at=None,
    updated_at=_B("k_now"),
)
_FEEDBACK = _BY_ID.values(
    feedback=_B("k_verdict"),
    failure_tags=_B("k_tags", type_=conversations.c.failure_tags.type),
    feedback_by=_B("k_by"),
    feedback_at=_B("k_now"),
)
_TOUCH = _BY_ID.values(updated_at=_B("k_now"))
_INSERT_NOTE = notes.insert().returning(notes.c.id)
_CUSTOMER = select(customers.c.wa_id, customers.c.user_id).where(customers.c.id == _B("k_id"))
_AUTHOR = (
    update(messages)
    .where(messages.c.id == _B("k_id"))
    .values(author_id=_B("k_author"), draft=_B("k_draft"))
)
_INSERT_OUTBOX = outbox.insert().returning(outbox.c.id)


@dataclass(frozen=True, slots=True)
class Worked:
    """What an action needs to know of the conversation it works on."""

    id: int
    status: str
    queue: str | None
    priority: Priority | None  #: as written from the brief
    language: str | None
    assignee_id: int | None
    customer_id: int
    phone_number_id: str
    queued_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime


def lock(conn: Connection, conversation_id: int) -> Worked | None:
    """The conversation, locked until the transaction ends; None if there is none."""
    row = conn.execute(_LOCK, {"k_id": conversation_id}).first()
    return None if row is None else _worked(row)


def held_by(conn: Connection, agent_id: int) -> list[Worked]:
    """The conversations assigned to this person now, locked."""
    return [_worked(r) for r in conn.execute(_HELD_BY, {"k_agent": agent_id})]


def requeue(
    conn: Connection,
    conversation_id: int,
    *,
    queue: str,
    tier: int,
    queued_at: datetime,
    now: datetime,
) -> None:
    """Back to waiting in `queue`, unassigned, with its place in line (`queued_at`); the
    ladder's timeout counts from now and the worker looks at it now."""
    conn.execute(
        _REQUEUE,
        {
            "k_id": conversation_id,
            "k_queue": queue,
            "k_tier": tier,
            "k_queued": queued_at,
            "k_now": now,
        },
    )


def resolve(conn: Connection, conversation_id: int, now: datetime) -> None:
    """Resolved, with the CSAT question pending."""
    conn.execute(_RESOLVE, {"k_id": conversation_id, "k_now": now})


def hand_back(conn: Connection, conversation_id: int, now: datetime) -> None:
    """The bot has it again: out of any queue, unassigned, no timers."""
    conn.execute(_HAND_BACK, {"k_id": conversation_id, "k_now": now})


def save_feedback(
    conn: Connection,
    conversation_id: int,
    *,
    verdict: str,
    tags: Sequence[str],
    by: int,
    now: datetime,
) -> None:
    conn.execute(
        _FEEDBACK,
        {
            "k_id": conversation_id,
            "k_verdict": verdict,
            "k_tags": list(tags),
            "k_by": by,
            "k_now": now,
        },
    )


def add_note(
    conn: Connection, conversation_id: int, *, author_id: int, body: str, now: datetime
) -> int:
    """Store an internal note; returns its id."""
    values = {
        "conversation_id": conversation_id,
        "author_id": author_id,
        "body": body,
        "created_at": now,
    }
    return int(conn.execute(_INSERT_NOTE, values).scalar_one())


def customer_keys(conn: Connection, customer_id: int) -> tuple[str | None, str | None]:
    """The customer's (wa_id, user_id), whom a reply goes to."""
    row = conn.execute(_CUSTOMER, {"k_id": customer_id}).one()
    return row.wa_id, row.user_id


def queue_reply(
    conn: Connection,
    entry: dict[str, Any],
    *,
    author_id: int,
    draft: str | None,
    now: datetime,
) -> int:
    """Queue an agent's reply: `entry` is its outbox row (its message is stored already),
    which is marked as the agent's (with the draft they started from); the conversation
    is touched. Returns the outbox row id."""
    conn.execute(_AUTHOR, {"k_id": entry["message_id"], "k_author": author_id, "k_draft": draft})
    outbox_id = int(conn.execute(_INSERT_OUTBOX, entry).scalar_one())
    conn.execute(_TOUCH, {"k_id": entry["conversation_id"], "k_now": now})
    return outbox_id


def _worked(row: Any) -> Worked:
    return Worked(
        id=int(row.id),
        status=row.status,
        queue=row.queue,
        priority=row.priority,
        language=row.language,
        assignee_id=row.assignee_id,
        customer_id=int(row.customer_id),
        phone_number_id=row.phone_number_id,
        queued_at=row.queued_at,
        escalated_at=row.escalated_at,
        created_at=row.created_at,
    )
