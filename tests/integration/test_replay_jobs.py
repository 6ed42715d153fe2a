"""The replay jobs' worker step and loop (`services.replay_jobs`) on both databases: progress
written as the replay goes, a stopped worker's job put back in the queue, an internal error
failing the job without its message in the log, a silent job taken over, and the loop
working a job submitted while it runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from relaydesk.adapters.storage import replay_jobs as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.services import replay_jobs
from relaydesk.services.decider import BriefDecider
from relaydesk.services.replay_jobs import ReplayJob, ReplayJobs, Upload
from tests.acceptance.replay_uploads import customer_turns, history_slice

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
HISTORY = history_slice(20)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Gate:
    """A decider that waits at its first model call until the test opens it."""

    def __init__(self, decider: BriefDecider) -> None:
        self._decider = decider
        self.brief = decider.brief
        self.entered = threading.Event()
        self.opened = threading.Event()

    def understand_many(self, messages: Sequence[Any]) -> Any:
        self.entered.set()
        assert self.opened.wait(30), "the test never opened the gate"
        return self._decider.understand_many(messages)

    def decide(self, *args: Any) -> Any:
        return self._decider.decide(*args)


class Broken:
    """A decider that fails on every message, with a customer's words in the error."""

    def __init__(self, decider: BriefDecider) -> None:
        self._decider = decider
        self.brief = decider.brief

    def understand_many(self, messages: Sequence[Any]) -> Any:
        return self._decider.understand_many(messages)

    def decide(self, *args: Any) -> Any:
        raise RuntimeError("my card 4111 was charged twice")


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def service(
    db: Database, brief: Brief, decider: Any = None, clock: Clock | None = None
) -> ReplayJobs:
    return ReplayJobs(
        db,
        brief,
        decider=lambda: decider or BriefDecider.from_brief(brief),
        max_upload_bytes=1_000_000,
        clock=clock or Clock(),
        poll_seconds=0.05,
    )


def submit(jobs: ReplayJobs) -> ReplayJob:
    return jobs.submit(Upload("shop.jsonl", HISTORY), user_id=None)


def test_progress_is_written_as_the_replay_goes(
    db: Database, brief: Brief, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay reports every 100 turns; a write waits for 150 more (and the end)."""
    monkeypatch.setattr(replay_jobs, "PROGRESS_EVERY", 150)
    written: list[int] = []
    original = store.progress

    def recording(*args: Any, **values: Any) -> bool:
        written.append(values["done"])
        return original(*args, **values)

    monkeypatch.setattr(store, "progress", recording)
    jobs = service(db, brief)
    history = history_slice(160)
    total = customer_turns(history)
    assert 300 < total < 400
    job = jobs.submit(Upload("shop.jsonl", history), user_id=None)
    assert jobs.run_one()
    assert written == [0, 200, total]
    done = jobs.get(job.id)
    assert (done.state, done.done_turns, done.total_turns) == ("done", total, total)


def test_a_stopped_worker_puts_its_job_back_in_the_queue(db: Database, brief: Brief) -> None:
    gate = Gate(BriefDecider.from_brief(brief))
    jobs = service(db, brief, gate)
    job = submit(jobs)

    async def scenario() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(jobs.run_async(stop))
        assert await asyncio.to_thread(gate.entered.wait, 30)
        assert jobs.get(job.id).state == "running"
        stop.set()
        await asyncio.sleep(0.05)
        gate.opened.set()
        await asyncio.wait_for(loop, 30)

    asyncio.run(scenario())
    back = jobs.get(job.id)
    assert (back.state, back.attempts, back.done_turns) == ("queued", 0, 0)


def test_an_internal_error_fails_the_job_and_logs_no_values(db: Database, brief: Brief) -> None:
    jobs = service(db, brief, Broken(BriefDecider.from_brief(brief)))
    job = submit(jobs)
    with capture_logs() as logs:
        assert jobs.run_one()
    failed = jobs.get(job.id)
    assert failed.state == "failed"
    assert failed.problems == (
        "the replay stopped on an internal error (RuntimeError); the worker's log has it as "
        f"replay_job_crashed, job_id {job.id}",
    )
    crashed = [e for e in logs if e["event"] == "replay_job_crashed"]
    assert crashed and crashed[0]["error"] == "builtins.RuntimeError"
    assert "4111" not in repr(logs)


def test_a_silent_job_is_taken_over_and_finished(db: Database, brief: Brief) -> None:
    clock = Clock()
    jobs = service(db, brief, clock=clock)
    job = submit(jobs)
    with db.write() as conn:  # a worker claimed it, then died
        assert store.claim_next(conn, T0) is not None
    clock.now = T0 + replay_jobs.STALE_AFTER
    assert not jobs.run_one()  # silent for exactly the limit: still its worker's
    clock.now += timedelta(seconds=1)
    with capture_logs() as logs:
        assert jobs.run_one()
    done = jobs.get(job.id)
    assert (done.state, done.attempts) == ("done", 2)
    assert {"event": "replay_job_requeued", "job_id": job.id} in [
        {k: e[k] for k in ("event", "job_id") if k in e} for e in logs
    ]


def test_the_loop_works_a_job_submitted_while_it_waits(db: Database, brief: Brief) -> None:
    jobs = service(db, brief)

    async def scenario() -> ReplayJob:
        stop = asyncio.Event()
        loop = asyncio.create_task(jobs.run_async(stop))
        await asyncio.sleep(0.2)  # idle: it polls
        job = await asyncio.to_thread(submit, jobs)
        for _ in range(600):
            found = await asyncio.to_thread(jobs.get, job.id)
            if found.state == "done":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(loop, 10)
        return found

    assert asyncio.run(scenario()).state == "done"
