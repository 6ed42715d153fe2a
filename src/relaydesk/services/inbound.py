"""Webhook ingestion: store, dedupe, decide and enqueue replies in one transaction.

Nothing is acknowledged to WhatsApp before this transaction commits; a duplicate webhook
(retries, several subscribed apps, concurrent deliveries) finds the wamid already stored
through the database's unique constraint and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.whatsapp.codec import Recipient, content_to_dict
from relaydesk.adapters.whatsapp.webhook import ParsedWebhook
from relaydesk.domain.channel import IdentityChange, Ignored, InboundMessage, StatusUpdate
from relaydesk.domain.conversation import ConversationState
from relaydesk.domain.decision import Action, Decision
from relaydesk.domain.outbound import OutboundContent, Template, content_kind
from relaydesk.domain.policy import Outcome
from relaydesk.observability import Metrics

log = structlog.get_logger(__name__)


class DecisionMaker(Protocol):
    """Understanding + policy for one inbound message. Pure apart from model inference."""

    def decide(
        self,
        state: ConversationState,
        message: InboundMessage,
        attributes: Mapping[str, str],
        now: datetime,
    ) -> Outcome: ...

    @property
    def needs_attributes(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    events: int
    new_messages: int
    duplicates: int
    statuses: int
    replies: int


class InboundService:
    def __init__(
        self,
        db: Database,
        decider: DecisionMaker,
        metrics: Metrics,
        *,
        backlog_max_age: timedelta,
        on_outbound: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._decider = decider
        self._metrics = metrics
        self._backlog_max_age = backlog_max_age
        self._on_outbound = on_outbound

    def ingest(self, body: bytes, parsed: ParsedWebhook, now: datetime) -> IngestResult:
        """Commit a verified, parsed webhook. Raises on database errors (the caller answers
        5xx so that Meta retries)."""
        new = dup = statuses = replies = 0
        with self._db.write() as conn:
            repo.save_raw_webhook(conn, body, len(parsed.events), now)
            for event in parsed.events:
                if isinstance(event, InboundMessage):
                    sent = self._inbound(conn, event, now)
                    if sent is None:
                        dup += 1
                    else:
                        new += 1
                        replies += sent
                elif isinstance(event, StatusUpdate):
                    statuses += 1
                    applied = repo.record_status(conn, event, now)
                    self._metrics.statuses.labels(
                        event.status.wire, "applied" if applied else "duplicate"
                    ).inc()
                    if event.errors:
                        log.warning(
                            "delivery_failed",
                            wamid=event.wamid,
                            code=event.errors[0].code,
                            title=event.errors[0].title,
                        )
                elif isinstance(event, IdentityChange):
                    if repo.apply_identity_change(conn, event, now):
                        log.info("customer_identity_changed", kind=event.kind)
                elif isinstance(event, Ignored):
                    log.info(
                        "webhook_event_ignored",
                        reason=event.reason,
                        codes=[e.code for e in event.errors],
                    )
        for warning in parsed.warnings:
            log.info("webhook_warning", warning=warning)
        self._metrics.messages.labels("in", "new").inc(new)
        self._metrics.messages.labels("in", "duplicate").inc(dup)
        if replies:
            self._on_outbound()
        return IngestResult(len(parsed.events), new, dup, statuses, replies)

    def _inbound(self, conn: Connection, message: InboundMessage, now: datetime) -> int | None:
        """Store one message and act on it; None for a duplicate, else replies enqueued."""
        customer_id = repo.upsert_customer(conn, message.sender, now)
        state = repo.open_conversation(conn, customer_id, message.phone_number_id, now)
        message_id = repo.insert_inbound(conn, state.id, message, now)
        if message_id is None:
            log.info("inbound_duplicate", wamid=message.wamid)
            return None
        repo.note_inbound(conn, state.id, message.sent_at, now)
        window_from = max(message.sent_at, state.last_inbound_at or message.sent_at)
        state = replace(state, last_inbound_at=window_from)
        if now - message.sent_at > self._backlog_max_age:
            decision = Decision(
                action=Action.DEFER,
                policy_version="backlog",
                detail={
                    "reason": "backlog",
                    "age_seconds": int((now - message.sent_at).total_seconds()),
                },
            )
        else:
            attributes = (
                repo.customer_attributes(conn, customer_id)
                if self._decider.needs_attributes
                else {}
            )
            outcome = self._decider.decide(state, message, attributes, now)
            decision = outcome.decision
            if outcome.dialogue != state.dialogue:
                repo.save_dialogue(conn, state.id, outcome.dialogue)
        self._apply(conn, state, message, message_id, decision, now)
        return len(decision.replies)

    def _apply(
        self,
        conn: Connection,
        state: ConversationState,
        message: InboundMessage,
        message_id: int,
        decision: Decision,
        now: datetime,
    ) -> None:
        repo.record_decision(
            conn,
            conversation_id=state.id,
            message_id=message_id,
            action=decision.action.value,
            intent=decision.intent,
            confidence=decision.confidence,
            triggers=[t.as_dict() for t in decision.triggers],
            policy_version=decision.policy_version,
            detail=decision.detail,
            now=now,
        )
        self._metrics.decisions.labels(decision.action.value).inc()
        if decision.status_after is not None:
            route = decision.route
            repo.route_conversation(
                conn,
                state.id,
                status=decision.status_after,
                queue=route.queue if route else state.queue,
                tier=route.tier if route else None,
                priority=route.priority if route else state.priority,
                now=now,
            )
        if decision.action is Action.ESCALATE:
            log.info(
                "conversation_escalated",
                conversation_id=state.id,
                queue=decision.route.queue if decision.route else None,
                triggers=[t.type for t in decision.triggers],
            )
        if not decision.replies:
            return
        recipient = Recipient(wa_id=message.sender.wa_id, user_id=message.sender.user_id)
        for reply in decision.replies:
            enqueue_reply(
                conn,
                conversation_id=state.id,
                phone_number_id=message.phone_number_id,
                recipient=recipient,
                content=reply,
                reply_to=None,
                now=now,
            )


def enqueue_reply(
    conn: Connection,
    *,
    conversation_id: int,
    phone_number_id: str,
    recipient: Recipient,
    content: OutboundContent,
    reply_to: str | None,
    now: datetime,
) -> int:
    """Put one outbound message in the outbox (the caller's transaction)."""
    return repo.enqueue_outbound(
        conn,
        conversation_id=conversation_id,
        phone_number_id=phone_number_id,
        recipient=recipient,
        kind=content_kind(content),
        text=readable_text(content),
        content=content_to_dict(content),
        reply_to=reply_to,
        now=now,
    )


def readable_text(content: OutboundContent) -> str | None:
    if isinstance(content, Template):
        return f"[template {content.name}] " + " | ".join(content.body_params)
    return content.body
