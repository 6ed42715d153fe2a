"""The replay jobs' storage adapter (`adapters.storage.replay_jobs`) on SQLite and
PostgreSQL: a job submitted, claimed oldest first (by concurrent workers, different jobs),
its progress, its end with a report or with problems, a silent job recovered, and the
writes of an attempt that lost its job refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from relaydesk.adapters.storage import replay_jobs as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.replay_jobs import ReplayJob
from tests.integration.storage_rows import NOW, postgres_only, user

STALE = timedelta(minutes=30)
LATER = NOW + timedelta(minutes=5)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def submit(db: Database, name: str = "history.jsonl", *, by: int | None = None) -> ReplayJob:
    with db.write() as conn:
        return store.submit(
            conn,
            created_by=by,
            file_name=name,
            format=name.rsplit(".", 1)[-1],
            size_bytes=1234,
            content_gz=f"gz:{name}".encode(),
            business_name="Northwind" if name.endswith(".txt") else None,
            timezone="Europe/Madrid",
            date_order="dmy" if name.endswith(".txt") else None,
            now=NOW,
        )


def claim(db: Database, now: datetime = NOW) -> store.Claimed | None:
    with db.write() as conn:
        return store.claim_next(conn, now)


def recover(db: Database, now: datetime, max_attempts: int = 2) -> tuple[list[int], list[int]]:
    with db.write() as conn:
        return store.recover_stale(conn, now, stale_before=now - STALE, max_attempts=max_attempts)


def job(db: Database, job_id: int) -> ReplayJob:
    with db.read() as conn:
        found = store.get(conn, job_id)
    assert found is not None
    return found


def test_a_submitted_job_is_queued_and_listed_newest_first(db: Database) -> None:
    lead = user(db, "Lena", role="supervisor")
    first = submit(db, "shop.jsonl", by=lead)
    second = submit(db, "Ana.txt")
    assert first == ReplayJob(
        id=first.id,
        created_by=lead,
        created_by_name="Lena",
        created_at=NOW,
        file_name="shop.jsonl",
        format="jsonl",
        size_bytes=1234,
        business_name=None,
        timezone="Europe/Madrid",
        date_order=None,
        state="queued",
        attempts=0,
        done_turns=0,
        total_turns=None,
        conversations=None,
        started_at=None,
        heartbeat_at=None,
        finished_at=None,
        problems=(),
        ready=None,
        brief_version=None,
    )
    assert (second.business_name, second.date_order, second.created_by_name) == (
        "Northwind",
        "dmy",
        None,
    )
    with db.read() as conn:
        assert [j.id for j in store.recent(conn, limit=10)] == [second.id, first.id]
        assert [j.id for j in store.recent(conn, limit=1)] == [second.id]
        assert store.get(conn, second.id + 100) is None


def test_the_oldest_queued_job_is_claimed_with_its_file(db: Database) -> None:
    first, second = submit(db, "a.jsonl"), submit(db, "b.csv")
    claimed = claim(db, LATER)
    assert claimed is not None
    assert (claimed.job.id, claimed.content_gz, claimed.attempt) == (first.id, b"gz:a.jsonl", 1)
    assert (claimed.job.state, claimed.job.started_at, claimed.job.heartbeat_at) == (
        "running",
        LATER,
        LATER,
    )
    again = claim(db)
    assert again is not None and again.job.id == second.id
    assert claim(db) is None


def test_work_is_seen_only_for_queued_or_silent_jobs(db: Database) -> None:
    with db.read() as conn:
        assert not store.has_work(conn, stale_before=NOW)
    submit(db)
    with db.read() as conn:
        assert store.has_work(conn, stale_before=NOW)
    claim(db)
    with db.read() as conn:
        assert not store.has_work(conn, stale_before=NOW)  # running, heard from at NOW
        assert store.has_work(conn, stale_before=NOW + timedelta(seconds=1))


def test_progress_then_finish_stores_the_verdict_and_the_report(db: Database) -> None:
    queued = submit(db)
    claimed = claim(db)
    assert claimed is not None
    with db.write() as conn:
        assert store.progress(conn, queued.id, 1, NOW, done=0, total=900, conversations=60)
        assert store.progress(conn, queued.id, 1, LATER, done=300)
    running = job(db, queued.id)
    assert (running.done_turns, running.total_turns, running.conversations) == (300, 900, 60)
    assert running.heartbeat_at == LATER
    with db.read() as conn:
        assert store.report(conn, queued.id, "json") is None
    end = LATER + timedelta(minutes=1)
    with db.write() as conn:
        assert store.finish(
            conn,
            queued.id,
            1,
            end,
            ready=False,
            brief_version="v-abc",
            report_json_gz=b"json-gz",
            report_html_gz=b"html-gz",
        )
    done = job(db, queued.id)
    assert (done.state, done.ready, done.brief_version, done.finished_at) == (
        "done",
        False,
        "v-abc",
        end,
    )
    assert done.done_turns == 900
    with db.read() as conn:
        assert store.report(conn, queued.id, "json") == b"json-gz"
        assert store.report(conn, queued.id, "html") == b"html-gz"
        assert store.report(conn, queued.id + 1, "html") is None


def test_a_failed_job_keeps_its_problems_and_has_no_report(db: Database) -> None:
    queued = submit(db)
    claim(db)
    problems = ["history.jsonl:3: author 'robot' is not customer, bot or agent"]
    with db.write() as conn:
        assert store.fail(conn, queued.id, 1, LATER, problems)
    failed = job(db, queued.id)
    assert (failed.state, failed.problems, failed.finished_at) == (
        "failed",
        tuple(problems),
        LATER,
    )
    with db.read() as conn:
        assert store.report(conn, queued.id, "json") is None


def test_a_silent_job_is_queued_again_then_failed_at_the_last_attempt(db: Database) -> None:
    queued = submit(db)
    claim(db, NOW)
    with db.write() as conn:
        store.progress(conn, queued.id, 1, NOW, done=300, total=900, conversations=60)
    assert recover(db, NOW + STALE) == ([], [])  # silent for exactly the limit: not yet
    late = NOW + STALE + timedelta(seconds=1)
    assert recover(db, late) == ([queued.id], [])
    requeued = job(db, queued.id)
    assert (requeued.state, requeued.attempts, requeued.started_at) == ("queued", 1, None)
    assert (requeued.done_turns, requeued.total_turns, requeued.conversations) == (0, None, None)
    second = claim(db, late)
    assert second is not None and second.attempt == 2
    much_later = late + STALE + timedelta(seconds=1)
    assert recover(db, much_later) == ([], [queued.id])
    failed = job(db, queued.id)
    assert failed.state == "failed" and failed.finished_at == much_later
    assert "stopped answering while replaying this file, 2 times" in failed.problems[0]


def test_an_attempt_that_lost_its_job_writes_nothing(db: Database) -> None:
    """The first worker went silent, the job was claimed again: its late writes are
    refused and the second run's state stays."""
    queued = submit(db)
    claim(db, NOW)
    late = NOW + STALE + timedelta(seconds=1)
    recover(db, late)
    assert claim(db, late) is not None
    with db.write() as conn:
        assert not store.progress(conn, queued.id, 1, late, done=500)
        assert not store.finish(
            conn,
            queued.id,
            1,
            late,
            ready=True,
            brief_version="v",
            report_json_gz=b"x",
            report_html_gz=b"y",
        )
        assert not store.fail(conn, queued.id, 1, late, ["too late"])
        assert not store.release(conn, queued.id, 1)
    current = job(db, queued.id)
    assert (current.state, current.attempts, current.done_turns, current.ready) == (
        "running",
        2,
        0,
        None,
    )


def test_a_released_job_is_queued_as_if_not_tried(db: Database) -> None:
    queued = submit(db)
    claim(db)
    with db.write() as conn:
        assert store.progress(conn, queued.id, 1, LATER, done=100, total=200)
        assert store.release(conn, queued.id, 1)
    back = job(db, queued.id)
    assert (back.state, back.attempts, back.done_turns, back.total_turns) == ("queued", 0, 0, None)
    assert (back.started_at, back.heartbeat_at) == (None, None)
    again = claim(db)
    assert again is not None and again.attempt == 1


def test_concurrent_workers_claim_different_jobs(db: Database) -> None:
    """PostgreSQL: a job claimed in an open transaction is skipped, not waited for."""
    postgres_only(db)
    first, second = submit(db, "a.jsonl"), submit(db, "b.jsonl")
    with db.write() as one:
        mine = store.claim_next(one, NOW)
        with db.write() as other:
            theirs = store.claim_next(other, NOW)
            nothing = store.claim_next(other, NOW)
    assert mine is not None and theirs is not None
    assert (mine.job.id, theirs.job.id, nothing) == (first.id, second.id, None)
