"""Conversations waiting for a person or held by one: the rows routing orders and
assigns, and the summaries the console and the API list. Every function takes the
caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from relaydesk.adapters.storage.tables import conversations, customers, messages, users
from relaydesk.brief.schema import Priority
from relaydesk.domain.conversation import ConversationStatus

_B = bindparam
QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value

_WAITING = select(
    conversations.c.id,
    conversations.c.queue,
    conversations.c.priority,
    conversations.c.language,
    conversations.c.queued_at,
    conversations.c.entered_queue_at,
    conversations.c.created_at,
    conversations.c.last_inbound_at,
).where(conversations.c.status == QUEUED)
_ASSIGN = (
    update(conversations)
    .where(conversations.c.id == _B("k_id"))
    .values(
        status=ASSIGNED, assignee_id=_B("k_agent"), assigned_at=_B("k_now"), updated_at=_B("k_now")
    )
)
_SUMMARY = (
    select(
        conversations,
        customers.c.wa_id,
        customers.c.profile_name,
        users.c.name.label("assignee_name"),
    )
    .join(customers, customers.c.id == conversations.c.customer_id)
    .outerjoin(users, users.c.id == conversations.c.assignee_id)
)
_OPEN = select(
    conversations.c.id,
    conversations.c.queue,
    conversations.c.status,
    conversations.c.queued_at,
    conversations.c.created_at,
    conversations.c.language,
)
_REWRITES = select(messages.c.draft, messages.c.text).where(
    messages.c.author_id.is_not(None), messages.c.draft.is_not(None)
)


@dataclass(frozen=True, slots=True)
class Queued:
    """A conversation waiting for a person, as stored (the brief decides what an unknown
    queue or a missing priority means)."""

    id: int
    queue: str | None
    priority: Priority | None  #: as written from the brief
    language: str | None
    queued_at: datetime | None
    entered_queue_at: datetime | None
    created_at: datetime
    last_inbound_at: datetime | None


@dataclass(frozen=True, slots=True)
class Summary:
    """A conversation as the lists show it: its state, its customer and its assignee."""

    id: int
    status: str
    queue: str | None
    tier: int | None
    priority: Priority | None  #: as written from the brief
    language: str | None
    assignee_id: int | None
    assignee_name: str | None
    queued_at: datetime | None
    entered_queue_at: datetime | None
    assigned_at: datetime | None
    last_inbound_at: datetime | None
    created_at: datetime
    wa_id: str | None
    profile_name: str | None


@dataclass(frozen=True, slots=True)
class Open:
    """A queued or assigned conversation, for the per-queue counts."""

    id: int
    queue: str | None
    status: str
    queued_at: datetime | None
    created_at: datetime
    language: str | None


@dataclass(frozen=True, slots=True)
class LastMessage:
    direction: str
    type: str
    text: str | None
    sent_at: datetime


def waiting(conn: Connection, *, lock: bool = False) -> list[Queued]:
    """Every queued conversation. With `lock`, on PostgreSQL the rows are locked and
    those another transaction holds are skipped (SQLite serialises writers itself)."""
    query = _WAITING
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [
        Queued(
            id=int(r.id),
            queue=r.queue,
            priority=r.priority,
            language=r.language,
            queued_at=r.queued_at,
            entered_queue_at=r.entered_queue_at,
            created_at=r.created_at,
            last_inbound_at=r.last_inbound_at,
        )
        for r in conn.execute(query)
    ]


def assign(conn: Connection, conversation_id: int, agent_id: int, now: datetime) -> None:
    """The conversation is now the agent's."""
    conn.execute(_ASSIGN, {"k_id": conversation_id, "k_agent": agent_id, "k_now": now})


def summaries(
    conn: Connection, statuses: Collection[str], *, assignee_id: int | None = None
) -> list[Summary]:
    """The conversations in one of `statuses` (held by `assignee_id`, if given)."""
    query = _SUMMARY.where(conversations.c.status.in_(list(statuses)))
    if assignee_id is not None:
        query = query.where(conversations.c.assignee_id == assignee_id)
    return [_summary(r) for r in conn.execute(query)]


def open_conversations(conn: Connection) -> list[Open]:
    """Every queued or assigned conversation."""
    rows = conn.execute(_OPEN.where(conversations.c.status.in_((QUEUED, ASSIGNED))))
    return [Open(int(r.id), r.queue, r.status, r.queued_at, r.created_at, r.language) for r in rows]


def last_messages(conn: Connection, ids: Sequence[int]) -> dict[int, LastMessage]:
    """The newest message of each of these conversations (those that have one)."""
    if not ids:
        return {}
    latest = (
        select(func.max(messages.c.id))
        .where(messages.c.conversation_id.in_(list(ids)))
        .group_by(messages.c.conversation_id)
    )
    rows = conn.execute(
        select(
            messages.c.conversation_id,
            messages.c.direction,
            messages.c.type,
            messages.c.text,
            messages.c.sent_at,
        ).where(messages.c.id.in_(latest))
    )
    return {
        int(m.conversation_id): LastMessage(m.direction, m.type, m.text, m.sent_at) for m in rows
    }


def rewrites(conn: Connection) -> list[tuple[str, str]]:
    """(suggested draft, text sent) of every agent reply that started from a draft."""
    return [(r.draft, r.text or "") for r in conn.execute(_REWRITES)]


def _summary(r: Any) -> Summary:
    return Summary(
        id=int(r.id),
        status=r.status,
        queue=r.queue,
        tier=r.tier,
        priority=r.priority,
        language=r.language,
        assignee_id=r.assignee_id,
        assignee_name=r.assignee_name,
        queued_at=r.queued_at,
        entered_queue_at=r.entered_queue_at,
        assigned_at=r.assigned_at,
        last_inbound_at=r.last_inbound_at,
        created_at=r.created_at,
        wa_id=r.wa_id,
        profile_name=r.profile_name,
    )
