"""Queries: rows in, plain values out. Every function takes the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from relaydesk.adapters.storage import integration_outbox
from relaydesk.adapters.storage.customers import (
    CustomerLanguage,
    CustomerRef,
    Merge,
    lock_customer,
    upsert_customer,
)
from relaydesk.adapters.storage.rollout import Arriving
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    identity_changes,
    messages,
    outbox,
    raw_webhooks,
    status_events,
)
from relaydesk.adapters.storage.timers import AGENT_REPLY
from relaydesk.domain.channel import (
    DeliveryStatus,
    IdentityChange,
    InboundMessage,
    StatusUpdate,
    advances,
)
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.dialogue import DialogueState

__all__ = ["CustomerRef", "Merge", "lock_customer", "upsert_customer"]  # re-exported


def _insert(conn: Connection, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# Statements on the per-message path are built once: SQLAlchemy then only binds parameters
# (building a statement per call cost more than running it).
_B = bindparam
_OPEN_CONVERSATION = select(conversations).where(
    conversations.c.customer_id == _B("k_customer"),
    conversations.c.status != ConversationStatus.RESOLVED.value,
)
_INSERT_CONVERSATION = conversations.insert().returning(conversations.c.id)
_FINISH_INBOUND = (
    update(conversations)
    .where(conversations.c.id == _B("k_id"))
    .values(
        last_inbound_at=_B("k_last"),
        updated_at=_B("k_now"),
        dialogue=_B("k_dialogue", type_=conversations.c.dialogue.type),
        queued_at=func.coalesce(
            _B("k_queued", type_=conversations.c.queued_at.type), conversations.c.queued_at
        ),
        status=_B("k_status"),
        queue=_B("k_queue"),
        tier=_B("k_tier"),
        priority=_B("k_priority"),
    )
)
# The same UPDATE when the message escalates: a new SLA cycle starts (a conversation
# handed back to the bot and escalated again is a new handoff, so what was acted on
# before is forgotten), the ladder timeout counts from now, the worker looks again now,
# and the customer's language is kept when this message showed it.
_AT = conversations.c.escalated_at.type
_FINISH_ESCALATED = _FINISH_INBOUND.values(
    escalated_at=_B("k_at", type_=_AT),
    sla_handled=None,
    entered_queue_at=_B("k_at", type_=_AT),
    timer_at=_B("k_at", type_=_AT),
    language=func.coalesce(
        _B("k_language", type_=conversations.c.language.type), conversations.c.language
    ),
)
# ... and when the customer calls a pending handoff off: no timer is due any more.
_FINISH_CANCELLED = _FINISH_INBOUND.values(timer_at=None)
# ... and a customer message to people waiting or working on it: once an agent has
# replied in this handoff, the message starts a next-response cycle and resumes the
# resolution clock, so the worker must look at it now. Before any agent reply it moves
# no clock (domain.sla_clock: first response and resolution run from the escalation), so
# the timer already set stands: a customer writing "hello?" while waiting in a queue
# costs no timer round.
_AGENT_REPLIED = exists().where(
    messages.c.conversation_id == conversations.c.id,
    AGENT_REPLY,
    messages.c.created_at >= func.coalesce(conversations.c.escalated_at, conversations.c.queued_at),
)
_FINISH_OWNED = _FINISH_INBOUND.values(
    timer_at=case((_AGENT_REPLIED, _B("k_at", type_=_AT)), else_=conversations.c.timer_at)
)
_INSERT_OUTBOUND = messages.insert().returning(messages.c.id)
_INSERT_INBOUND = {
    dialect.name: insert_(messages)
    .on_conflict_do_nothing(index_elements=["wamid"])
    .returning(messages.c.id)
    for dialect, insert_ in (
        (postgresql.dialect, postgresql.insert),
        (sqlite.dialect, sqlite.insert),
    )
}


def save_raw_webhooks(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many raw bodies in one round trip: rows of {received_at, body, events}."""
    if rows:
        conn.execute(raw_webhooks.insert(), rows)


