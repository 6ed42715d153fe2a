"""The outbox worker: sends what the inbound path committed, exactly once where it can.

Each send is recorded as an attempt (committed) before the HTTP call and tagged with
`biz_opaque_callback_data`, which Meta echoes on status webhooks. A send whose outcome is
unknown (the process died mid-call, or the call timed out) is not repeated until either a
status webhook proves it arrived (then it is done) or `reconcile_after` has passed without
one (then it is sent again: the Send API has no idempotency key, so this is the one case
where the contract leaves a double send possible).

This module is the use case: claim (storage), decide (`domain.delivery`), send (the Graph
client, paced by `SendPacer`), record (storage). The periodic jobs run beside it in
`services.runner`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import outbox as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.whatsapp.client import GraphClient, SendResult
from relaydesk.adapters.whatsapp.codec import Recipient, content_from_dict, content_to_dict
from relaydesk.adapters.whatsapp.errors import GraphError, GraphTransportError
from relaydesk.adapters.whatsapp.limits import ContentLimitError
from relaydesk.adapters.whatsapp.pacing import SendPacer
from relaydesk.domain.delivery import (
    ACCEPTED,
    AMBIGUOUS,
    ERROR,
    Claim,
    Defer,
    DeliveryPolicy,
    Done,
    ErrorAction,
    Fail,
    PauseNumber,
    Reengage,
    Retry,
    Send,
    SendFailure,
    SendTemplate,
    after_failure,
    before_send,
    callback_tag,
    settle,
)
from relaydesk.domain.outbound import OutboundContent, Template
from relaydesk.observability import Metrics

__all__ = ["Job", "OutboxWorker", "callback_tag"]  # callback_tag re-exported for the tests

log = structlog.get_logger(__name__)

SendError = GraphError | GraphTransportError | ContentLimitError


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    message_id: int
    phone_number_id: str
    recipient: Recipient
    content: OutboundContent
    reply_to: str | None
    attempts: int  #: including this one
    last_inbound_at: datetime | None
    customer_name: str | None = None
    customer_language: str | None = None  #: the language they write in (customers.language)


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    result: SendResult | None = None
    error: SendError | None = None
    replaced: OutboundContent | None = None  #: content swapped for a template before sending
    early: Defer | Fail | None = None  #: decided before sending: not yet, or cannot go


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        client: GraphClient,
        metrics: Metrics,
        *,
        reengagement: Callable[[str | None, str | None], Template] | None,
        pacer: SendPacer,
        batch_size: int = 100,
        max_attempts: int = 8,
        reconcile_after: timedelta = timedelta(seconds=30),
        lease: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._metrics = metrics
        self._reengagement = reengagement
        self._pacer = pacer
        self._batch_size = batch_size
        self.policy = DeliveryPolicy(
            max_attempts=max_attempts,
            reconcile_after=reconcile_after,
            reengagement=reengagement is not None,
        )
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not cryptography
        self._paused_until: dict[str, datetime] = {}
        #: Status webhooks cannot reach a process that is down, so after a restart the
        #: reconcile window for unknown outcomes counts from when this worker came up.
        self._up_since: datetime | None = None
        self._lease = lease
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Wake the worker from any thread (the webhook writer, the decision stage):
        `asyncio.Event.set` is not thread-safe, so it is handed to the worker's loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.wake.set()
            return
        try:
            loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the loop closed meanwhile
            pass

    async def run(self, stop: asyncio.Event, idle_poll: float = 0.5) -> None:
        """Work the outbox until `stop` is set; wakes early when `wake` (or `notify`)."""
        self._loop = asyncio.get_running_loop()
        self._up_since = self._clock()
        log.info("outbox_worker_started")
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("outbox_worker_error")
                done = 0
                await asyncio.sleep(1.0)
            if done:
                continue
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waiters, timeout=idle_poll, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        log.info("outbox_worker_stopped")

    async def run_once(self) -> int:
        """Claim one batch and send it. Returns how many rows it handled."""
        jobs, reconciled = await anyio.to_thread.run_sync(self._claim, self._clock())
        if not jobs and not reconciled:
            return 0
        now = self._clock()
        prepared = [self._prepare(job, now) for job in jobs]
        early = [o for o in prepared if isinstance(o, Outcome)]
        if early:
            await anyio.to_thread.run_sync(self._record_outcomes, early, self._clock())
        queue = [p for p in prepared if not isinstance(p, Outcome)]
        while queue:
            wave, queue = self._take_wave(queue)
            if not wave:
                job = queue[0][0]
                mono = time.monotonic()
                allowed = self._pacer.next_allowed(job.phone_number_id, job.recipient.key, mono)
                await asyncio.sleep(max(allowed - mono, 0.001))
                continue
            await self._send_wave(wave)
        return len(jobs) + reconciled

    def _take_wave(
        self, queue: list[tuple[Job, OutboundContent]]
    ) -> tuple[list[tuple[Job, OutboundContent]], list[tuple[Job, OutboundContent]]]:
        """As many sends as the number's rate allows right now; the rest wait. Pacing comes
        before the attempt is recorded, so a recorded attempt is sent at once (a crash then
        leaves the smallest window in which a send's outcome is unknown)."""
        wave, rest = [], []
        mono = time.monotonic()
        for index, item in enumerate(queue):
            job = item[0]
            if self._pacer.try_acquire(job.phone_number_id, job.recipient.key, mono) > 0:
                rest = queue[index:]
                break
            wave.append(item)
        return wave, rest

    async def _send_wave(self, wave: list[tuple[Job, OutboundContent]]) -> None:
        """Record the attempts, send them all at once, and record each outcome as soon as
        it (and whatever else finished meanwhile) is back."""
        await anyio.to_thread.run_sync(self._record_attempts, wave, self._clock())
        done: asyncio.Queue[Outcome] = asyncio.Queue()
        tasks = [asyncio.create_task(self._send(job, content)) for job, content in wave]
        for task in tasks:
            task.add_done_callback(lambda t: done.put_nowait(t.result()))
        remaining = len(tasks)
        while remaining:
            batch = [await done.get()]
            while not done.empty():
                batch.append(done.get_nowait())
            remaining -= len(batch)
            await anyio.to_thread.run_sync(self._record_outcomes, batch, self._clock())

    # --- claiming ---------------------------------------------------------------------------

    def _claim(self, now: datetime) -> tuple[list[Job], int]:
        paused = [n for n, until in self._paused_until.items() if until > now]
        jobs: list[Job] = []
        reconciled = 0
        with self._db.write() as conn:
            for row in store.lock_due(conn, now, limit=self._batch_size, paused=paused):
                verdict = settle(
                    row.attempts,
                    row.last_attempt,
                    row.reconciled_wamid,
                    up_since=self._up_since,
                    reconcile_after=self.policy.reconcile_after,
                    now=now,
                )
                if isinstance(verdict, Done):
                    store.accept(conn, row.id, row.message_id, verdict.wamid, now)
                    log.info("outbox_reconciled", outbox_id=row.id)
                    reconciled += 1
                elif isinstance(verdict, Claim):
                    jobs.append(_job(row))
                else:
                    store.hold(conn, row.id, verdict.until)
            store.start(conn, [(job.id, job.attempts) for job in jobs], now + self._lease)
        return jobs, reconciled

    # --- sending ----------------------------------------------------------------------------

    def _prepare(self, job: Job, now: datetime) -> Outcome | tuple[Job, OutboundContent]:
        """The content to send now: outside the 24-hour window only a template may go."""
        verdict = before_send(
            is_template=isinstance(job.content, Template),
            last_inbound_at=job.last_inbound_at,
            recipient_wait=self._pacer.recipient_wait(job.recipient.key, time.monotonic()),
            reengagement=self._reengagement is not None,
            now=now,
        )
        if isinstance(verdict, Send):
            return job, job.content
        if isinstance(verdict, SendTemplate) and self._reengagement is not None:
            return job, self._reengagement(job.customer_name, job.customer_language)
        if isinstance(verdict, SendTemplate):
            raise ValueError(f"outbox {job.id}: a template swap with no re-engagement template")
        return Outcome(job, early=verdict)

    def _record_attempts(self, batch: Sequence[tuple[Job, OutboundContent]], now: datetime) -> None:
        with self._db.write() as conn:
            store.record_attempts(conn, [(job.id, job.attempts) for job, _ in batch], now)

    async def _send(self, job: Job, content: OutboundContent) -> Outcome:
        replaced = content if content is not job.content else None
        try:
            result = await self._client.send(
                job.phone_number_id,
                job.recipient,
                content,
                reply_to=job.reply_to,
                callback_data=callback_tag(job.id),
            )
        except (GraphError, GraphTransportError, ContentLimitError) as error:
            return Outcome(job, error=error, replaced=replaced)
        return Outcome(job, result=result, replaced=replaced)

    # --- recording --------------------------------------------------------------------------

    def _record_outcomes(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        accepted = [o for o in outcomes if o.result is not None and o.replaced is None]
        with self._db.write() as conn:
            store.accept_many(
                conn,
                [
                    store.Accepted(
                        o.job.id,
                        o.job.message_id,
                        o.job.attempts,
                        o.result.wamid,
                        o.result.wa_id,
                        o.job.recipient.wa_id,
                    )
                    for o in accepted
                    if o.result is not None
                ],
                now,
            )
            if accepted:
                self._metrics.messages.labels("out", "sent").inc(len(accepted))
            for outcome in outcomes:
                if outcome not in accepted:
                    self._record(conn, outcome, now)

    def _record(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        job = outcome.job
        if isinstance(outcome.early, Defer):  # not an attempt: rewind the count
            store.hold(conn, job.id, outcome.early.until, attempts=job.attempts - 1)
            return
        if isinstance(outcome.early, Fail):  # the window closed and no template may go
            self._metrics.send_errors.labels("content").inc()
            self._log_failure(job, None, ErrorAction.FAIL, None)
            self._fail(conn, job, outcome.early.code, outcome.early.reason, now)
            return
        if outcome.replaced is not None:
            store.replace_content(conn, job.id, content_to_dict(outcome.replaced), resend_at=None)
        if outcome.result is not None:
            result = outcome.result
            store.finish_attempt(conn, job.id, job.attempts, ACCEPTED, now, wamid=result.wamid)
            store.accept(conn, job.id, job.message_id, result.wamid, now, wa_id=result.wa_id)
            self._metrics.messages.labels("out", "sent").inc()
            return
        error = outcome.error
        if error is None:
            raise ValueError(f"outbox {job.id}: an outcome with neither result nor error")
        failure = _failure(error)
        if isinstance(error, GraphTransportError) or failure.ambiguous:
            self._metrics.send_errors.labels("transport").inc()
            outcome_label = AMBIGUOUS if failure.ambiguous else ERROR
            store.finish_attempt(conn, job.id, job.attempts, outcome_label, now)
        else:
            code = failure.code
            self._metrics.send_errors.labels(str(code) if code is not None else "content").inc()
            store.finish_attempt(conn, job.id, job.attempts, ERROR, now, code=code)
            fbtrace = error.fbtrace_id if isinstance(error, GraphError) else None
            self._log_failure(job, code, failure.action, fbtrace)
        verdict = after_failure(
            failure,
            attempts=job.attempts,
            is_template=isinstance(job.content, Template),
            policy=self.policy,
            jitter=self._rng.random(),
            now=now,
        )
        self._apply(conn, job, failure, verdict, now)

    def _apply(
        self,
        conn: Connection,
        job: Job,
        failure: SendFailure,
        verdict: Retry | Reengage | PauseNumber | Fail,
        now: datetime,
    ) -> None:
        if isinstance(verdict, Retry | Fail) and verdict.recipient_backoff is not None:
            until = time.monotonic() + verdict.recipient_backoff
            self._pacer.backoff_recipient(job.recipient.key, until)
        if isinstance(verdict, Retry):
            store.retry(conn, job.id, verdict.at, failure.code, failure.detail)
        elif isinstance(verdict, Reengage) and self._reengagement is not None:
            template = content_to_dict(self._reengagement(job.customer_name, job.customer_language))
            store.replace_content(conn, job.id, template, resend_at=now)
        elif isinstance(verdict, PauseNumber):
            self._paused_until[job.phone_number_id] = verdict.until
            log.error(
                "sending_paused",
                phone_number_id=job.phone_number_id,
                code=failure.code,
                action=failure.action.value,
                minutes=(verdict.until - now).total_seconds() / 60,
                fix="check the token and the number's status in WhatsApp Manager",
            )
            store.retry(
                conn, job.id, verdict.until, failure.code, failure.detail, attempts=job.attempts - 1
            )
        elif isinstance(verdict, Fail):
            self._fail(conn, job, verdict.code, verdict.reason, now)
        else:
            raise ValueError(f"outbox {job.id}: a re-engagement with no template to send")

    def _log_failure(
        self, job: Job, code: int | None, action: ErrorAction, fbtrace_id: str | None
    ) -> None:
        log.warning(
            "outbox_send_failed",
            outbox_id=job.id,
            code=code,
            action=action.value,
            attempt=job.attempts,
            fbtrace_id=fbtrace_id,
        )

    def _fail(
        self, conn: Connection, job: Job, code: int | None, detail: str, now: datetime
    ) -> None:
        self._metrics.messages.labels("out", "failed").inc()
        store.fail(conn, job.id, job.message_id, code, detail, now)


def _job(row: store.DueRow) -> Job:
    return Job(
        id=row.id,
        message_id=row.message_id,
        phone_number_id=row.phone_number_id,
        recipient=Recipient(row.recipient_wa_id, row.recipient_user_id),
        content=content_from_dict(row.content),
        reply_to=row.reply_to,
        attempts=row.attempts + 1,
        last_inbound_at=row.last_inbound_at,
        customer_name=row.customer_name,
        customer_language=row.customer_language,
    )


def _failure(error: SendError) -> SendFailure:
    """A send error as the facts the delivery decision takes."""
    if isinstance(error, GraphError):
        return SendFailure(error.action, error.code, str(error), ambiguous=error.ambiguous)
    if isinstance(error, GraphTransportError):
        return SendFailure(error.action, None, str(error), ambiguous=error.ambiguous)
    return SendFailure(ErrorAction.FAIL, None, str(error))
