"""Past conversations read back for the pre-launch replay's history export: every message
in time order, with the decision taken on each customer message and the agents' verdict on
the escalation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from relaydesk.adapters.storage.tables import conversations, decisions, messages


@dataclass(frozen=True, slots=True)
class StoredMessage:
    direction: str  #: "in" (the customer) or "out"
    text: str | None
    sent_at: datetime
    by_person: bool  #: an outbound message an agent wrote (not the bot's)
    action: str | None  #: the decision on an inbound message, if one was taken


@dataclass(frozen=True, slots=True)
class StoredConversation:
    id: int
    created_at: datetime
    queue: str | None  #: the queue it was last in
    priority: str | None
    worked_by_person: bool  #: an agent was assigned or answered it
    feedback: str | None  #: needed | not_needed | too_late (`domain.desk.VERDICTS`)
    messages: tuple[StoredMessage, ...]


def conversations_since(
    conn: Connection, since: datetime, batch: int = 500
) -> Iterator[StoredConversation]:
    """Conversations opened at or after `since`, oldest first, read `batch` at a time."""
    last_id = 0
    while True:
        heads = conn.execute(
            select(
                conversations.c.id,
                conversations.c.created_at,
                conversations.c.queue,
                conversations.c.priority,
                conversations.c.assigned_at,
                conversations.c.feedback,
            )
            .where(conversations.c.created_at >= since, conversations.c.id > last_id)
            .order_by(conversations.c.id)
            .limit(batch)
        ).all()
        if not heads:
            return
        last_id = heads[-1].id
        found: dict[int, list[StoredMessage]] = {h.id: [] for h in heads}
        rows = conn.execute(
            select(
                messages.c.conversation_id,
                messages.c.direction,
                messages.c.text,
                messages.c.sent_at,
                messages.c.author_id,
                decisions.c.action,
            )
            .select_from(messages.outerjoin(decisions, decisions.c.message_id == messages.c.id))
            .where(messages.c.conversation_id.in_(list(found)))
            .order_by(messages.c.conversation_id, messages.c.sent_at, messages.c.id)
        )
        for row in rows:
            found[row.conversation_id].append(
                StoredMessage(
                    direction=row.direction,
                    text=row.text,
                    sent_at=row.sent_at,
                    by_person=row.author_id is not None,
                    action=row.action,
                )
            )
        for head in heads:
            stored = tuple(found[head.id])
            yield StoredConversation(
                id=head.id,
                created_at=head.created_at,
                queue=head.queue,
                priority=head.priority,
                worked_by_person=head.assigned_at is not None or any(m.by_person for m in stored),
                feedback=head.feedback,
                messages=stored,
            )