def purge_raw_webhooks(conn: Connection, older_than: datetime) -> int:
    result = conn.execute(raw_webhooks.delete().where(raw_webhooks.c.received_at < older_than))
    return result.rowcount


# --- customers -------------------------------------------------------------------------


def apply_identity_change(conn: Connection, change: IdentityChange, now: datetime) -> bool:
    """Record a number/BSUID change and re-key the customer. False when already seen."""
    old = [
        c
        for c in (
            customers.c.wa_id == change.old_wa_id if change.old_wa_id else None,
            customers.c.user_id == change.old_user_id if change.old_user_id else None,
        )
        if c is not None
    ]
    if not old:
        return False
    row = conn.execute(select(customers.c.id).where(or_(*old)).limit(1)).first()
    if row is None:
        return False
    inserted = conn.execute(
        _insert(conn, identity_changes)
        .values(
            customer_id=row.id,
            wamid=change.wamid,
            kind=change.kind,
            old_wa_id=change.old_wa_id,
            new_wa_id=change.new_wa_id,
            old_user_id=change.old_user_id,
            new_user_id=change.new_user_id,
            at=change.at,
        )
        .on_conflict_do_nothing()
        .returning(identity_changes.c.id)
    ).first()
    if inserted is None:
        return False
    values: dict[str, Any] = {"updated_at": now}
    if change.new_wa_id:
        values["wa_id"] = change.new_wa_id
    if change.new_user_id:
        values["user_id"] = change.new_user_id
    clashes = [
        column == values[name]
        for name, column in (("wa_id", customers.c.wa_id), ("user_id", customers.c.user_id))
        if name in values
    ]
    if clashes:
        taken = conn.execute(
            select(customers.c.id).where(customers.c.id != row.id, or_(*clashes))
        ).first()
        if taken is None:
            conn.execute(update(customers).where(customers.c.id == row.id).values(**values))
    return True


# --- conversations ---------------------------------------------------------------------


def open_conversation(
    conn: Connection, customer_id: int, phone_number_id: str, now: datetime
) -> ConversationState:
    """The customer's open conversation, or a new one with the bot."""
    row = conn.execute(_OPEN_CONVERSATION, {"k_customer": customer_id}).first()
    if row is None:
        new_id = conn.execute(
            _INSERT_CONVERSATION,
            {
                "customer_id": customer_id,
                "phone_number_id": phone_number_id,
                "status": ConversationStatus.BOT.value,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        return ConversationState(id=new_id, status=ConversationStatus.BOT, last_inbound_at=None)
    return _state(row._mapping)


_CONVERSATION = select(conversations).where(conversations.c.id == _B("k_id"))


def conversation_state(conn: Connection, conversation_id: int) -> ConversationState:
    """The conversation's state as the decision reads it."""
    return _state(conn.execute(_CONVERSATION, {"k_id": conversation_id}).one()._mapping)


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """What deciding a message in a conversation reads besides the message: the
    conversation's state, its customer's language and its rollout cohort."""

    state: ConversationState
    language: CustomerLanguage
    arriving: Arriving


_CONTEXTS = (
    select(
        conversations,
        customers.c.language.label("k_customer_language"),
        customers.c.language_at.label("k_language_at"),
        customers.c.language_source.label("k_language_source"),
        customers.c.rollout_bucket.label("k_rollout_bucket"),
        customers.c.wa_id.label("k_wa_id"),
        customers.c.user_id.label("k_user_id"),
    )
    .join(customers, customers.c.id == conversations.c.customer_id)
    .where(conversations.c.id.in_(_B("k_ids", expanding=True)))
)


def decision_contexts(
    conn: Connection, conversation_ids: Sequence[int]
) -> dict[int, DecisionContext]:
    """The decision contexts of these conversations in one query (the decision stage
    reads them once per write transaction instead of three queries per message)."""
    if not conversation_ids:
        return {}
    found: dict[int, DecisionContext] = {}
    for row in conn.execute(_CONTEXTS, {"k_ids": sorted(set(conversation_ids))}):
        r = row._mapping
        state = _state(r)
        found[state.id] = DecisionContext(
            state,
            CustomerLanguage(r["k_customer_language"], r["k_language_at"], r["k_language_source"]),
            Arriving(
                r["rollout_cohort"],
                int(r["customer_id"]),
                r["k_rollout_bucket"],
                r["k_wa_id"],
                r["k_user_id"],
            ),
        )
    return found


def _state(row: Any) -> ConversationState:
    return ConversationState(
        id=int(row["id"]),
        status=ConversationStatus(row["status"]),
        last_inbound_at=row["last_inbound_at"],
        queue=row["queue"],
        priority=row["priority"],
        tier=row["tier"],
        dialogue=DialogueState.from_json(row["dialogue"]),
    )


def save_dialogue(conn: Connection, conversation_id: int, dialogue: DialogueState) -> None:
    conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(dialogue=dialogue.as_json())
    )


def set_customer_attributes(
    conn: Connection, customer_id: int, attributes: dict[str, str], now: datetime
) -> None:
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(attributes=attributes, updated_at=now)
    )


