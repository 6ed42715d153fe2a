"""Read models for the API and the console: a conversation with its customer, messages and
decisions, and the handoff card. The lists (my conversations, the waiting queue, queue and
SLA overviews, agents' load, the rewrite rate) live in `services.queues` and are
re-exported here, so callers find every read model in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from relaydesk.adapters.storage import conversations as store
from relaydesk.adapters.storage import drafts as drafts_store
from relaydesk.adapters.storage.conversations import Decision, Message
from relaydesk.adapters.whatsapp.errors import describe
from relaydesk.brief.schema import Brief
from relaydesk.domain import desk, permissions
from relaydesk.domain.channel import DeliveryStatus
from relaydesk.domain.conversation import ConversationStatus, window_expires_at
from relaydesk.domain.decision import Action
from relaydesk.domain.dialogue import DialogueState
from relaydesk.nlu import entities
from relaydesk.services.accounts import User
from relaydesk.services.queues import (
    agents_overview,
    my_conversations,
    queue_overview,
    rewrite_stats,
    sla_out,
    sla_reports_for,
    sla_risk,
    waiting,
)

QUEUED = ConversationStatus.QUEUED.value

__all__ = [
    "MAX_PAGE",
    "PAGE",
    "agents_overview",
    "decisions_page",
    "find_for_customer",
    "get",
    "handoff_card",
    "may_see",
    "messages_page",
    "my_conversations",
    "queue_overview",
    "rewrite_stats",
    "sla_risk",
    "visibility_of",
    "visible",
    "waiting",
]


#: Items per page when the caller names no limit, and the most a page may hold.
PAGE = 100
MAX_PAGE = 500


def visible(user: User, status: str, assignee_id: int | None) -> bool:
    """The one visibility rule, for the API and the console alike: agents see the
    conversations waiting in the queues and those assigned to them; supervisors and admins
    see every conversation."""
    return (
        permissions.can(user.role, permissions.Action.CONVERSATIONS_READ_ANY)
        or status == QUEUED
        or assignee_id == user.id
    )


def may_see(user: User, conversation: Mapping[str, Any]) -> bool:
    """`visible` for a read model (`get` or `handoff_card`) with `status` and `assignee`."""
    assignee = conversation["assignee"]
    return visible(user, conversation["status"], assignee["id"] if assignee else None)


def find_for_customer(
    conn: Connection,
    customer: str,
    viewer: User | None = None,
    *,
    limit: int | None = None,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Conversations of the customer with this wa_id or BSUID, newest first: those the
    viewer may see (all when no viewer is named), at most `limit` of them, with ids below
    `before`."""
    rows = store.for_customer(conn, customer, before=before)
    ids = [r.id for r in rows if viewer is None or visible(viewer, r.status, r.assignee_id)]
    return [c for i in ids[:limit] if (c := get(conn, i)) is not None]


def get(conn: Connection, conversation_id: int, *, limit: int = PAGE) -> dict[str, Any] | None:
    """The conversation with its customer, its newest `limit` messages and decisions
    (oldest first) and, where there are older ones, the cursors to page back to them
    (`messages_before`, `decisions_before`). None when there is no such conversation."""
    row = store.conversation(conn, conversation_id)
    if row is None:
        return None
    expires = window_expires_at(row.last_inbound_at)
    shown_messages, messages_before = messages_page(conn, conversation_id, limit=limit)
    shown_decisions, decisions_before = decisions_page(conn, conversation_id, limit=limit)
    return {
        "id": row.id,
        "customer": {
            "id": row.customer_id,
            "wa_id": row.wa_id,
            "user_id": row.user_id,
            "name": row.profile_name,
        },
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
        "messages": shown_messages,
        "messages_before": messages_before,
        "decisions": shown_decisions,
        "decisions_before": decisions_before,
    }


