"""The outbox worker: sends what the inbound path committed, exactly once where it can.

Each send is recorded as an attempt (committed) before the HTTP call and tagged with
`biz_opaque_callback_data`, which Meta echoes on status webhooks. A send whose outcome is
unknown (the process died mid-call, or the call timed out) is not repeated until either a
status webhook proves it arrived (then it is done) or `reconcile_after` has passed without
one (then it is sent again: the Send API has no idempotency key, so this is the one case
where the contract leaves a double send possible).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import structlog
from sqlalchemy import Connection, bindparam, exists, or_, select, update
from sqlalchemy.orm import aliased

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    messages,
    outbox,
    send_attempts,
)
from relaydesk.adapters.whatsapp.client import GraphClient, SendResult
from relaydesk.adapters.whatsapp.codec import Recipient, content_from_dict, content_to_dict
from relaydesk.adapters.whatsapp.errors import (
    ErrorAction,
    GraphError,
    GraphTransportError,
    retry_delay,
)
from relaydesk.adapters.whatsapp.limits import ContentLimitError
from relaydesk.adapters.whatsapp.pacing import SendPacer
from relaydesk.domain.channel import DeliveryStatus
from relaydesk.domain.conversation import window_open
from relaydesk.domain.outbound import OutboundContent, Template
from relaydesk.observability import Metrics

log = structlog.get_logger(__name__)

NUMBER_PAUSE = timedelta(minutes=5)


def callback_tag(outbox_id: int) -> str:
    return f"rd:ob:{outbox_id}"


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


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    result: SendResult | None = None
    error: GraphError | GraphTransportError | ContentLimitError | None = None
    replaced: OutboundContent | None = None  #: content swapped for a template before sending
    defer: float | None = None  #: seconds: the recipient's pair limit says not yet


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        client: GraphClient,
        metrics: Metrics,
        *,
        reengagement: Callable[[str | None], Template] | None,
        pacer: SendPacer,
        batch_size: int = 100,
        max_attempts: int = 8,
        reconcile_after: timedelta = timedelta(seconds=30),
        raw_retention: timedelta | None = None,
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
        self._max_attempts = max_attempts
        self._reconcile_after = reconcile_after
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not cryptography
        self._paused_until: dict[str, datetime] = {}
        self._raw_retention = raw_retention
        self._periodic: list[Callable[[datetime], object]] = []
        #: Status webhooks cannot reach a process that is down, so after a restart the
        #: reconcile window for unknown outcomes counts from when this worker came up.
        self._up_since: datetime | None = None
        self._next_periodic: datetime | None = None
        self._lease = lease
        self._next_purge: datetime | None = None
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event, idle_poll: float = 0.5) -> None:
        """Work the outbox until `stop` is set; wakes early when `wake` is set."""
        self._up_since = self._clock()
        log.info("outbox_worker_started")
        while not stop.is_set():
            try:
                await self.housekeep()
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

    def every_second(self, job: Callable[[datetime], object]) -> None:
        """Run `job(now)` (blocking, in a thread) about once a second beside the outbox,
        e.g. the assignment of waiting conversations to agents."""
        self._periodic.append(job)

    async def housekeep(self) -> None:
        """Periodic jobs (about every second); raw webhook bodies past their retention are
        deleted at most every ten minutes."""
        now = self._clock()
        if self._periodic and (self._next_periodic is None or now >= self._next_periodic):
            self._next_periodic = now + timedelta(seconds=1)
            for job in self._periodic:
                await anyio.to_thread.run_sync(job, now)
        if self._raw_retention is None or (self._next_purge and now < self._next_purge):
            return
        self._next_purge = now + timedelta(minutes=10)
        cutoff = now - self._raw_retention

        def purge() -> int:
            with self._db.write() as conn:
                return repo.purge_raw_webhooks(conn, cutoff)

        deleted = await anyio.to_thread.run_sync(purge)
        if deleted:
            log.info("raw_webhooks_purged", deleted=deleted)

    async def run_once(self) -> int:
        """Claim one batch and send it. Returns how many rows it handled."""
        jobs, reconciled = await anyio.to_thread.run_sync(self._claim, self._clock())
        if not jobs and not reconciled:
            return 0
        prepared = [self._prepare(job) for job in jobs]
        early = [o for o in prepared if isinstance(o, Outcome)]
        if early:
            await anyio.to_thread.run_sync(self._record_outcomes, early, self._clock())
        queue = [p for p in prepared if not isinstance(p, Outcome)]
        while queue:
            wave, queue = self._take_wave(queue)
            if not wave:
                job = queue[0][0]
                now = time.monotonic()
                allowed = self._pacer.next_allowed(job.phone_number_id, job.recipient.key, now)
                await asyncio.sleep(max(allowed - now, 0.001))
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
        now = time.monotonic()
        for index, item in enumerate(queue):
            job = item[0]
            if self._pacer.try_acquire(job.phone_number_id, job.recipient.key, now) > 0:
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
        earlier = aliased(outbox)
        due = or_(
            (outbox.c.state == "pending") & (outbox.c.next_attempt_at <= now),
            (outbox.c.state == "sending") & (outbox.c.lease_until <= now),
        )
        blocked = exists().where(
            earlier.c.conversation_id == outbox.c.conversation_id,
            earlier.c.id < outbox.c.id,
            earlier.c.state.in_(("pending", "sending")),
        )
        paused = [n for n, until in self._paused_until.items() if until > now]
        query = select(outbox.c.id).where(due, ~blocked)
        if paused:
            query = query.where(outbox.c.phone_number_id.not_in(paused))
        query = query.order_by(outbox.c.id).limit(self._batch_size)
        with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=outbox)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return [], 0
            rows = conn.execute(
                select(outbox, conversations.c.last_inbound_at, customers.c.profile_name)
                .join(conversations, conversations.c.id == outbox.c.conversation_id)
                .join(customers, customers.c.id == conversations.c.customer_id)
                .where(outbox.c.id.in_(ids))
                .order_by(outbox.c.id)
            ).all()
            jobs: list[Job] = []
            reconciled = 0
            for row in rows:
                if row.attempts and self._reconcile(conn, row, now):
                    reconciled += 1
                    continue
                wait_until = self._unsettled_until(conn, row.id) if row.attempts else None
                if wait_until is not None and wait_until > now:
                    conn.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id)
                        .values(state="pending", next_attempt_at=wait_until, lease_until=None)
                    )
                    continue
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        state="sending", attempts=row.attempts + 1, lease_until=now + self._lease
                    )
                )
                jobs.append(
                    Job(
                        id=row.id,
                        message_id=row.message_id,
                        phone_number_id=row.phone_number_id,
                        recipient=Recipient(row.recipient_wa_id, row.recipient_user_id),
                        content=content_from_dict(row.content),
                        reply_to=row.reply_to,
                        attempts=row.attempts + 1,
                        last_inbound_at=row.last_inbound_at,
                        customer_name=row.profile_name,
                    )
                )
            return jobs, reconciled

    def _reconcile(self, conn: Connection, row: Any, now: datetime) -> bool:
        """An earlier attempt may have reached Meta: a status webhook echoing our tag proves
        it did. Then the row is done without sending again."""
        wamid = repo.status_by_callback(conn, callback_tag(row.id))
        if wamid is None:
            return False
        self._mark_accepted(conn, row.id, row.message_id, wamid, None, now)
        log.info("outbox_reconciled", outbox_id=row.id)
        return True

    def _unsettled_until(self, conn: Connection, outbox_id: int) -> datetime | None:
        """If the last attempt's outcome is unknown, when it is safe to send again."""
        last = conn.execute(
            select(send_attempts.c.started_at, send_attempts.c.outcome)
            .where(send_attempts.c.outbox_id == outbox_id)
            .order_by(send_attempts.c.attempt.desc())
            .limit(1)
        ).first()
        if last is None or last.outcome not in (None, "ambiguous"):
            return None
        started: datetime = last.started_at
        if self._up_since is not None and self._up_since > started:
            started = self._up_since  # a crash: Meta's statuses could not arrive meanwhile
        return started + self._reconcile_after

    # --- sending ----------------------------------------------------------------------------

    def _prepare(self, job: Job) -> Outcome | tuple[Job, OutboundContent]:
        """The content to send now: outside the 24-hour window only a template may go."""
        now = self._clock()
        wait = self._pacer.recipient_wait(job.recipient.key, time.monotonic())
        if wait > 0:
            return Outcome(job, defer=wait)
        if isinstance(job.content, Template) or window_open(job.last_inbound_at, now):
            return job, job.content
        if self._reengagement is None:
            return Outcome(
                job,
                error=ContentLimitError(
                    "the 24-hour window has closed and the brief names no re-engagement "
                    "template; add one under templates to reach this customer"
                ),
            )
        return job, self._reengagement(job.customer_name)

    def _record_attempts(self, batch: Sequence[tuple[Job, OutboundContent]], now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                send_attempts.insert(),
                [
                    {"outbox_id": job.id, "attempt": job.attempts, "started_at": now}
                    for job, _ in batch
                ],
            )

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
        accepted = [
            o for o in outcomes if o.result is not None and o.replaced is None and o.defer is None
        ]
        with self._db.write() as conn:
            self._record_accepted(conn, accepted, now)
            for outcome in outcomes:
                if outcome not in accepted:
                    self._record(conn, outcome, now)

    def _record_accepted(
        self, conn: Connection, accepted: Sequence[Outcome], now: datetime
    ) -> None:
        """The common case, in bulk: attempt finished, row done, message carries its wamid."""
        if not accepted:
            return
        sent = [(o.job, o.result) for o in accepted if o.result is not None]
        conn.execute(
            update(send_attempts)
            .where(
                send_attempts.c.outbox_id == bindparam("b_outbox"),
                send_attempts.c.attempt == bindparam("b_attempt"),
            )
            .values(finished_at=now, outcome="accepted", wamid=bindparam("b_wamid")),
            [{"b_outbox": j.id, "b_attempt": j.attempts, "b_wamid": r.wamid} for j, r in sent],
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("b_outbox"))
            .values(state="done", done_at=now, lease_until=None, last_error=None),
            [{"b_outbox": j.id} for j, _ in sent],
        )
        conn.execute(
            update(messages)
            .where(messages.c.id == bindparam("b_message"))
            .values(wamid=bindparam("b_wamid"), status=int(DeliveryStatus.ACCEPTED)),
            [{"b_message": j.message_id, "b_wamid": r.wamid} for j, r in sent],
        )
        for job, result in sent:
            if result.wa_id and job.recipient.wa_id and result.wa_id != job.recipient.wa_id:
                self._store_canonical_wa_id(conn, job.id, result.wa_id)
        self._apply_early_statuses(conn, [r.wamid for _, r in sent])
        self._metrics.messages.labels("out", "sent").inc(len(sent))

    def _apply_early_statuses(self, conn: Connection, wamids: Sequence[str]) -> None:
        """Receipts that beat the send's own answer were stored; apply them now."""
        for event in repo.statuses_for_many(conn, wamids):
            status = DeliveryStatus.from_wire(event.status)
            if status is not None:
                repo.advance_message(
                    conn, event.wamid, status, event.error_code, event.error_detail
                )

    def _record(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        job = outcome.job
        if outcome.defer is not None:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == job.id)
                .values(
                    state="pending",
                    attempts=job.attempts - 1,
                    next_attempt_at=now + timedelta(seconds=outcome.defer),
                    lease_until=None,
                )
            )
            return
        if outcome.replaced is not None:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == job.id)
                .values(content=content_to_dict(outcome.replaced))
            )
        if outcome.result is not None:
            self._finish_attempt(conn, job, "accepted", None, outcome.result.wamid, now)
            self._mark_accepted(
                conn, job.id, job.message_id, outcome.result.wamid, outcome.result, now
            )
            self._metrics.messages.labels("out", "sent").inc()
            return
        error = outcome.error
        if isinstance(error, GraphTransportError) or (
            isinstance(error, GraphError) and error.ambiguous
        ):
            self._metrics.send_errors.labels("transport").inc()
            self._finish_attempt(
                conn, job, "ambiguous" if error.ambiguous else "error", None, None, now
            )
            if error.ambiguous:
                self._retry(conn, job, now + self._reconcile_after, error, now)
            else:
                self._retry_or_fail(conn, job, ErrorAction.RETRY, error, now)
            return
        if error is None:
            raise ValueError(f"outbox {job.id}: an outcome with neither result nor error")
        code = error.code if isinstance(error, GraphError) else None
        self._metrics.send_errors.labels(str(code) if code is not None else "content").inc()
        self._finish_attempt(conn, job, "error", code, None, now)
        action = error.action if isinstance(error, GraphError) else ErrorAction.FAIL
        log.warning(
            "outbox_send_failed",
            outbox_id=job.id,
            code=code,
            action=action.value,
            attempt=job.attempts,
            fbtrace_id=error.fbtrace_id if isinstance(error, GraphError) else None,
        )
        if (
            action is ErrorAction.REENGAGE
            and self._reengagement is not None
            and not isinstance(job.content, Template)
        ):
            conn.execute(
                update(outbox)
                .where(outbox.c.id == job.id)
                .values(
                    content=content_to_dict(self._reengagement(job.customer_name)),
                    state="pending",
                    next_attempt_at=now,
                    lease_until=None,
                )
            )
        elif action in (ErrorAction.STOP_NUMBER, ErrorAction.AUTH):
            self._paused_until[job.phone_number_id] = now + NUMBER_PAUSE
            log.error(
                "sending_paused",
                phone_number_id=job.phone_number_id,
                code=code,
                action=action.value,
                minutes=NUMBER_PAUSE.total_seconds() / 60,
                fix="check the token and the number's status in WhatsApp Manager",
            )
            self._retry(conn, job, now + NUMBER_PAUSE, error, now, count=False)
        elif action is ErrorAction.RETRY_RECIPIENT:
            delay = retry_delay(action, job.attempts - 1, rng=self._rng)
            self._pacer.backoff_recipient(job.recipient.key, time.monotonic() + delay)
            self._retry_or_fail(conn, job, action, error, now, delay=delay)
        elif action is ErrorAction.RETRY:
            self._retry_or_fail(conn, job, action, error, now)
        else:
            self._fail(conn, job, code, str(error), now)

    def _finish_attempt(
        self,
        conn: Connection,
        job: Job,
        outcome: str,
        code: int | None,
        wamid: str | None,
        now: datetime,
    ) -> None:
        conn.execute(
            update(send_attempts)
            .where(send_attempts.c.outbox_id == job.id, send_attempts.c.attempt == job.attempts)
            .values(finished_at=now, outcome=outcome, error_code=code, wamid=wamid)
        )

    def _mark_accepted(
        self,
        conn: Connection,
        outbox_id: int,
        message_id: int,
        wamid: str,
        result: SendResult | None,
        now: datetime,
    ) -> None:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(state="done", done_at=now, lease_until=None, last_error=None)
        )
        conn.execute(
            update(messages)
            .where(messages.c.id == message_id)
            .values(wamid=wamid, status=int(DeliveryStatus.ACCEPTED))
        )
        if result is not None and result.wa_id:
            self._store_canonical_wa_id(conn, outbox_id, result.wa_id)
        self._apply_early_statuses(conn, [wamid])

    def _store_canonical_wa_id(self, conn: Connection, outbox_id: int, wa_id: str) -> None:
        """Meta may normalise the number (Brazil's ninth digit, Mexico 52/521); keep its."""
        row = conn.execute(
            select(conversations.c.customer_id, outbox.c.recipient_wa_id)
            .join(conversations, conversations.c.id == outbox.c.conversation_id)
            .where(outbox.c.id == outbox_id)
        ).one()
        if row.recipient_wa_id in (None, wa_id):
            return
        clash = conn.execute(select(customers.c.id).where(customers.c.wa_id == wa_id)).first()
        if clash is None:
            conn.execute(
                update(customers).where(customers.c.id == row.customer_id).values(wa_id=wa_id)
            )

    def _retry_or_fail(
        self,
        conn: Connection,
        job: Job,
        action: ErrorAction,
        error: Exception,
        now: datetime,
        *,
        delay: float | None = None,
    ) -> None:
        if job.attempts >= self._max_attempts:
            code = getattr(error, "code", None)
            self._fail(conn, job, code, f"gave up after {job.attempts} attempts: {error}", now)
            return
        if delay is None:
            delay = retry_delay(action, job.attempts - 1, rng=self._rng)
        self._retry(conn, job, now + timedelta(seconds=delay), error, now)

    def _retry(
        self,
        conn: Connection,
        job: Job,
        at: datetime,
        error: Exception,
        now: datetime,
        *,
        count: bool = True,
    ) -> None:
        values: dict[str, Any] = {
            "state": "pending",
            "next_attempt_at": at,
            "lease_until": None,
            "last_error_code": getattr(error, "code", None),
            "last_error": str(error)[:2000],
        }
        if not count:
            values["attempts"] = job.attempts - 1
        conn.execute(update(outbox).where(outbox.c.id == job.id).values(**values))

    def _fail(
        self, conn: Connection, job: Job, code: int | None, detail: str, now: datetime
    ) -> None:
        self._metrics.messages.labels("out", "failed").inc()
        conn.execute(
            update(outbox)
            .where(outbox.c.id == job.id)
            .values(
                state="failed",
                done_at=now,
                lease_until=None,
                last_error_code=code,
                last_error=detail[:2000],
            )
        )
        conn.execute(
            update(messages)
            .where(messages.c.id == job.message_id)
            .values(status=int(DeliveryStatus.FAILED), error_code=code, error_detail=detail[:2000])
        )
