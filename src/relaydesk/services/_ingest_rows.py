"""The rows and counts one ingest or decision transaction gathers, and the helpers that
fill them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.customers import Merge
from relaydesk.adapters.whatsapp.codec import Recipient, content_to_dict
from relaydesk.domain.decision import Decision, Understanding
from relaydesk.domain.outbound import OutboundContent, Template, content_kind
from relaydesk.services import events
from relaydesk.services.events import EventKind

log = structlog.get_logger("relaydesk.services.inbound")


@dataclass
class Batch:
    """Rows written in bulk at the end of the transaction, and counts for metrics."""

    understood: dict[str, Understanding] = field(default_factory=dict)
    raw: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  #: messages to decide on
    actions: list[str] = field(default_factory=list)
    statuses: list[tuple[str, bool]] = field(default_factory=list)
    events: int = 0  #: rows written to the events table (the console wants to know)
    flushed: int = 0  #: outbox rows already inserted event by event (isolated retries)
    flushed_pending: int = 0  #: pending decisions already inserted event by event
    #: replies not stored yet (`reply_rows`), stored together by `insert_replies`
    replies: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def absorb(self, item: Batch) -> None:
        """Take the counts of one event stored on its own (its rows are already written)."""
        self.actions += item.actions
        self.statuses += item.statuses
        self.events += item.events
        self.flushed += len(item.outbox)
        self.flushed_pending += len(item.pending)


@dataclass
class Counts:
    new: int = 0
    duplicates: int = 0
    statuses: int = 0
    replies: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.duplicates += other.duplicates
        self.statuses += other.statuses
        self.replies += other.replies


def decision_row(
    conversation_id: int, message_id: int, decision: Decision, now: datetime
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "action": decision.action.value,
        "intent": decision.intent,
        "confidence": decision.confidence,
        "triggers": [t.as_dict() for t in decision.triggers],
        "policy_version": decision.policy_version,
        "detail": decision.detail,
        "created_at": now,
    }


def record_merge(conn: Connection, merge: Merge, now: datetime) -> int:
    """Log a merge of two customers; the console hears of a conversation it closed."""
    log.info(
        "customers_merged",
        survivor=merge.survivor,
        merged=merge.merged,
        kept_conversation=merge.kept_conversation,
        closed_conversation=merge.closed_conversation,
    )
    if merge.closed_conversation is None:
        return 0
    events.record(
        conn,
        EventKind.RESOLVED,
        now=now,
        conversation_id=merge.closed_conversation,
        detail={"reason": "customers_merged", "into": merge.kept_conversation},
    )
    return 1


def short(value: object, limit: int = 80) -> str | None:
    """A value fit for a log line: a string at most `limit` characters, or None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "..."


def outbox_row(
    conn: Connection,
    *,
    conversation_id: int,
    phone_number_id: str,
    recipient: Recipient,
    content: OutboundContent,
    reply_to: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Store the outbound message now; return its outbox row for a bulk insert."""
    message, entry = reply_rows(
        conversation_id=conversation_id,
        phone_number_id=phone_number_id,
        recipient=recipient,
        content=content,
        reply_to=reply_to,
        now=now,
    )
    entry["message_id"] = repo.insert_outbound_message(conn, **message)
    return entry


def reply_rows(
    *,
    conversation_id: int,
    phone_number_id: str,
    recipient: Recipient,
    content: OutboundContent,
    reply_to: str | None,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The outbound message (the arguments of `repo.insert_outbound_message`) and its
    outbox row, whose `message_id` is filled in when the message is stored
    (`insert_replies`)."""
    stored = content_to_dict(content)
    message = {
        "conversation_id": conversation_id,
        "kind": content_kind(content),
        "text": readable_text(content),
        "content": stored,
        "now": now,
    }
    entry = {
        "message_id": None,
        "conversation_id": conversation_id,
        "phone_number_id": phone_number_id,
        "recipient_wa_id": recipient.wa_id,
        "recipient_user_id": recipient.user_id,
        "content": stored,
        "reply_to": reply_to,
        "state": "pending",
        "next_attempt_at": now,
        "created_at": now,
    }
    return message, entry


def insert_replies(
    conn: Connection, replies: list[tuple[dict[str, Any], dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Store many `reply_rows` at once: the messages in one multi-row INSERT (ids in the
    order given), then their outbox rows in another. Returns the outbox rows."""
    if not replies:
        return []
    ids = repo.insert_outbound_messages(conn, [message for message, _ in replies])
    entries = []
    for (_, entry), message_id in zip(replies, ids, strict=True):
        entries.append({**entry, "message_id": message_id})
    repo.insert_outbox_rows(conn, entries)
    return entries


def readable_text(content: OutboundContent) -> str | None:
    if isinstance(content, Template):
        return f"[template {content.name}] " + " | ".join(content.body_params)
    return content.body
