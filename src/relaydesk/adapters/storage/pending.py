"""Pending decisions: messages acknowledged to WhatsApp and waiting for the decision stage.

The webhook's transaction adds a row beside the message; the decision stage reads the
oldest, decides, and deletes them in the transaction that writes the decision. A row holds
what the decision needs beyond the `messages` row (who sent it, the button tapped, ...), so
the message never has to be parsed again.

Several deciders on PostgreSQL take customers, not rows: `claim` takes a transaction-scoped
advisory lock per customer (`pg_try_advisory_xact_lock`) and skips customers another decider
holds, so one customer's messages are decided in order and never by two deciders at once,
while different customers are decided in parallel. A decider that dies releases its locks
with its connection, and its rows are still here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, text, update

from relaydesk.adapters.storage.tables import conversations, customers, messages, pending_decisions
from relaydesk.domain.channel import ApiError, InboundMessage, Sender

#: Customers' advisory locks live in a key space of their own per schema (the first of the
#: two int4 keys): advisory locks are database-wide, so two deployments in two schemas of
#: one database (staging beside production, parallel test runs) never skip each other's
#: customers.
_TRY_LOCK = text(
    "SELECT pg_try_advisory_xact_lock("
    "hashtext('relaydesk.pending:' || current_schema()), CAST(:key AS integer))"
)


@dataclass(frozen=True, slots=True)
class Pending:
    """One message to decide on, with where it is stored and whose it is."""

    message_id: int
    conversation_id: int
    customer_id: int
    received_at: datetime  #: when it was acknowledged: the decision's `now`
    message: InboundMessage
    attributes: dict[str, str] = field(default_factory=dict)  #: the customer's, for routing


def row(message_id: int, message: InboundMessage, received_at: datetime) -> dict[str, Any]:
    """The pending row for a message just stored (for a bulk `add`)."""
    sender = message.sender
    return {
        "message_id": message_id,
        "received_at": received_at,
        "message": {
            "phone_number_id": message.phone_number_id,
            "sender": {
                "wa_id": sender.wa_id,
                "user_id": sender.user_id,
                "parent_user_id": sender.parent_user_id,
                "profile_name": sender.profile_name,
                "username": sender.username,
            },
            "reply_id": message.reply_id,
            "context_id": message.context_id,
            "forwarded": message.forwarded,
            "referral": message.referral,
            "target_id": message.target_id,
            "media_id": message.media_id,
            "errors": [
                {"code": e.code, "title": e.title, "message": e.message, "details": e.details}
                for e in message.errors
            ],
        },
    }


def add(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(pending_decisions.insert(), list(rows))


def done(conn: Connection, message_ids: Sequence[int]) -> None:
    """Forget decided messages (in the transaction that records their decisions)."""
    if message_ids:
        conn.execute(
            delete(pending_decisions).where(pending_decisions.c.message_id.in_(message_ids))
        )


def move_message(conn: Connection, message_id: int, conversation_id: int) -> None:
    """Put a pending message in another conversation (its own was closed meanwhile)."""
    conn.execute(
        update(messages).where(messages.c.id == message_id).values(conversation_id=conversation_id)
    )


def depth(conn: Connection) -> tuple[int, datetime | None]:
    """How many messages wait for a decision, and since when the oldest."""
    count, oldest = conn.execute(
        select(func.count(), func.min(pending_decisions.c.received_at))
    ).one()
    return int(count), oldest


#: A pending message with its stored message, conversation and customer.
_JOINED = (
    pending_decisions.join(messages, messages.c.id == pending_decisions.c.message_id)
    .join(conversations, conversations.c.id == messages.c.conversation_id)
    .join(customers, customers.c.id == conversations.c.customer_id)
)
_SELECT = (
    select(
        pending_decisions.c.message_id,
        pending_decisions.c.received_at,
        pending_decisions.c.message,
        messages.c.conversation_id,
        messages.c.wamid,
        messages.c.type,
        messages.c.text,
        messages.c.payload,
        messages.c.sent_at,
        conversations.c.customer_id,
        customers.c.attributes,
    )
    .select_from(_JOINED)
    .order_by(pending_decisions.c.message_id)
)
_OLDEST = _SELECT.limit(bindparam("k_limit"))
_THESE = _SELECT.where(pending_decisions.c.message_id.in_(bindparam("k_ids", expanding=True)))


def oldest(conn: Connection, limit: int) -> list[Pending]:
    """The `limit` oldest pending messages, oldest first (ids are given in arrival order)."""
    return [_pending(r._mapping) for r in conn.execute(_OLDEST, {"k_limit": limit})]


def these(conn: Connection, message_ids: Sequence[int]) -> list[Pending]:
    """Those of `message_ids` still pending, oldest first, read afresh (a decider that read
    them outside its write transaction checks here that nobody decided them meanwhile)."""
    if not message_ids:
        return []
    return [_pending(r._mapping) for r in conn.execute(_THESE, {"k_ids": list(message_ids)})]


_WHERE_NOW = (
    select(
        pending_decisions.c.message_id,
        messages.c.conversation_id,
        conversations.c.customer_id,
        customers.c.attributes,
    )
    .select_from(_JOINED)
    .where(pending_decisions.c.message_id.in_(bindparam("k_ids", expanding=True)))
)


def refreshed(conn: Connection, items: Sequence[Pending]) -> list[Pending]:
    """Those of `items` still pending, in their order, with their conversation, customer
    and the customer's attributes read afresh (a merge may have moved a conversation, a
    CRM lookup changed attributes); the message itself is kept as read: what changes a
    stored message (an erasure, the retention purge) deletes its pending row in the same
    transaction, so such a message is dropped here. What `these` gives, without reading
    and parsing the messages again (a decider that read them outside its write
    transaction)."""
    if not items:
        return []
    now = {
        int(r.message_id): r
        for r in conn.execute(_WHERE_NOW, {"k_ids": [p.message_id for p in items]})
    }
    out = []
    for item in items:
        r = now.get(item.message_id)
        if r is None:
            continue
        out.append(
            replace(
                item,
                conversation_id=int(r.conversation_id),
                customer_id=int(r.customer_id),
                attributes=dict(r.attributes or {}),
            )
        )
    return out


_STILL = select(pending_decisions.c.message_id).where(
    pending_decisions.c.message_id.in_(bindparam("k_ids", expanding=True))
)


def still_pending(conn: Connection, message_ids: Sequence[int]) -> set[int]:
    """Which of `message_ids` are still waiting for a decision."""
    if not message_ids:
        return set()
    return {int(i) for i in conn.execute(_STILL, {"k_ids": list(message_ids)}).scalars()}


def claim(conn: Connection, limit: int) -> list[Pending]:
    """PostgreSQL: the oldest pending messages of customers no other decider holds, their
    customers locked until this transaction ends. Every message of a claimed customer that
    is older than the last one returned is returned too (ids are in arrival order, and a
    customer is claimed whole within the scanned window)."""
    scanned = oldest(conn, limit)
    mine: dict[int, bool] = {}
    for item in scanned:
        if item.customer_id not in mine:
            mine[item.customer_id] = bool(
                conn.execute(_TRY_LOCK, {"key": item.customer_id % 2_147_483_647}).scalar_one()
            )
    claimed = [item for item in scanned if mine[item.customer_id]]
    if not claimed:
        return []
    # Read them again now that they are locked: a decider that held them until a moment
    # ago may have decided some, or a merge moved a conversation.
    return [
        item for item in these(conn, [p.message_id for p in claimed]) if mine.get(item.customer_id)
    ]


def _pending(r: Any) -> Pending:
    stored: dict[str, Any] = r["message"] or {}
    sender: dict[str, Any] = stored.get("sender") or {}
    message = InboundMessage(
        wamid=r["wamid"],
        phone_number_id=stored.get("phone_number_id") or "",
        sender=Sender(
            wa_id=sender.get("wa_id"),
            user_id=sender.get("user_id"),
            parent_user_id=sender.get("parent_user_id"),
            profile_name=sender.get("profile_name"),
            username=sender.get("username"),
        ),
        sent_at=r["sent_at"],
        type=r["type"],
        text=r["text"],
        reply_id=stored.get("reply_id"),
        context_id=stored.get("context_id"),
        forwarded=bool(stored.get("forwarded")),
        referral=stored.get("referral"),
        errors=tuple(
            ApiError(
                int(e.get("code", 0)),
                e.get("title", ""),
                e.get("message", ""),
                e.get("details", ""),
            )
            for e in stored.get("errors") or ()
        ),
        payload=r["payload"] or {},
        target_id=stored.get("target_id"),
        media_id=stored.get("media_id"),
    )
    return Pending(
        message_id=int(r["message_id"]),
        conversation_id=int(r["conversation_id"]),
        customer_id=int(r["customer_id"]),
        received_at=r["received_at"],
        message=message,
        attributes=dict(r["attributes"] or {}),
    )
