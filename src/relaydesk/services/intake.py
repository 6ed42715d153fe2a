"""The webhooks' intake on SQLite: acknowledged from a file of their own, moved by the worker.

`serve` on a SQLite file commits each webhook's raw body to the intake file
(`adapters.storage.intake`) and acknowledges it: the acknowledgement waits for that commit
only, never for the worker's writes to the main database. The worker's `IntakeMover` reads
what arrived, in order, and stores it in the main database through the webhook path's own
code (`InboundService.move`: customers, conversations, messages, statuses, the raw body,
the messages handed to the decision stage), recording how far it got in the same
transaction; so each webhook is moved exactly once, and a crash on either side loses
nothing (a webhook moved twice finds its messages already stored). The web process deletes
what was moved (`IntakeWriter.purge`), about once a second while webhooks arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio.to_thread
import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import intake as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.errors import RaceLost
from relaydesk.adapters.whatsapp.webhook import ParsedWebhook, WebhookPayloadError, parse_webhook
from relaydesk.observability import Metrics
from relaydesk.services.inbound import InboundService, Webhook
from relaydesk.services.runner import run_in_thread

log = structlog.get_logger(__name__)

#: Webhooks moved in one transaction of the main database.
MOVE_BATCH = 64
#: How often the mover looks for new webhooks when it found none (another process stores
#: them: it cannot be woken).
IDLE_POLL = 0.02
#: How often, at most, the web process deletes what was moved while webhooks arrive...
PURGE_EVERY = 1.0
#: ...and while none do.
IDLE_PURGE = 5.0


@dataclass(frozen=True, slots=True)
class Accepted:
    """A webhook committed to the intake: acknowledged, not yet in the main database."""

    events: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IntakeWriter:
    """The web process's side: commit webhooks to the intake, delete what was moved."""

    def __init__(
        self,
        intake: store.Intake,
        db: Database,
        metrics: Metrics,
        *,
        purge_every: float = PURGE_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._intake = intake
        self._db = db
        self._metrics = metrics
        self._purge_every = purge_every
        self._monotonic = monotonic
        self._purged_at: float | None = None

    def commit(self, webhooks: Sequence[Webhook]) -> list[Accepted | Exception]:
        """Commit webhooks in one transaction of the intake file (`BatchIngestor`'s commit):
        every one is accepted, or, when the file cannot be written, every one gets the error
        (and a 503, so that WhatsApp redelivers)."""
        started = time.thread_time()
        try:
            with self._intake.db.write(urgent=True) as conn:
                store.append(conn, [(webhook.received_at, webhook.body) for webhook in webhooks])
        except Exception as error:
            log.warning("intake_store_failed", error=type(error).__name__, webhooks=len(webhooks))
            return [error] * len(webhooks)
        finally:
            self._metrics.stage_cpu.labels("store").inc(time.thread_time() - started)
        now = self._monotonic()  # (the parser's warnings are logged once, when moved)
        if self._purged_at is None or now - self._purged_at >= self._purge_every:
            self._purged_at = now
            self.purge()
        return [Accepted(len(webhook.parsed.events)) for webhook in webhooks]

    def depth(self) -> tuple[int, float]:
        """For /metrics (`Metrics.watch_intake`): the webhooks waiting to be moved and the
        oldest's age in seconds."""
        count, oldest = waiting(self._intake, self._db)
        age = (_utc_now() - oldest).total_seconds() if oldest is not None else 0.0
        return count, max(age, 0.0)

    def purge(self) -> int:
        """Delete the webhooks the worker has moved; how many. A failure is logged and left
        for the next purge (what was moved stays until then, and is never moved twice)."""
        try:
            with self._db.read() as conn:
                upto = store.moved_upto(conn, self._intake.id)
            if not upto:
                return 0
            with self._intake.db.write() as conn:
                deleted = store.purge(conn, upto)
        except Exception as error:
            log.warning("intake_purge_failed", error=type(error).__name__)
            return 0
        if deleted:
            log.debug("intake_purged", webhooks=deleted, upto=upto)
        return deleted

    async def run_purge(self, stop: asyncio.Event, every: float = IDLE_PURGE) -> None:
        """Purge every `every` seconds until `stop` (what was moved while no webhook came)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if not stop.is_set():
                await anyio.to_thread.run_sync(self.purge)

    def close(self) -> None:
        self._intake.db.dispose()


class IntakeMover:
    """The worker's side: move what the intake holds into the main database, in order."""

    def __init__(
        self,
        intake: store.Intake,
        inbound: InboundService,
        db: Database,
        *,
        batch_size: int = MOVE_BATCH,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}; at least 1 webhook per move")
        self._intake = intake
        self._inbound = inbound
        self._db = db
        self._batch_size = batch_size
        self._clock = clock
        #: the progress as this mover last committed it (None: read it from the database);
        #: each move checks it in its transaction, so a stale one only costs a re-read
        self._mark: int | None = None

    def waiting(self) -> tuple[int, datetime | None]:
        """How many webhooks wait to be moved, and when the oldest arrived."""
        return waiting(self._intake, self._db)

    def run_once(self) -> int:
        """Move the next batch; how many webhooks were moved (0: none waiting, storage is
        down, or another worker moved them; logged)."""
        mark = self._mark
        if mark is None:
            with self._db.read() as conn:
                mark = store.moved_upto(conn, self._intake.id)
        with self._intake.db.read() as conn:
            rows = store.after(conn, mark, self._batch_size)
        if not rows:
            self._mark = mark
            return 0
        ids = [row.id for row in rows]
        # the progress a transaction starting with each webhook expects: the one before it
        before = dict(zip(ids, [mark, *ids[:-1]], strict=True))

        def record(conn: Connection, first: Webhook, last: Webhook) -> None:
            if first.intake_id is None or last.intake_id is None:  # pragma: no cover
                raise ValueError("a webhook moved from the intake has no intake_id")
            after = before[first.intake_id]
            if not store.record_moved(conn, self._intake.id, after, last.intake_id, self._clock()):
                raise RaceLost(f"intake {self._intake.id}: moved past {after} by another worker")

        webhooks = [
            Webhook(row.body, _parse(row), row.received_at, intake_id=row.id) for row in rows
        ]
        self._mark = None  # until the move says how far it got
        done = self._inbound.move(webhooks, record)
        if done:
            self._mark = rows[done - 1].id
        return done

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Move everything waiting (tests, tools); how many webhooks were moved."""
        moved = 0
        for _ in range(max_rounds):
            count = self.run_once()
            if not count:
                break
            moved += count
        return moved

    def run(self, stop: threading.Event, idle_poll: float = IDLE_POLL) -> None:
        """Move until `stop` is set: batches back to back while webhooks wait, then a look
        every `idle_poll` seconds. A failing round is logged and retried a second later."""
        log.info("intake_mover_started", intake=self._intake.path)
        while not stop.is_set():
            try:
                moved = self.run_once()
            except Exception as error:
                log.exception("intake_mover_error", error=type(error).__name__)
                stop.wait(1.0)
                continue
            if not moved:
                stop.wait(idle_poll)
        log.info("intake_mover_stopped")

    async def run_async(self, stop: asyncio.Event) -> None:
        """`run` in a thread of its own until `stop`."""
        await run_in_thread(self.run, stop, "intake")


def waiting(intake: store.Intake, db: Database) -> tuple[int, datetime | None]:
    """How many webhooks of `intake` wait to be moved into `db`, and when the oldest came."""
    with db.read() as conn:
        mark = store.moved_upto(conn, intake.id)
    with intake.db.read() as conn:
        return store.waiting(conn, mark)


def _parse(row: store.Received) -> ParsedWebhook:
    """The stored body parsed again (it was verified and parsed before it was accepted).
    One that no longer parses (a release that reads payloads differently) keeps its raw
    body, with no events, and is logged."""
    try:
        return parse_webhook(row.body)
    except WebhookPayloadError as error:
        log.error("intake_webhook_unreadable", intake_id=row.id, path=error.path)
        return ParsedWebhook(events=(), warnings=(f"unreadable on moving: {error.path}",))
