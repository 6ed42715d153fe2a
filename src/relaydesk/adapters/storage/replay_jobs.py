"""Queries of the replay jobs: submitting an uploaded history, a worker claiming the oldest
queued job, its progress, its end (a report, or the problems that stopped it), and the
reads of the console and the API. Every function takes the caller's transaction.

A claim counts in `attempts`, and a running job's later writes name the attempt they
belong to: a worker whose job was taken from it (it went silent for longer than the
caller's `stale_before` allows, and another worker claimed it) finds its writes refused
instead of overwriting the new run's.

The file and the report are stored as the caller gives them (gzip-compressed bytes): the
compressing is done before the transaction, so a SQLite writer holds the lock only to
store them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Row, select, update

from relaydesk.adapters.storage.tables import replay_jobs, users

State = Literal["queued", "running", "done", "failed"]
Report = Literal["json", "html"]


@dataclass(frozen=True, slots=True)
class ReplayJob:
    """A replay job as the console and the API show it (without the file or the report)."""

    id: int
    created_by: int | None
    created_by_name: str | None
    created_at: datetime
    file_name: str
    format: str  #: jsonl | csv | txt
    size_bytes: int
    business_name: str | None
    timezone: str
    date_order: str | None
    state: State
    attempts: int
    done_turns: int
    total_turns: int | None
    conversations: int | None
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    problems: tuple[str, ...]
    ready: bool | None
    brief_version: str | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a worker has just claimed, with the uploaded file."""

    job: ReplayJob
    content_gz: bytes

    @property
    def attempt(self) -> int:
        return self.job.attempts


_SHOWN = (
    replay_jobs.c.id,
    replay_jobs.c.created_by,
    users.c.name.label("created_by_name"),
    replay_jobs.c.created_at,
    replay_jobs.c.file_name,
    replay_jobs.c.format,
    replay_jobs.c.size_bytes,
    replay_jobs.c.business_name,
    replay_jobs.c.timezone,
    replay_jobs.c.date_order,
    replay_jobs.c.state,
    replay_jobs.c.attempts,
    replay_jobs.c.done_turns,
    replay_jobs.c.total_turns,
    replay_jobs.c.conversations,
    replay_jobs.c.started_at,
    replay_jobs.c.heartbeat_at,
    replay_jobs.c.finished_at,
    replay_jobs.c.problems,
    replay_jobs.c.ready,
    replay_jobs.c.brief_version,
)


def _shown() -> Any:
    return select(*_SHOWN).select_from(
        replay_jobs.outerjoin(users, users.c.id == replay_jobs.c.created_by)
    )


def _job(row: Row[Any]) -> ReplayJob:
    values = dict(row._mapping)
    values["problems"] = tuple(values["problems"] or ())
    return ReplayJob(**values)


def submit(
    conn: Connection,
    *,
    created_by: int | None,
    file_name: str,
    format: str,
    size_bytes: int,
    content_gz: bytes,
    business_name: str | None,
    timezone: str,
    date_order: str | None,
    now: datetime,
) -> ReplayJob:
    """A new queued job for the uploaded file."""
    job_id = conn.execute(
        replay_jobs.insert()
        .values(
            created_by=created_by,
            created_at=now,
            file_name=file_name,
            format=format,
            size_bytes=size_bytes,
            content_gz=content_gz,
            business_name=business_name,
            timezone=timezone,
            date_order=date_order,
            state="queued",
        )
        .returning(replay_jobs.c.id)
    ).scalar_one()
    found = get(conn, job_id)
    if found is None:  # pragma: no cover - inserted above in this transaction
        raise LookupError(f"replay job {job_id} vanished in its own transaction")
    return found


def get(conn: Connection, job_id: int) -> ReplayJob | None:
    row = conn.execute(_shown().where(replay_jobs.c.id == job_id)).first()
    return None if row is None else _job(row)


def recent(conn: Connection, *, limit: int) -> list[ReplayJob]:
    """The newest `limit` jobs, newest first."""
    rows = conn.execute(_shown().order_by(replay_jobs.c.id.desc()).limit(limit))
    return [_job(row) for row in rows]


def report(conn: Connection, job_id: int, kind: Report) -> bytes | None:
    """A done job's report as stored (gzip); None when the job has none (yet)."""
    column = replay_jobs.c.report_json_gz if kind == "json" else replay_jobs.c.report_html_gz
    return conn.execute(select(column).where(replay_jobs.c.id == job_id)).scalar_one_or_none()


#: a job back in the queue: nothing of the run it had is shown
_QUEUED_AGAIN: dict[str, Any] = {
    "state": "queued",
    "done_turns": 0,
    "total_turns": None,
    "conversations": None,
    "started_at": None,
    "heartbeat_at": None,
}


def has_work(conn: Connection, *, stale_before: datetime) -> bool:
    """Whether a job is queued, or running without a sign of life since `stale_before`:
    a cheap read before a worker opens a write transaction to claim."""
    found = conn.execute(select(replay_jobs.c.id).where(_claimable(stale_before)).limit(1)).first()
    return found is not None


def _claimable(stale_before: datetime) -> Any:
    return (replay_jobs.c.state == "queued") | (
        (replay_jobs.c.state == "running") & (replay_jobs.c.heartbeat_at < stale_before)
    )


