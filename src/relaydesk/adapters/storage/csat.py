"""The satisfaction question's storage: resolved conversations whose question is still to be
sent (`csat_state` 'pending', a partial index), who they go to, and what became of the
question. The customer's answer is stored by `adapters.storage.handoff.answer_csat`.
Every function takes the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, Connection, and_, bindparam, select, update

from relaydesk.adapters.storage.tables import conversations, customers
from relaydesk.domain.conversation import ConversationStatus

_PENDING: ColumnElement[bool] = and_(
    conversations.c.status == ConversationStatus.RESOLVED.value,
    conversations.c.csat_state == "pending",
)
_MARK = (
    update(conversations)
    .where(conversations.c.id == bindparam("k_id"))
    .values(csat_state=bindparam("k_state"), timer_at=None)
)


@dataclass(frozen=True, slots=True)
class Pending:
    """A resolved conversation whose CSAT question is to be sent, and its customer."""

    id: int
    phone_number_id: str
    last_inbound_at: datetime | None
    language: str | None
    wa_id: str | None
    user_id: str | None
    profile_name: str | None


def pending_ids(conn: Connection, *, after: int, limit: int) -> list[int]:
    """Up to `limit` ids above `after`, in order, of conversations with a pending question."""
    ids = conn.execute(
        select(conversations.c.id)
        .where(_PENDING, conversations.c.id > after)
        .order_by(conversations.c.id)
        .limit(limit)
    ).scalars()
    return [int(i) for i in ids]


def claim_pending(conn: Connection, ids: Collection[int]) -> list[Pending]:
    """Those of `ids` still pending, by id, locked; on PostgreSQL rows another worker
    holds are skipped."""
    query = (
        select(
            conversations.c.id,
            conversations.c.phone_number_id,
            conversations.c.last_inbound_at,
            conversations.c.language,
            customers.c.wa_id,
            customers.c.user_id,
            customers.c.profile_name,
        )
        .join(customers, customers.c.id == conversations.c.customer_id)
        .where(conversations.c.id.in_(list(ids)), _PENDING)
        .order_by(conversations.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=conversations, skip_locked=True)
    return [
        Pending(
            id=int(r.id),
            phone_number_id=r.phone_number_id,
            last_inbound_at=r.last_inbound_at,
            language=r.language,
            wa_id=r.wa_id,
            user_id=r.user_id,
            profile_name=r.profile_name,
        )
        for r in conn.execute(query)
    ]


def mark(conn: Connection, conversation_id: int, state: Literal["sent", "skipped"]) -> None:
    """The question was queued (`sent`) or will not be asked (`skipped`); either way the
    worker has nothing more to do with the conversation."""
    conn.execute(_MARK, {"k_id": conversation_id, "k_state": state})
