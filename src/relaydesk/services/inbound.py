"""Webhook ingestion: store and dedupe, committed before the ack; deciding comes after.

The acknowledgement waits only for the durable insert: the customer, the conversation the
message belongs to, the message, the raw body, and a `pending_decisions` row that hands the
message to the decision stage (`services.decisions`), which understands, decides and
enqueues replies off the request path. Delivery statuses, identity changes and taps on a
CSAT button (no model involved) are applied here.

Nothing is acknowledged to WhatsApp before its transaction commits; a duplicate webhook
(retries, several subscribed apps, concurrent deliveries) finds the wamid already stored
through the database's unique constraint and changes nothing. Webhooks that arrive together
are committed together (`ingest_batch`), which is what lets one process keep up with a busy
number; a batch that fails is retried webhook by webhook, so one bad webhook cannot hold
back the others. A webhook that fails for what it contains (a value the database refuses)
is retried event by event, each in a SAVEPOINT: the events that fail are skipped and logged
(`webhook_item_skipped`), the rest and the raw body are stored, and the webhook is
acknowledged. Only a database that is unavailable, or a race still lost after
`TRANSIENT_RETRIES`, makes a webhook fail (and WhatsApp redeliver it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import pending as pending_store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.errors import Failure, RaceLost, classify
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.adapters.whatsapp.webhook import ParsedWebhook
from relaydesk.brief.schema import Brief
from relaydesk.domain import handoff
from relaydesk.domain.channel import (
    IdentityChange,
    Ignored,
    InboundMessage,
    StatusUpdate,
    WebhookEvent,
)
from relaydesk.domain.outbound import OutboundContent
from relaydesk.observability import Metrics
from relaydesk.services._ingest_rows import (
    Batch,
    Counts,
    decision_row,
    outbox_row,
    readable_text,
    record_merge,
    short,
)
from relaydesk.services.handoff import csat_reply

__all__ = ["InboundService", "IngestResult", "Webhook", "outbox_row", "readable_text"]

log = structlog.get_logger(__name__)

#: Records, inside the transaction that stores them, that the webhooks from the first to
#: the last given were moved out of the intake file (`services.intake`); raises to roll
#: the transaction back when another worker moved them meanwhile.
Record = Callable[[Connection, "Webhook", "Webhook"], None]


@dataclass(frozen=True, slots=True)
class Webhook:
    """A verified, parsed webhook waiting to be committed."""

    body: bytes
    parsed: ParsedWebhook
    received_at: datetime
    intake_id: int | None = None  #: where it waited in the intake file (`services.intake`)


@dataclass(frozen=True, slots=True)
class IngestResult:
    events: int
    new_messages: int
    duplicates: int
    statuses: int
    replies: int  #: replies enqueued at once (the thanks for a CSAT answer); the bot's come later
    skipped: int = 0  #: events not stored because the database refused their content


class InboundService:
    def __init__(
        self,
        db: Database,
        brief: Brief,
        metrics: Metrics,
        *,
        on_outbound: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        on_pending: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._brief = brief
        self._metrics = metrics
        self._on_outbound = on_outbound
        self._on_event = on_event
        #: wakes the decision stage (`DecisionStage.wake.set`) after a commit with new messages
        self.on_pending = on_pending

    def ingest(self, body: bytes, parsed: ParsedWebhook, now: datetime) -> IngestResult:
        """Commit one webhook, skipping the events the database refuses (`skipped`). Raises
        when storage is unavailable or a race was lost repeatedly (the caller answers 503 so
        that Meta retries)."""
        (result,) = self.ingest_batch([Webhook(body, parsed, now)])
        if isinstance(result, BaseException):
            raise result
        return result

    def ingest_batch(self, webhooks: Sequence[Webhook]) -> list[IngestResult | Exception]:
        """Commit webhooks in one transaction; on failure, each on its own, so only the
        failing ones get an error (and Meta retries only those). An error is returned only
        when storage is unavailable or a race was lost `TRANSIENT_RETRIES` times."""
        started = time.thread_time()
        try:
            return self._ingest_batch(webhooks)
        finally:
            self._metrics.stage_cpu.labels("store").inc(time.thread_time() - started)

    def _ingest_batch(self, webhooks: Sequence[Webhook]) -> list[IngestResult | Exception]:
        if len(webhooks) == 1:
            return [self._ingest_one(webhooks[0])]
        try:
            return list(self._commit(webhooks))
        except Exception as error:
            failure = classify(error)
            if failure is Failure.UNAVAILABLE:
                log.warning(
                    "webhook_store_failed", error=type(error).__name__, webhooks=len(webhooks)
                )
                return [error] * len(webhooks)
            log.info("webhook_batch_split", size=len(webhooks), error=type(error).__name__)
            return [self._ingest_one(webhook) for webhook in webhooks]

    def move(self, webhooks: Sequence[Webhook], record: Record) -> int:
        """Commit webhooks taken from the intake file, in their order; `record(conn, first,
        last)` runs in the transaction that stores them (the intake's progress, so that each
        is moved exactly once). Together when they can be, else one
        by one; a webhook the database refuses even event by event is dropped (logged, the
        progress recorded past it). Returns how many are done: it stops at the first that
        storage could not take (unavailable) or another worker moved (`RaceLost` from
        `record`), which stays in the intake for the next try."""
        started = time.thread_time()
        try:
            return self._move(webhooks, record)
        finally:
            self._metrics.stage_cpu.labels("store").inc(time.thread_time() - started)

    def _move(self, webhooks: Sequence[Webhook], record: Record) -> int:
        try:
            self._commit(webhooks, urgent=False, record=record)
            return len(webhooks)
        except RaceLost:
            log.info("intake_moved_elsewhere", webhooks=len(webhooks))
            return 0
        except Exception as error:
            if classify(error) is Failure.UNAVAILABLE:
                log.warning(
                    "intake_move_failed", error=type(error).__name__, webhooks=len(webhooks)
                )
                return 0
            log.info("webhook_batch_split", size=len(webhooks), error=type(error).__name__)
        for done, webhook in enumerate(webhooks):
            result = self._ingest_one(webhook, urgent=False, record=record)
            if not isinstance(result, Exception):
                continue
            if classify(result) is not Failure.PERMANENT:
                return done
            try:
                with self._db.write() as conn:
                    record(conn, webhook, webhook)
            except Exception as error:
                log.warning("intake_move_failed", error=type(error).__name__, webhooks=1)
                return done
            log.error("intake_webhook_dropped", intake_id=webhook.intake_id)
        return len(webhooks)

    def _ingest_one(
        self, webhook: Webhook, *, urgent: bool = True, record: Record | None = None
    ) -> IngestResult | Exception:
        """One webhook: retried whole after a lost race, event by event after a refusal."""
        isolate = False
        attempt = 0
        while True:
            try:
                (result,) = self._commit([webhook], isolate=isolate, urgent=urgent, record=record)
                return result
            except Exception as error:
                failure = classify(error)
                if failure is Failure.TRANSIENT and attempt < TRANSIENT_RETRIES:
                    attempt += 1
                    continue
                if failure is Failure.PERMANENT and not isolate:
                    log.info("webhook_isolating_events", error=type(error).__name__)
                    isolate = True
                    continue
                if failure is Failure.PERMANENT:
                    log.error("webhook_processing_failed", error=type(error).__name__)
                    log.debug("webhook_processing_failed_detail", exc_info=error)
                else:
                    log.warning("webhook_store_failed", error=type(error).__name__)
                return error

    def _commit(
        self,
        webhooks: Sequence[Webhook],
        *,
        isolate: bool = False,
        urgent: bool = True,
        record: Record | None = None,
    ) -> list[IngestResult]:
        """`urgent`: a request waits for this commit (the webhook path; the intake's move
        does not)."""
        batch = Batch()
        # Customers' rows are locked in one order by every writer, so two concurrent
        # batches cannot deadlock on them (a webhook's own order is kept).
        order = sorted(range(len(webhooks)), key=lambda i: _lock_key(webhooks[i]))
        results: list[IngestResult | None] = [None] * len(webhooks)
        with self._db.write(urgent=urgent) as conn:
            for index in order:
                results[index] = self._webhook(conn, batch, webhooks[index], isolate=isolate)
            repo.save_raw_webhooks(conn, batch.raw)
            repo.record_decisions(conn, batch.decisions)
            repo.insert_outbox_rows(conn, batch.outbox)
            pending_store.add(conn, batch.pending)
            if record is not None:
                record(conn, webhooks[0], webhooks[-1])
        done = [r for r in results if r is not None]
        self._committed(batch, webhooks, done)
        return done

    def _committed(
        self, batch: Batch, webhooks: Sequence[Webhook], results: Sequence[IngestResult]
    ) -> None:
        """Metrics and logs once the data is safe; then wake the outbox worker, and the
        event hub when there are events (`on_event`, e.g. `EventHub.wake`)."""
        for webhook in webhooks:
            for warning in webhook.parsed.warnings:
                log.info("webhook_warning", warning=warning)
        self._metrics.messages.labels("in", "new").inc(sum(r.new_messages for r in results))
        self._metrics.messages.labels("in", "duplicate").inc(sum(r.duplicates for r in results))
        for action in batch.actions:
            self._metrics.decisions.labels(action).inc()
        for status, applied in batch.statuses:
            self._metrics.statuses.labels(status, "applied" if applied else "duplicate").inc()
        if batch.outbox or batch.flushed:
            self._on_outbound()
        if batch.events:
            self._on_event()
        if batch.pending or batch.flushed_pending:
            self.on_pending()

    def _webhook(
        self, conn: Connection, batch: Batch, webhook: Webhook, *, isolate: bool
    ) -> IngestResult:
        now = webhook.received_at
        events = webhook.parsed.events
        batch.raw.append({"received_at": now, "body": webhook.body, "events": len(events)})
        counts = Counts()
        for event in events:
            if not isolate:
                self._event(conn, batch, counts, event, now)
                continue
            item, item_counts = Batch(), Counts()
            try:
                with conn.begin_nested():
                    self._event(conn, item, item_counts, event, now)
                    repo.record_decisions(conn, item.decisions)
                    repo.insert_outbox_rows(conn, item.outbox)
                    pending_store.add(conn, item.pending)
            except Exception as error:
                if classify(error) is not Failure.PERMANENT:
                    raise
                counts.skipped += 1
                log.warning(
                    "webhook_item_skipped",
                    kind=type(event).__name__,
                    wamid=short(getattr(event, "wamid", None)),
                    error=type(error).__name__,
                )
                continue
            batch.absorb(item)
            counts.add(item_counts)
        return IngestResult(
            len(events),
            counts.new,
            counts.duplicates,
            counts.statuses,
            counts.replies,
            counts.skipped,
        )

    def _event(
        self, conn: Connection, batch: Batch, counts: Counts, event: WebhookEvent, now: datetime
    ) -> None:
        if isinstance(event, InboundMessage):
            sent = self._inbound(conn, batch, event, now)
            if sent is None:
                counts.duplicates += 1
            else:
                counts.new += 1
                counts.replies += sent
        elif isinstance(event, StatusUpdate):
            counts.statuses += 1
            batch.statuses.append((event.status.wire, repo.record_status(conn, event, now)))
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

    def _inbound(
        self, conn: Connection, batch: Batch, message: InboundMessage, now: datetime
    ) -> int | None:
        """Store one message for the decision stage; None for a duplicate, else how many
        replies were enqueued now (only a CSAT answer's thanks)."""
        customer = repo.lock_customer(conn, message.sender, now, wamid=message.wamid)
        if customer.merge is not None:
            batch.events += record_merge(conn, customer.merge, now)
        if handoff.is_csat(message.reply_id):
            return self._csat_reply(conn, batch, customer.id, message, now)
        state = repo.open_conversation(conn, customer.id, message.phone_number_id, now)
        message_id = repo.insert_inbound(conn, state.id, message, now)
        if message_id is None:
            log.info("inbound_duplicate", wamid=message.wamid)
            return None
        batch.pending.append(pending_store.row(message_id, message, now))
        return 0

    def _reply(
        self,
        conn: Connection,
        batch: Batch,
        conversation_id: int,
        message: InboundMessage,
        replies: Sequence[OutboundContent],
        now: datetime,
    ) -> None:
        recipient = Recipient(wa_id=message.sender.wa_id, user_id=message.sender.user_id)
        for reply in replies:
            batch.outbox.append(
                outbox_row(
                    conn,
                    conversation_id=conversation_id,
                    phone_number_id=message.phone_number_id,
                    recipient=recipient,
                    content=reply,
                    reply_to=None,
                    now=now,
                )
            )

    def _csat_reply(
        self,
        conn: Connection,
        batch: Batch,
        customer_id: int,
        message: InboundMessage,
        now: datetime,
    ) -> int | None:
        """A tap on a CSAT button (see `services.handoff.csat_reply`); None: a duplicate."""
        answer = csat_reply(conn, self._brief, customer_id, message, now)
        if answer is None:
            log.info("inbound_duplicate", wamid=message.wamid)
            return None
        decision = answer.decision
        batch.events += answer.events
        batch.actions.append(decision.action.value)
        batch.decisions.append(
            decision_row(answer.conversation_id, answer.message_id, decision, now)
        )
        self._reply(conn, batch, answer.conversation_id, message, decision.replies, now)
        return len(decision.replies)


#: A webhook that lost a deadlock or serialisation race is simply run again.
TRANSIENT_RETRIES = 3


def _lock_key(webhook: Webhook) -> str:
    for event in webhook.parsed.events:
        if isinstance(event, InboundMessage):
            return event.sender.wa_id or event.sender.user_id or ""
    return ""
