"""Read models for the API: a conversation with its customer, messages and decisions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    messages,
    users,
)
from relaydesk.domain.channel import DeliveryStatus
from relaydesk.domain.conversation import window_expires_at


def find_for_customer(conn: Connection, customer: str) -> list[dict[str, Any]]:
    """Conversations of the customer with this wa_id or BSUID, newest first."""
    ids = conn.execute(
        select(conversations.c.id)
        .join(customers, customers.c.id == conversations.c.customer_id)
        .where(or_(customers.c.wa_id == customer, customers.c.user_id == customer))
        .order_by(conversations.c.id.desc())
    ).scalars()
    return [c for i in ids if (c := get(conn, i)) is not None]


def get(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(
            conversations,
            customers.c.wa_id,
            customers.c.user_id,
            customers.c.profile_name,
            users.c.email.label("assignee_email"),
            users.c.name.label("assignee_name"),
        )
        .join(customers, customers.c.id == conversations.c.customer_id)
        .outerjoin(users, users.c.id == conversations.c.assignee_id)
        .where(conversations.c.id == conversation_id)
    ).first()
    if row is None:
        return None
    expires = window_expires_at(row.last_inbound_at)
    return {
        "id": row.id,
        "customer": {"wa_id": row.wa_id, "user_id": row.user_id, "name": row.profile_name},
        "phone_number_id": row.phone_number_id,
        "status": row.status,
        "queue": row.queue,
        "tier": row.tier,
        "priority": row.priority,
        "assignee": (
            {"id": row.assignee_id, "email": row.assignee_email, "name": row.assignee_name}
            if row.assignee_id
            else None
        ),
        "window_expires_at": expires,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "messages": [_message(m) for m in _messages(conn, conversation_id)],
        "decisions": [_decision(d) for d in _decisions(conn, conversation_id)],
    }


def _messages(conn: Connection, conversation_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.id)
        )
    )


def _decisions(conn: Connection, conversation_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(decisions)
            .where(decisions.c.conversation_id == conversation_id)
            .order_by(decisions.c.id)
        )
    )


def _message(row: Any) -> dict[str, Any]:
    if row.direction == "in":
        status = "received"
    else:
        status = DeliveryStatus(row.status or 0).wire
    error = (
        {"code": row.error_code, "detail": row.error_detail}
        if row.error_code is not None or row.error_detail
        else None
    )
    return {
        "id": row.id,
        "direction": row.direction,
        "type": row.type,
        "text": row.text,
        "status": status,
        "wamid": row.wamid,
        "error": error,
        "created_at": row.sent_at,
    }


def _decision(row: Any) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "action": row.action,
        "intent": row.intent,
        "confidence": row.confidence,
        "triggers": row.triggers,
        "policy_version": row.policy_version,
        "detail": row.detail,
        "created_at": row.created_at,
    }