def recover_stale(
    conn: Connection, now: datetime, *, stale_before: datetime, max_attempts: int
) -> tuple[list[int], list[int]]:
    """Running jobs silent since before `stale_before` (their worker died or hangs): back
    to the queue, or failed once they were claimed `max_attempts` times (a file that
    kills its worker must not take the next one down too). Returns (requeued, failed)."""
    stale = (replay_jobs.c.state == "running") & (replay_jobs.c.heartbeat_at < stale_before)
    failed = list(
        conn.execute(
            update(replay_jobs)
            .where(stale, replay_jobs.c.attempts >= max_attempts)
            .values(
                state="failed",
                finished_at=now,
                problems=[
                    f"the worker stopped answering while replaying this file, "
                    f"{max_attempts} times; it may be too large for the worker's memory: "
                    "split it into smaller files"
                ],
            )
            .returning(replay_jobs.c.id)
        ).scalars()
    )
    requeued = list(
        conn.execute(
            update(replay_jobs).where(stale).values(_QUEUED_AGAIN).returning(replay_jobs.c.id)
        ).scalars()
    )
    return requeued, failed


def claim_next(conn: Connection, now: datetime) -> Claimed | None:
    """The oldest queued job, now running under a new attempt, with its file. On
    PostgreSQL the row is locked (`FOR UPDATE SKIP LOCKED`), so workers claiming at once
    take different jobs; SQLite's write transaction excludes every other writer."""
    query = (
        select(replay_jobs.c.id)
        .where(replay_jobs.c.state == "queued")
        .order_by(replay_jobs.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job_id = conn.execute(query).scalar_one_or_none()
    if job_id is None:
        return None
    content = conn.execute(
        update(replay_jobs)
        .where(replay_jobs.c.id == job_id)
        .values(
            state="running",
            attempts=replay_jobs.c.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            done_turns=0,
        )
        .returning(replay_jobs.c.content_gz)
    ).scalar_one()
    job = get(conn, job_id)
    if job is None:  # pragma: no cover - locked above in this transaction
        raise LookupError(f"replay job {job_id} vanished while claimed")
    return Claimed(job, content)


def _running(job_id: int, attempt: int) -> Any:
    return (
        (replay_jobs.c.id == job_id)
        & (replay_jobs.c.state == "running")
        & (replay_jobs.c.attempts == attempt)
    )


def progress(
    conn: Connection,
    job_id: int,
    attempt: int,
    now: datetime,
    *,
    done: int,
    total: int | None = None,
    conversations: int | None = None,
) -> bool:
    """Record `done` customer turns replayed (and the totals, once known); also the
    job's sign of life. False when the attempt no longer owns the job."""
    values: dict[str, Any] = {"done_turns": done, "heartbeat_at": now}
    if total is not None:
        values["total_turns"] = total
    if conversations is not None:
        values["conversations"] = conversations
    result = conn.execute(update(replay_jobs).where(_running(job_id, attempt)).values(values))
    return result.rowcount == 1


def finish(
    conn: Connection,
    job_id: int,
    attempt: int,
    now: datetime,
    *,
    ready: bool,
    brief_version: str,
    report_json_gz: bytes,
    report_html_gz: bytes,
) -> bool:
    """The job is done with its verdict and report. False when the attempt no longer
    owns the job (nothing is written)."""
    result = conn.execute(
        update(replay_jobs)
        .where(_running(job_id, attempt))
        .values(
            state="done",
            finished_at=now,
            heartbeat_at=now,
            done_turns=replay_jobs.c.total_turns,
            ready=ready,
            brief_version=brief_version,
            report_json_gz=report_json_gz,
            report_html_gz=report_html_gz,
        )
    )
    return result.rowcount == 1


def fail(conn: Connection, job_id: int, attempt: int, now: datetime, problems: list[str]) -> bool:
    """The job failed for `problems` (and has no report). False when the attempt no
    longer owns the job."""
    result = conn.execute(
        update(replay_jobs)
        .where(_running(job_id, attempt))
        .values(state="failed", finished_at=now, heartbeat_at=now, problems=list(problems))
    )
    return result.rowcount == 1


def release(conn: Connection, job_id: int, attempt: int) -> bool:
    """Back to the queue, as if this attempt had not been made: its worker is shutting
    down and the next one starts it again."""
    result = conn.execute(
        update(replay_jobs)
        .where(_running(job_id, attempt))
        .values({**_QUEUED_AGAIN, "attempts": replay_jobs.c.attempts - 1})
    )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class StoredFiles:
    """What a replay job holds that may quote people: the uploaded file and the reports."""

    id: int
    content_gz: bytes
    report_json_gz: bytes | None
    report_html_gz: bytes | None


def stored_files(conn: Connection) -> list[StoredFiles]:
    """Every job's uploaded file and reports (gzip-compressed), for the customer erasure."""
    rows = conn.execute(
        select(
            replay_jobs.c.id,
            replay_jobs.c.content_gz,
            replay_jobs.c.report_json_gz,
            replay_jobs.c.report_html_gz,
        ).order_by(replay_jobs.c.id)
    )
    return [
        StoredFiles(
            int(row.id),
            bytes(row.content_gz),
            None if row.report_json_gz is None else bytes(row.report_json_gz),
            None if row.report_html_gz is None else bytes(row.report_html_gz),
        )
        for row in rows
    ]


def replace_files(conn: Connection, files: StoredFiles) -> None:
    """Store a job's file and reports as given (the erasure's blanked copies)."""
    conn.execute(
        update(replay_jobs)
        .where(replay_jobs.c.id == files.id)
        .values(
            content_gz=files.content_gz,
            report_json_gz=files.report_json_gz,
            report_html_gz=files.report_html_gz,
        )
    )
