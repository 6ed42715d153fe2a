"""What a worker process runs: long-lived loops (the outbox) side by side with a scheduler
of named periodic jobs (assignment and timers every second, the raw-webhook purge every ten
minutes).

`Scheduler.run_due(now)` is the whole scheduling decision, with time as a parameter, so
tests drive it by hand; `Scheduler.run(stop)` only calls it on a clock and sleeps between.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import structlog

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database

log = structlog.get_logger(__name__)

Job = Callable[[datetime], object]
Loop = Callable[[asyncio.Event], Awaitable[None]]


async def run_in_thread(
    run: Callable[[threading.Event], None],
    stop: asyncio.Event,
    name: str,
    *,
    on_halt: Callable[[], None] | None = None,
) -> None:
    """A blocking loop `run(halt)` in a daemon thread of its own until `stop`; then its
    `halt` is set (and `on_halt` called, e.g. to wake it) and it gets 30 s to end."""
    halt = threading.Event()
    thread = threading.Thread(target=run, args=(halt,), name=name, daemon=True)
    thread.start()
    try:
        await stop.wait()
    finally:
        halt.set()
        if on_halt is not None:
            on_halt()
        await anyio.to_thread.run_sync(thread.join, 30.0)


@dataclass(slots=True)
class _Entry:
    name: str
    interval: timedelta
    job: Job
    next_at: datetime | None = None  #: None: due at the first tick


class Scheduler:
    """Named periodic jobs, each with its own interval, run one after another (in the
    order added) in a worker thread. A job that raises is logged and tried again at the
    next tick; it never stops the others or the loop."""

    def __init__(
        self,
        *,
        tick: timedelta = timedelta(seconds=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if tick <= timedelta(0):
            raise ValueError(f"tick is {tick}; give the scheduler a positive tick.")
        self._tick = tick
        self._clock = clock
        self._entries: list[_Entry] = []

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def every(self, name: str, interval: timedelta, job: Job) -> None:
        """Run `job(now)` every `interval`, starting at the first tick."""
        if interval <= timedelta(0):
            raise ValueError(f"job {name!r}: interval is {interval}; give a positive interval.")
        if name in self.names:
            raise ValueError(f"job {name!r} is already scheduled; give each job its own name.")
        self._entries.append(_Entry(name, interval, job))

    async def run_due(self, now: datetime) -> list[str]:
        """Run every job due at `now`; returns the names of those that ran (failed or not).
        A job's next run counts from `now`; a failed one's from `now` plus one tick."""
        ran = []
        for entry in self._entries:
            if entry.next_at is not None and now < entry.next_at:
                continue
            ran.append(entry.name)
            try:
                await anyio.to_thread.run_sync(entry.job, now)
            except Exception:
                log.exception("scheduled_job_failed", job=entry.name)
                entry.next_at = now + min(self._tick, entry.interval)
            else:
                entry.next_at = now + entry.interval
        return ran

    def next_due(self) -> datetime | None:
        """When the earliest job is due next (None: no job, or one due at once)."""
        if not self._entries or any(e.next_at is None for e in self._entries):
            return None
        return min(e.next_at for e in self._entries if e.next_at is not None)

    async def run(self, stop: asyncio.Event) -> None:
        """Run due jobs on the clock until `stop` is set; sleeps at most one tick."""
        if not self._entries:
            return
        log.info("scheduler_started", jobs=self.names)
        while not stop.is_set():
            await self.run_due(self._clock())
            due = self.next_due()
            wait = self._tick if due is None else min(due - self._clock(), self._tick)
            if wait > timedelta(0):
                try:
                    await asyncio.wait_for(stop.wait(), timeout=wait.total_seconds())
                except TimeoutError:
                    pass
        log.info("scheduler_stopped")


class Runner:
    """Loops (each `async loop(stop)`) and the scheduler, side by side until `stop`. A loop
    that raises sets `stop`, so the others finish what they are doing, and the error is
    raised again once all have ended."""

    def __init__(self, loops: Sequence[Loop] = (), *, scheduler: Scheduler) -> None:
        self._loops = list(loops)
        self.scheduler = scheduler

    def add_loop(self, loop: Loop) -> None:
        self._loops.append(loop)

    async def run(self, stop: asyncio.Event) -> None:
        errors: list[BaseException] = []

        async def guard(loop: Loop) -> None:
            try:
                await loop(stop)
            except Exception as exc:
                log.exception("runner_loop_failed", loop=_name(loop))
                errors.append(exc)
                stop.set()

        async with asyncio.TaskGroup() as group:
            for loop in [*self._loops, self.scheduler.run]:
                group.create_task(guard(loop))
        if errors:
            raise errors[0]


def _name(loop: Loop) -> str:
    return str(getattr(loop, "__qualname__", repr(loop)))


class RawWebhookPurge:
    """The job that deletes raw webhook bodies older than `retention`."""

    def __init__(self, db: Database, retention: timedelta) -> None:
        if retention < timedelta(0):
            raise ValueError(f"raw webhook retention is {retention}; it cannot be negative.")
        self._db = db
        self._retention = retention

    def __call__(self, now: datetime) -> int:
        with self._db.write() as conn:
            deleted = repo.purge_raw_webhooks(conn, now - self._retention)
        if deleted:
            log.info("raw_webhooks_purged", deleted=deleted)
        return deleted
