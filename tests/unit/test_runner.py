"""The runner's scheduler, driven by hand-given times (no sleeping), and the runner's loops."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.services.runner import Runner, Scheduler

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
S = timedelta(seconds=1)


class Log:
    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.threads: set[int] = set()

    def job(self, name: str, *, fail: bool = False) -> Callable[[datetime], None]:
        def run(now: datetime) -> None:
            self.calls.append((name, now))
            self.threads.add(threading.get_ident())
            if fail:
                raise RuntimeError(f"{name} broke")

        return run


async def test_jobs_run_in_order_each_on_its_own_interval() -> None:
    log = Log()
    scheduler = Scheduler()
    scheduler.every("assignment", S, log.job("assignment"))
    scheduler.every("timers", S, log.job("timers"))
    scheduler.every("purge", 600 * S, log.job("purge"))

    assert await scheduler.run_due(T0) == ["assignment", "timers", "purge"]  # all due at first
    assert await scheduler.run_due(T0 + 0.5 * S) == []
    assert await scheduler.run_due(T0 + S) == ["assignment", "timers"]
    assert await scheduler.run_due(T0 + 599 * S) == ["assignment", "timers"]
    assert await scheduler.run_due(T0 + 600 * S) == ["assignment", "timers", "purge"]
    assert log.calls[:3] == [("assignment", T0), ("timers", T0), ("purge", T0)]
    assert threading.get_ident() not in log.threads  # blocking jobs stay off the event loop


async def test_a_failing_job_is_retried_next_tick_without_stopping_the_others() -> None:
    log = Log()
    scheduler = Scheduler(tick=S)
    scheduler.every("purge", 600 * S, log.job("purge", fail=True))
    scheduler.every("timers", S, log.job("timers"))

    assert await scheduler.run_due(T0) == ["purge", "timers"]
    assert [name for name, _ in log.calls] == ["purge", "timers"]  # the next job still ran
    assert scheduler.next_due() == T0 + S
    assert await scheduler.run_due(T0 + S) == ["purge", "timers"]  # tried again at once


async def test_a_job_that_recovers_goes_back_to_its_interval() -> None:
    broken = {"yes": True}
    calls: list[datetime] = []

    def flaky(now: datetime) -> None:
        calls.append(now)
        if broken["yes"]:
            raise RuntimeError("database away")

    scheduler = Scheduler(tick=S)
    scheduler.every("purge", 600 * S, flaky)
    await scheduler.run_due(T0)
    broken["yes"] = False
    await scheduler.run_due(T0 + S)
    assert await scheduler.run_due(T0 + 2 * S) == []
    assert scheduler.next_due() == T0 + 601 * S
    assert calls == [T0, T0 + S]


@pytest.mark.parametrize(
    ("name", "interval", "message"),
    [
        ("timers", S, "already scheduled"),
        ("zero", timedelta(0), "interval is 0:00:00"),
        ("negative", -S, "give a positive interval"),
    ],
)
def test_bad_schedules_are_refused(name: str, interval: timedelta, message: str) -> None:
    scheduler = Scheduler()
    scheduler.every("timers", S, lambda now: None)
    with pytest.raises(ValueError, match=message):
        scheduler.every(name, interval, lambda now: None)


def test_a_tick_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tick is 0:00:00"):
        Scheduler(tick=timedelta(0))


async def test_run_on_a_clock_until_stopped() -> None:
    now = {"t": T0}
    ran: list[datetime] = []
    stop = asyncio.Event()

    def job(at: datetime) -> None:
        ran.append(at)
        now["t"] += S  # the clock moves a second per run
        if len(ran) == 3:
            stop.set()

    scheduler = Scheduler(tick=timedelta(milliseconds=10), clock=lambda: now["t"])
    scheduler.every("job", S, job)
    await asyncio.wait_for(scheduler.run(stop), timeout=5)
    assert ran == [T0, T0 + S, T0 + 2 * S]


async def test_the_runner_runs_loops_beside_the_scheduler_until_stop() -> None:
    events: list[str] = []
    stop = asyncio.Event()
    scheduler = Scheduler(tick=timedelta(milliseconds=10))
    scheduler.every("tick", S, lambda now: events.append("tick"))

    async def outbox(stop: asyncio.Event) -> None:
        events.append("outbox")
        await stop.wait()

    async def decisions(stop: asyncio.Event) -> None:
        events.append("decisions")
        while "tick" not in events:
            await asyncio.sleep(0.01)
        stop.set()

    runner = Runner([outbox], scheduler=scheduler)
    runner.add_loop(decisions)  # a second loop is one line
    await asyncio.wait_for(runner.run(stop), timeout=5)
    assert {"outbox", "decisions", "tick"} <= set(events)


async def test_a_crashing_loop_stops_the_others_then_is_raised() -> None:
    stop = asyncio.Event()
    finished: list[str] = []

    async def steady(stop: asyncio.Event) -> None:
        await stop.wait()
        finished.append("steady")  # ended cleanly, not cancelled

    async def broken(stop: asyncio.Event) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("loop broke")

    runner = Runner([steady, broken], scheduler=Scheduler())
    with pytest.raises(RuntimeError, match="loop broke"):
        await asyncio.wait_for(runner.run(stop), timeout=5)
    assert stop.is_set()
    assert finished == ["steady"]
