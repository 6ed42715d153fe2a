"""What happened to conversations, for the console's live updates and the audit trail.

Every change that a person watching the console should see (an escalation, an
assignment, a customer message in a conversation people own, an agent's action, a
ladder move, an SLA warning) is written to the `events` table by `record`, in the same
transaction as the change itself: an event is visible exactly when its change is.

On PostgreSQL `record` also issues `NOTIFY relaydesk_events`, which PostgreSQL delivers
only when the transaction commits, so a console connected to another server process
learns of it at once (`EventHub` listens). On SQLite the hub polls the table.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import time
from datetime import datetime
from typing import Any

import anyio.to_thread
import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import events as store
from relaydesk.adapters.storage import integration_outbox
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.events import CHANNEL, Event

__all__ = [
    "CHANNEL",
    "Event",
    "EventHub",
    "EventKind",
    "Subscription",
    "last_id",
    "read_after",
    "record",
]

log = structlog.get_logger(__name__)

#: How often the LISTEN loop checks whether the hub is stopping (seconds).
LISTEN_TICK = 1.0
#: PostgreSQL draws an event's id when its row is inserted, not when it commits, so a
#: transaction can commit after one with a later id and fall behind the hub's cursor.
#: Ids the pump skipped are read again for this long (seconds), then given up (a
#: rolled-back transaction leaves its id unused for good) ...
GAP_WAIT = 30.0
#: ... and at most this many are looked for at once.
MAX_GAPS = 5_000


class EventKind(enum.StrEnum):
    ESCALATED = "escalated"  #: the bot handed the conversation to people
    CANCELLED = "cancelled"  #: the customer called off a pending handoff
    ASSIGNED = "assigned"
    MESSAGE_IN = "message_in"  #: a customer message in a conversation people own or wait on
    MESSAGE_OUT = "message_out"  #: an agent's reply
    NOTE = "note"
    TRANSFERRED = "transferred"
    MOVED = "moved"  #: a ladder move, or an agent's escalation to the next tier
    PRIORITY_RAISED = "priority_raised"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    SUPERVISOR_ALERT = "supervisor_alert"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    FEEDBACK = "feedback"
    CSAT_SENT = "csat_sent"
    CSAT = "csat"  #: the customer rated the conversation
    PRESENCE = "presence"  #: an agent went online, away or offline
    BOOKING_CLICK = "booking_click"  #: the customer opened a tracked booking link


#: The events CRMs and webhooks are told of (`services.integrations`), by their type there.
INTEGRATION_EVENTS = {
    EventKind.ESCALATED: "conversation.escalated",
    EventKind.ASSIGNED: "conversation.assigned",
    EventKind.RESOLVED: "conversation.resolved",
    EventKind.CSAT: "csat.received",
}


def record(
    conn: Connection,
    kind: EventKind,
    *,
    now: datetime,
    conversation_id: int | None = None,
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one event inside the caller's transaction (and notify listeners on commit).

    `detail` holds what the console shows beside the event (queue, priority, reason);
    never a message body or a phone number.
    """
    store.insert(
        conn,
        kind.value,
        now=now,
        conversation_id=conversation_id,
        actor_id=actor_id,
        detail=detail or {},
    )
    event_type = INTEGRATION_EVENTS.get(kind)
    if event_type is not None:  # the write-back is recorded with its change, or not at all
        integration_outbox.enqueue(
            conn,
            event_type,
            conversation_id=conversation_id,
            payload={
                "conversation_id": conversation_id,
                "occurred_at": now.isoformat(),
                **(detail or {}),
            },
            now=now,
        )


# -- fan-out --------------------------------------------------------------------------------


def read_after(conn: Connection, after: int, limit: int = 500) -> list[Event]:
    """The first `limit` events after the one with id `after`, in id order."""
    return store.after(conn, after, limit)


def last_id(conn: Connection) -> int:
    """The newest event's id (0 when there is none): where a new subscriber starts."""
    return store.last_id(conn)