def finish_inbound(
    conn: Connection,
    conversation_id: int,
    *,
    last_inbound_at: datetime,
    dialogue: DialogueState,
    status: ConversationStatus,
    queue: str | None,
    tier: int | None,
    priority: str | None,
    now: datetime,
    queued_at: datetime | None = None,
    escalated: bool = False,
    cancelled: bool = False,
    language: str | None = None,
) -> None:
    """One UPDATE after a message: the window (already moved forward by the caller), the
    bot's memory, the status and the route (unchanged values passed as they were), and
    `queued_at` when the conversation has just started waiting for a person. With
    `escalated` also the handoff's clocks: `escalated_at`, `entered_queue_at` and
    `timer_at` now (a new SLA cycle), and `language` when known. With `cancelled` (the
    customer called the handoff off) the timer is cleared; a message to a queued or
    assigned conversation makes its timer due now once an agent has replied since the
    escalation (before that it moves no SLA clock, and the timer set stands)."""
    params: dict[str, Any] = {
        "k_id": conversation_id,
        "k_last": last_inbound_at,
        "k_now": now,
        "k_dialogue": dialogue.as_json(),
        "k_status": status.value,
        "k_queue": queue,
        "k_tier": tier,
        "k_priority": priority,
        "k_queued": queued_at,
    }
    statement = _FINISH_INBOUND
    if escalated:
        statement = _FINISH_ESCALATED
        params.update(k_at=now, k_language=language)
    elif cancelled:
        statement = _FINISH_CANCELLED
    elif status in (ConversationStatus.QUEUED, ConversationStatus.ASSIGNED):
        statement = _FINISH_OWNED
        params["k_at"] = now
    conn.execute(statement, params)


# --- messages --------------------------------------------------------------------------


def insert_inbound(
    conn: Connection, conversation_id: int, message: InboundMessage, now: datetime
) -> int | None:
    """Store an inbound message; None when its wamid was already stored (a duplicate)."""
    return conn.execute(
        _INSERT_INBOUND[conn.dialect.name],
        {
            "conversation_id": conversation_id,
            "direction": "in",
            "wamid": message.wamid,
            "type": message.type,
            "text": message.text,
            "payload": message.payload,
            "sent_at": message.sent_at,
            "created_at": now,
        },
    ).scalar_one_or_none()


def record_decisions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many decisions in one round trip (columns of the `decisions` table)."""
    if rows:
        conn.execute(decisions.insert(), rows)


def insert_outbound_message(
    conn: Connection,
    *,
    conversation_id: int,
    kind: str,
    text: str | None,
    content: dict[str, Any],
    now: datetime,
) -> int:
    row = _outbound_row(
        conversation_id=conversation_id, kind=kind, text=text, content=content, now=now
    )
    return int(conn.execute(_INSERT_OUTBOUND, row).scalar_one())


def _outbound_row(
    *, conversation_id: int, kind: str, text: str | None, content: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The `messages` row of an outbound message waiting to be sent."""
    return {
        "conversation_id": conversation_id,
        "direction": "out",
        "type": kind,
        "text": text,
        "payload": content,
        "status": int(DeliveryStatus.PENDING),
        "sent_at": now,
        "created_at": now,
    }