def visibility_of(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    """What `may_see` needs of a conversation (its status and assignee); None when there
    is no such conversation."""
    row = store.visibility(conn, conversation_id)
    if row is None:
        return None
    assignee = {"id": row.assignee_id} if row.assignee_id is not None else None
    return {"status": row.status, "assignee": assignee}


def messages_page(
    conn: Connection, conversation_id: int, *, limit: int = PAGE, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The newest `limit` messages with ids below `before`, oldest first, and the cursor
    for the page before them (None when these are the first)."""
    rows, older = store.messages_page(conn, conversation_id, limit=limit, before=before)
    return [_message(m) for m in rows], older


def decisions_page(
    conn: Connection, conversation_id: int, *, limit: int = PAGE, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """As `messages_page`, for the decisions (with their reasons)."""
    rows, older = store.decisions_page(conn, conversation_id, limit=limit, before=before)
    return [_decision(d) for d in rows], older


def _message(row: Message) -> dict[str, Any]:
    if row.direction == "in":
        status = "received"
    else:
        status = DeliveryStatus(row.status or 0).wire
    error = (
        {"code": row.error_code, "reason": describe(row.error_code), "detail": row.error_detail}
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


def _decision(row: Decision) -> dict[str, Any]:
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


# --- the handoff card ------------------------------------------------------------------


def handoff_card(
    conn: Connection,
    conversation_id: int,
    brief: Brief,
    now: datetime,
    *,
    limit: int = PAGE,
    before: int | None = None,
) -> dict[str, Any] | None:
    """What an agent needs to pick a conversation up without asking the customer to
    repeat themselves: why it escalated (triggers with scores and thresholds), the intent
    and confidence, the sentiment trend, collected data, the transcript, what the bot
    already tried, a suggested next step and first reply, notes, feedback and SLA clocks.
    The transcript is the newest `limit` messages with ids below `before` (oldest first);
    `transcript_before` pages back from it. None when there is no such conversation."""
    row = store.conversation(conn, conversation_id)
    if row is None:
        return None
    escalation = store.latest_decision(conn, conversation_id, Action.ESCALATE.value)
    transcript, transcript_before = _transcript(
        conn, conversation_id, row.profile_name, limit, before
    )
    triggers: list[dict[str, Any]] = list(escalation.triggers) if escalation else []
    fired = [t for t in triggers if t.get("escalates", True)]
    types = [str(t["type"]) for t in fired]
    intent_name = escalation.intent if escalation else None
    intent = _intent(brief, intent_name, escalation.confidence if escalation else None)
    collected = _collected(store.customer_texts(conn, conversation_id), brief)
    dialogue = DialogueState.from_json(row.dialogue)
    trend = desk.sentiment_trend([(t.sentiment, t.frustration) for t in dialogue.turns])
    detail = dict(escalation.detail) if escalation else {}
    tried = [str(t) for t in detail.get("tried", dialogue.tried) if t != "escalated"]
    title = intent["title"] if intent else None
    sla = sla_reports_for(conn, brief, now, [conversation_id]).get(conversation_id)
    # The bot's own answer, where it drafted one that was not sent (draft mode), is a
    # better start than a greeting.
    bot_draft = drafts_store.latest_unsent_text(conn, conversation_id)
    return {
        "id": row.id,
        "status": row.status,
        "queue": row.queue,
        "tier": row.tier,
        "priority": row.priority,
        "language": row.language,
        "customer": {
            "name": row.profile_name,
            "wa_id": row.wa_id,
            "user_id": row.user_id,
            "attributes": dict(row.attributes),
        },
        "assignee": (
            {"id": row.assignee_id, "name": row.assignee_name, "email": row.assignee_email}
            if row.assignee_id
            else None
        ),
        "escalated_at": row.escalated_at or (escalation.created_at if escalation else None),
        "window_expires_at": window_expires_at(row.last_inbound_at),
        "reason": "; ".join(str(t["detail"]) for t in fired) or None,
        "triggers": triggers,
        "intent": intent,
        "policy_version": escalation.policy_version if escalation else None,
        "sentiment": {
            "values": list(trend.values),
            "current": trend.current,
            "direction": trend.direction,
            "frustration": trend.frustration,
        },
        "collected": collected,
        "transcript": transcript,
        "transcript_before": transcript_before,
        "bot_tried": tried,
        "next_step": desk.next_step(types, title, collected),
        "suggested_reply": bot_draft
        or desk.suggested_reply(
            row.profile_name,
            brief.business.name,
            types,
            None if intent_name in desk.CONVERSATIONAL_INTENTS else title,
            collected["order_numbers"],
            row.language,
        ),
        "suggested_reply_source": "bot_draft" if bot_draft else "greeting",
        "canned_responses": canned_responses(brief, row.profile_name),
        "notes": _notes(conn, conversation_id),
        "feedback": (
            {
                "verdict": row.feedback,
                "tags": list(row.failure_tags),
                "by": row.feedback_by,
                "at": row.feedback_at,
            }
            if row.feedback
            else None
        ),
        "failure_tags": list(row.failure_tags),
        "csat": {"state": row.csat_state, "rating": row.csat_rating, "at": row.csat_at},
        "sla": sla_out(sla) if sla is not None else None,
    }


def _intent(brief: Brief, name: str | None, confidence: float | None) -> dict[str, Any] | None:
    if name is None:
        return None
    known = brief.intents.get(name)
    return {
        "name": name,
        "title": (known.title if known else None) or name.replace("_", " ").capitalize(),
        "confidence": confidence,
        "threshold": brief.confidence_threshold(name) if known else None,
    }


def _transcript(
    conn: Connection,
    conversation_id: int,
    customer_name: str | None,
    limit: int,
    before: int | None,
) -> tuple[list[dict[str, Any]], int | None]:
    rows, older = store.messages_page(conn, conversation_id, limit=limit, before=before)
    out = []
    for m in rows:
        if m.direction == "in":
            author, role = customer_name or "Customer", "customer"
        elif m.author_id is not None or m.author_name:
            author, role = m.author_name or "Agent", "agent"
        else:
            author, role = "Bot", "bot"
        out.append({**_message(m), "author": author, "author_role": role})
    return out, older


def _collected(texts: Sequence[str], brief: Brief) -> dict[str, list[str]]:
    """Entities the customer gave: order numbers, emails, amounts, phone numbers (masked)."""
    found: dict[str, dict[str, None]] = {k: {} for k in ("order_numbers", "emails", "amounts")}
    phones: dict[str, None] = {}
    patterns = tuple(brief.nlu.order_patterns) or entities.DEFAULT_ORDER_PATTERNS
    for text in texts:
        got = entities.extract(text, patterns)
        found["order_numbers"].update(dict.fromkeys(got.order_numbers))
        found["emails"].update(dict.fromkeys(got.emails))
        found["amounts"].update(dict.fromkeys(m.text for m in got.money))
        phones.update(dict.fromkeys(desk.mask_phone(p) for p in got.phones))
    return {**{k: list(v) for k, v in found.items()}, "phones": list(phones)}


def _notes(conn: Connection, conversation_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "author_id": n.author_id,
            "author": n.author_name,
            "body": n.body,
            "created_at": n.created_at,
        }
        for n in store.notes_of(conn, conversation_id)
    ]


def canned_responses(brief: Brief, customer_name: str | None) -> list[dict[str, str]]:
    """The brief's canned responses, filled in for this customer (first name, as the
    suggested reply greets them)."""
    first_name = (customer_name or "").strip().split(" ")[0] or "there"
    values = {"customer_name": first_name, "business": brief.business.name}
    return [
        {"name": name, "title": canned.title, "text": canned.text.format_map(values)}
        for name, canned in brief.canned_responses.items()
    ]