class EventHub:
    """Delivers new events to this process's subscribers (the console's SSE streams).

    One pump task reads the table after the last id it delivered and hands each event to
    every subscriber. It reads when woken: by `wake()` after a write in this process, by
    PostgreSQL's NOTIFY from any process (a LISTEN connection), and every
    `poll_interval` regardless, which is how SQLite and a lost notification are covered.
    A subscriber that falls `max_backlog` events behind is dropped; its browser
    reconnects with Last-Event-ID and catches up from the table.
    """

    def __init__(
        self,
        db: Database,
        *,
        poll_interval: float = 1.0,
        max_backlog: int = 1000,
    ) -> None:
        self._db = db
        self._poll_interval = poll_interval
        self._max_backlog = max_backlog
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        self._cursor = 0
        self._gaps: dict[int, float] = {}  #: ids skipped by the cursor, and since when
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.notifications = 0  #: NOTIFYs received (tests and metrics)
        self.listening = False  #: LISTENing on PostgreSQL now

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._cursor = await anyio.to_thread.run_sync(self._last_id)
        self._tasks.append(asyncio.create_task(self._pump(), name="event-hub-pump"))
        if not self._db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen(), name="event-hub-listen"))
        log.info("event_hub_started", cursor=self._cursor, listen=not self._db.is_sqlite)

    async def stop(self) -> None:
        # Both tasks see `_stopping`: the pump finishes its read (a thread holding a
        # pooled connection), the LISTEN loop its current tick. Neither is cancelled
        # unless it overstays, since cancelling psycopg's wait for NOTIFY can hang.
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        self._tasks.clear()
        self._stopping = False
        for queue in list(self._subscribers):
            self._offer(queue, None)

    def wake(self) -> None:
        """Read the table now (safe to call from any thread)."""
        if self._loop is None or self._wake is None:
            return
        wake = self._wake
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(wake.set)

    async def subscribe(self, after: int | None = None) -> Subscription:
        """Events after `after` (a Last-Event-ID; None: from the moment this returns),
        then live ones. The subscription is registered when this returns, so an event
        committed after it is delivered even before the caller first reads."""
        await self.start()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            seen = self._cursor if after is None else after
            backlog: list[Event] = []
            if after is not None and after < self._cursor:
                backlog = await anyio.to_thread.run_sync(self._read, after, self._cursor)
        except BaseException:
            self._subscribers.discard(queue)
            raise
        return Subscription(self, queue, seen, backlog)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # -- internals ----------------------------------------------------------------------

    def _last_id(self) -> int:
        with self._db.read() as conn:
            return last_id(conn)

    def _read(self, after: int, until: int | None = None) -> list[Event]:
        """One page of events after `after`; with `until`, every event up to it."""
        with self._db.read() as conn:
            if until is None:
                return read_after(conn, after)
            found: list[Event] = []
            while page := [e for e in read_after(conn, after) if e.id <= until]:
                found += page
                after = page[-1].id
            return found

    def _read_ids(self, ids: list[int]) -> list[Event]:
        with self._db.read() as conn:
            return store.by_ids(conn, ids)

    async def _pump(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()
            if self._stopping:
                return
            try:
                while True:
                    batch = await anyio.to_thread.run_sync(self._read, self._cursor)
                    for event in batch:
                        self._skipped(self._cursor, event.id)
                        self._cursor = event.id
                        self._offer_all(event)
                    if len(batch) < 500:
                        break
                if self._gaps:
                    await self._late()
            except Exception as exc:  # storage down: keep the streams open, try again
                log.warning("event_hub_read_failed", error=type(exc).__name__)
                await asyncio.sleep(self._poll_interval)

    def _skipped(self, cursor: int, next_id: int) -> None:
        """Note the ids between the cursor and the next event read (PostgreSQL: they may
        belong to transactions that have not committed yet)."""
        if self._db.is_sqlite or next_id <= cursor + 1:
            return  # SQLite's writers commit one at a time, in id order
        now = time.monotonic()
        for missing in range(cursor + 1, min(next_id, cursor + 1 + MAX_GAPS)):
            if len(self._gaps) >= MAX_GAPS:
                log.warning("event_hub_gaps_full", gaps=len(self._gaps))
                return
            self._gaps[missing] = now

    async def _late(self) -> None:
        """Offer the skipped ids that have committed since; forget those older than
        `GAP_WAIT`."""
        found = await anyio.to_thread.run_sync(self._read_ids, sorted(self._gaps))
        for event in found:
            self._gaps.pop(event.id, None)
            self._offer_all(event)
        oldest = time.monotonic() - GAP_WAIT
        for missing in [i for i, at in self._gaps.items() if at < oldest]:
            del self._gaps[missing]

    def _offer_all(self, event: Event) -> None:
        for queue in list(self._subscribers):
            self._offer(queue, event)

    def _unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        self._subscribers.discard(queue)

    def _offer(self, queue: asyncio.Queue[Event | None], event: Event | None) -> None:
        if event is not None and queue.qsize() >= self._max_backlog:
            self._subscribers.discard(queue)
            queue.put_nowait(None)  # ends that stream; the client resumes by Last-Event-ID
            log.warning("event_subscriber_dropped", backlog=queue.qsize())
            return
        queue.put_nowait(event)

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL; reconnects after a failure, with the poll as a safety net."""
        while not self._stopping:
            try:
                async with store.listening(
                    self._db.engine.url, until=self._stopped, tick=LISTEN_TICK
                ) as notifies:
                    log.info("event_hub_listening", channel=CHANNEL)
                    self.listening = True
                    async for _ in notifies:
                        self.notifications += 1
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening = False
                log.warning("event_hub_listen_failed", error=type(exc).__name__)
                await asyncio.sleep(max(self._poll_interval, 1.0))
            finally:
                self.listening = False

    def _stopped(self) -> bool:
        return self._stopping


class Subscription:
    """One subscriber's events: the backlog it resumed from, then live ones in id order,
    except that an event committed after one with a later id comes when it commits.
    Iterate it; `aclose()` ends it (the SSE stream does when its client goes away). It
    also ends when the hub stops or drops it for falling behind."""

    def __init__(
        self,
        hub: EventHub,
        queue: asyncio.Queue[Event | None],
        seen: int,
        backlog: list[Event],
    ) -> None:
        self._hub = hub
        self._queue = queue
        self._seen = seen
        self._backlog = collections.deque(backlog)
        self._resumed = {e.id for e in backlog}  #: a late event may be among them
        self._closed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._backlog:
            event = self._backlog.popleft()
            self._seen = event.id
            return event
        while not self._closed:
            live = await self._queue.get()
            if live is None:
                break
            if live.id > self._seen:
                self._seen = live.id
                return live
            if live.id not in self._resumed:  # a late commit (`GAP_WAIT`), offered once
                return live
        await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._closed = True
        self._backlog.clear()
        self._hub._unsubscribe(self._queue)