_INSERT_OUTBOUND_MANY = messages.insert().returning(messages.c.id, sort_by_parameter_order=True)


def insert_outbound_messages(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Many `insert_outbound_message`s (their keyword arguments) in one multi-row INSERT;
    their ids in the order given."""
    if not rows:
        return []
    result = conn.execute(_INSERT_OUTBOUND_MANY, [_outbound_row(**row) for row in rows])
    return [int(i) for i in result.scalars()]


def insert_outbox_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many outbox rows in one round trip (columns of the `outbox` table)."""
    if rows:
        conn.execute(outbox.insert(), rows)


# --- statuses --------------------------------------------------------------------------


def record_status(conn: Connection, update_: StatusUpdate, now: datetime) -> bool:
    """Store a receipt once per (wamid, status) and move the message forward. False for a
    duplicate. A receipt for a message whose wamid we have not recorded yet (the send's
    answer and its first status can cross) is kept and applied when the wamid is recorded."""
    error = update_.errors[0] if update_.errors else None
    inserted = conn.execute(
        _insert(conn, status_events)
        .values(
            wamid=update_.wamid,
            status=update_.status.wire,
            at=update_.at,
            callback_data=update_.callback_data,
            error_code=error.code if error else None,
            error_detail=(error.details or error.message or error.title) if error else None,
            received_at=now,
        )
        .on_conflict_do_nothing()
        .returning(status_events.c.id)
    ).first()
    if inserted is None:
        return False
    advance_message(
        conn,
        update_.wamid,
        update_.status,
        error.code if error else None,
        (error.details or error.message) if error else None,
        now=now,
    )
    return True


def advance_message(
    conn: Connection,
    wamid: str,
    status: DeliveryStatus,
    error_code: int | None = None,
    error_detail: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Move an outgoing message's status forward; a failure is also queued for the
    integrations (`message.failed`)."""
    row = conn.execute(
        select(messages.c.id, messages.c.status, messages.c.conversation_id).where(
            messages.c.wamid == wamid, messages.c.direction == "out"
        )
    ).first()
    if row is None or not advances(DeliveryStatus(row.status or 0), status):
        return
    values: dict[str, Any] = {"status": int(status)}
    if status is DeliveryStatus.FAILED:
        values.update(error_code=error_code, error_detail=error_detail)
    changed = conn.execute(
        update(messages)
        .where(messages.c.id == row.id, or_(messages.c.status.is_(None), messages.c.status < 9))
        .values(**values)
    )
    if status is DeliveryStatus.FAILED and changed.rowcount:
        integration_outbox.message_failed(conn, row.conversation_id, row.id, error_code, now)


def statuses_for_many(conn: Connection, wamids: Sequence[str]) -> list[Any]:
    """Stored receipts for any of these wamids (usually none: receipts follow the send)."""
    if not wamids:
        return []
    return list(
        conn.execute(
            select(status_events)
            .where(status_events.c.wamid.in_(wamids))
            .order_by(status_events.c.id)
        )
    )


def status_by_callback(conn: Connection, callback_data: str) -> str | None:
    """The wamid a status webhook reported for a send we tagged with `callback_data`."""
    return conn.execute(
        select(status_events.c.wamid).where(status_events.c.callback_data == callback_data).limit(1)
    ).scalar_one_or_none()


def outbox_depth(conn: Connection, now: datetime) -> tuple[int, float]:
    """Rows not yet sent and the age in seconds of the oldest."""
    row = conn.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(
            and_(outbox.c.state.in_(("pending", "sending")))
        )
    ).one()
    count, oldest = row
    return int(count), (now - oldest).total_seconds() if oldest else 0.0
