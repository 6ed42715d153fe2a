"""The pre-launch replay as a job: a supervisor uploads a history file (console or API), a
worker replays it through the running brief (`services.launch_check`, as `relaydesk replay`
does) and stores the report for the console and the API.

`ReplayJobs.submit` checks the upload and queues it; `run_one` is the worker's step: claim
the oldest queued job, read its file (a bad file fails the job with its `file:line`
problems and no report), replay it with progress every `PROGRESS_EVERY` customer turns,
store the JSON and HTML reports. Each database write is a short transaction of its own
(the replay itself holds none), so on SQLite the decision stage never waits behind it for
long. `run_async` is the loop the worker's runner runs: one job at a time, in a thread.

A job whose worker went silent (a crash, a kill) for `STALE_AFTER` is queued again, and
failed once it was claimed `MAX_ATTEMPTS` times; a worker that is stopped puts its job back
in the queue at its next progress report.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Literal, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio.to_thread
import structlog

from relaydesk.adapters.storage import replay_jobs as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.replay_jobs import Claimed, ReplayJob, Report
from relaydesk.brief.schema import Brief
from relaydesk.domain.history import HistoryError

if TYPE_CHECKING:
    from relaydesk.domain.history import History
    from relaydesk.services.decisions import DecisionMaker
    from relaydesk.services.launch_check import Encode

__all__ = ["FORMATS", "ReplayJob", "ReplayJobError", "ReplayJobs", "Report", "Upload"]

log = structlog.get_logger(__name__)

#: the uploads a job reads, by extension, with what each holds (as `relaydesk replay`)
FORMATS = {
    ".jsonl": ("jsonl", "one JSON object a line"),
    ".csv": ("csv", "CSV with a header row"),
    ".txt": ("txt", 'a WhatsApp "Export chat" file'),
}
DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)
#: a running job not heard from for this long (no progress report) is taken to be dead
STALE_AFTER = timedelta(minutes=30)
#: claims of one job before a silent worker fails it instead of queueing it again
MAX_ATTEMPTS = 2
#: progress is written every this many customer turns (and once at the end)
PROGRESS_EVERY = 300
#: how often an idle worker looks for a queued job, in seconds
POLL_SECONDS = 1.0
#: jobs the lists show
RECENT = 50
MAX_FILE_NAME = 255
#: problems of a bad file kept with its job (a file of garbage has one for every line)
MAX_PROBLEMS = 200
MAX_BUSINESS_NAME = 200


class ReplayJobError(ValueError):
    """A replay request that cannot be done as asked; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Upload:
    """A history file as it was uploaded, with how to read it."""

    file_name: str  #: as the browser or client sent it (a path is cut to its last part)
    content: bytes
    business_name: str | None = None  #: the business's name in a WhatsApp export
    timezone: str | None = None  #: of times without one; None: the brief's
    date_order: str | None = None  #: dmy or mdy for an export that does not show it


class _Halted(Exception):
    """The worker is stopping: the job goes back to the queue."""


class _Lost(Exception):
    """The job is no longer this attempt's (it went silent and was claimed again)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:g} MB"


class ReplayJobs:
    """Replay jobs over `db`, replayed through `brief` with the decider `decider()` makes
    (built on first use, in the worker) and clustered with `encoder()` when it gives one."""

    def __init__(
        self,
        db: Database,
        brief: Brief,
        *,
        decider: Callable[[], DecisionMaker],
        encoder: Callable[[], Encode | None] = lambda: None,
        max_upload_bytes: int,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        if max_upload_bytes <= 0:
            raise ValueError(f"max_upload_bytes is {max_upload_bytes}; give a positive size")
        self._db = db
        self._brief = brief
        self._decider = decider
        self._encoder = encoder
        self.max_upload_bytes = max_upload_bytes
        self._clock = clock
        self._poll = poll_seconds
        self._halt = threading.Event()

    @property
    def default_timezone(self) -> str:
        return self._brief.business.timezone

    # -- what people ask ------------------------------------------------------------------

    def submit(self, upload: Upload, *, user_id: int | None) -> ReplayJob:
        """Check the upload and queue it; ReplayJobError (413 too large, 422 otherwise)
        names what is wrong and the fix."""
        name = _file_name(upload.file_name)
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in FORMATS:
            accepted = "; ".join(f"{ext} ({what})" for ext, (_, what) in FORMATS.items())
            raise ReplayJobError(
                f'{name}: cannot read "{suffix or "no extension"}" files; give {accepted}'
            )
        size = len(upload.content)
        if size > self.max_upload_bytes:
            raise ReplayJobError(
                f"{name} is {size:,} bytes; uploads are limited to "
                f"{megabytes(self.max_upload_bytes)} ({self.max_upload_bytes:,} bytes, "
                "RELAYDESK_REPLAY_MAX_UPLOAD_BYTES): split the history into smaller files",
                413,
            )
        if size == 0:
            raise ReplayJobError(f"{name} is empty; upload the history file itself")
        format_ = FORMATS[suffix][0]
        business = (upload.business_name or "").strip() or None
        if business is not None and len(business) > MAX_BUSINESS_NAME:
            raise ReplayJobError(f"the business name is longer than {MAX_BUSINESS_NAME} characters")
        if business is not None and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in business):
            raise ReplayJobError("the business name holds a NUL or half an emoji; type it again")
        if format_ == "txt" and business is None:
            raise ReplayJobError(
                f"{name} is a WhatsApp export: give the business name as the export writes "
                "it, to tell the business's messages from the customer's"
            )
        zone = _timezone((upload.timezone or "").strip() or self.default_timezone)
        order = (upload.date_order or "").strip().lower() or None
        if order is not None and order not in DATE_ORDERS:
            raise ReplayJobError(
                f"date order {upload.date_order!r} is not dmy (day first) or mdy (month first)"
            )
        content_gz = gzip.compress(upload.content, compresslevel=6)
        with self._db.write() as conn:
            job = store.submit(
                conn,
                created_by=user_id,
                file_name=name,
                format=format_,
                size_bytes=size,
                content_gz=content_gz,
                business_name=business,
                timezone=zone,
                date_order=order,
                now=self._clock(),
            )
        log.info("replay_job_submitted", job_id=job.id, user_id=user_id, format=format_, size=size)
        return job

    def get(self, job_id: int) -> ReplayJob:
        with self._db.read() as conn:
            found = store.get(conn, job_id)
        if found is None:
            raise ReplayJobError(f"there is no replay {job_id}", 404)
        return found

    def recent(self, limit: int = RECENT) -> list[ReplayJob]:
        with self._db.read() as conn:
            return store.recent(conn, limit=limit)

    def report(self, job_id: int, kind: Report) -> bytes:
        """A done job's report, gzip-compressed as stored; 404 for an unknown job, 409 for
        one that has none (yet)."""
        with self._db.read() as conn:
            job = store.get(conn, job_id)
            found = store.report(conn, job_id, kind) if job is not None else None
        if job is None:
            raise ReplayJobError(f"there is no replay {job_id}", 404)
        if found is None:
            raise ReplayJobError(_no_report(job), 409)
        return found

    # -- the worker -----------------------------------------------------------------------

    async def run_async(self, stop: asyncio.Event) -> None:
        """Run jobs one after another in a thread until `stop`; when there is none, look
        again every `poll_seconds`. `stop` halts a running replay at its next progress
        report and puts it back in the queue."""
        self._halt.clear()

        async def halt_on_stop() -> None:
            await stop.wait()
            self._halt.set()

        watcher = asyncio.create_task(halt_on_stop())
        log.info("replay_jobs_started", poll_seconds=self._poll)
        try:
            while not stop.is_set():
                try:
                    worked = await anyio.to_thread.run_sync(self.run_one)
                except Exception as exc:  # the database is away: try again at the next poll
                    log.error("replay_jobs_poll_failed", **_error_fields(exc))
                    worked = False
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self._poll)
        finally:
            watcher.cancel()
        log.info("replay_jobs_stopped")

    def run_one(self) -> bool:
        """Claim the oldest queued job and run it to its end (done or failed); False when
        no job was waiting."""
        now = self._clock()
        stale_before = now - STALE_AFTER
        with self._db.read() as conn:
            if not store.has_work(conn, stale_before=stale_before):
                return False
        with self._db.write() as conn:
            requeued, failed = store.recover_stale(
                conn, now, stale_before=stale_before, max_attempts=MAX_ATTEMPTS
            )
            claimed = store.claim_next(conn, now)
        for job_id in requeued:
            log.warning("replay_job_requeued", job_id=job_id, silent_for=str(STALE_AFTER))
        for job_id in failed:
            log.warning("replay_job_abandoned", job_id=job_id, attempts=MAX_ATTEMPTS)
        if claimed is None:
            return False
        self._run(claimed)
        return True

    def _run(self, claimed: Claimed) -> None:
        job = claimed.job
        log.info("replay_job_started", job_id=job.id, attempt=claimed.attempt, format=job.format)
        try:
            self._attempt(claimed)
        except _Lost:
            log.warning("replay_job_lost", job_id=job.id, attempt=claimed.attempt)
        except Exception as exc:
            log.error("replay_job_crashed", job_id=job.id, **_error_fields(exc))
            problem = (
                f"the replay stopped on an internal error ({type(exc).__name__}); the "
                f"worker's log has it as replay_job_crashed, job_id {job.id}"
            )
            with contextlib.suppress(_Lost):
                self._write(store.fail, claimed, [problem])

    def _attempt(self, claimed: Claimed) -> None:
        try:
            history = self._read(claimed)
        except HistoryError as exc:
            log.info("replay_job_bad_file", job_id=claimed.job.id, problems=len(exc.problems))
            self._write(store.fail, claimed, _capped(exc.problems))
            return
        try:
            self._replay(claimed, history)
        except _Halted:
            with self._db.write() as conn:
                store.release(conn, claimed.job.id, claimed.attempt)
            log.info("replay_job_released", job_id=claimed.job.id)

    def _read(self, claimed: Claimed) -> History:
        from relaydesk.adapters.history import read_upload

        job = claimed.job
        history = read_upload(
            job.file_name,
            gzip.decompress(claimed.content_gz),
            business_name=job.business_name,
            tz=ZoneInfo(job.timezone),
            date_order=cast("DateOrder | None", job.date_order),
        )
        if not history.conversations:
            raise HistoryError(
                [f"{job.file_name}: no conversation with a customer turn: nothing to replay"]
            )
        return history

    def _replay(self, claimed: Claimed, history: History) -> None:
        from relaydesk.reports import launch as render
        from relaydesk.services import launch_check

        total = history.customer_turn_count
        conversations = len(history.conversations)
        self._progress(claimed, 0, total=total, conversations=conversations)
        written = 0

        def progress(done: int) -> None:
            nonlocal written
            if self._halt.is_set():
                raise _Halted
            if done - written >= PROGRESS_EVERY or (done == total and done != written):
                self._progress(claimed, done)
                written = done

        encoder = self._encoder()
        report = launch_check.check(
            history, self._brief, self._decider(), encode=encoder, progress=progress
        )
        data = render.as_json(report, self._brief)
        html = render.render_html(report, self._brief, data)
        report_json = json.dumps(data, ensure_ascii=False).encode("utf-8")
        finished = self._write(
            store.finish,
            claimed,
            ready=report.ready,
            brief_version=report.brief_version,
            report_json_gz=gzip.compress(report_json, compresslevel=6),
            report_html_gz=gzip.compress(html.encode("utf-8"), compresslevel=6),
        )
        if finished:
            log.info(
                "replay_job_done",
                job_id=claimed.job.id,
                ready=report.ready,
                conversations=conversations,
                customer_turns=total,
            )

    def _progress(self, claimed: Claimed, done: int, **totals: int) -> None:
        with self._db.write() as conn:
            kept = store.progress(
                conn, claimed.job.id, claimed.attempt, self._clock(), done=done, **totals
            )
        if not kept:
            raise _Lost

    def _write(
        self, action: Callable[..., bool], claimed: Claimed, *args: Any, **values: Any
    ) -> bool:
        with self._db.write() as conn:
            kept = action(conn, claimed.job.id, claimed.attempt, self._clock(), *args, **values)
        if not kept:
            raise _Lost
        return True


def _file_name(raw: str) -> str:
    """The uploaded file's own name: the last part of a path (browsers on Windows may
    send one), without control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(c for c in name if c >= " " and c != "\x7f").strip()
    name = name.encode("utf-8", "replace").decode("utf-8")
    if not name:
        raise ReplayJobError(
            "the upload has no file name; its extension (.jsonl, .csv or .txt) says how to read it"
        )
    if len(name) > MAX_FILE_NAME:
        raise ReplayJobError(
            f"the file name is longer than {MAX_FILE_NAME} characters; rename the file"
        )
    return name


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], f"... and {more} more problems; fix these and upload again"]


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReplayJobError(
            f"time zone {name[:80]!r} is not an IANA time zone: use e.g. Europe/Madrid"
        ) from None
    return name


def _no_report(job: ReplayJob) -> str:
    if job.state == "failed":
        return f"replay {job.id} failed and has no report; its problems say why"
    if job.state == "running":
        total = "?" if job.total_turns is None else str(job.total_turns)
        return (
            f"replay {job.id} is running ({job.done_turns} of {total} customer turns); "
            "its report is there once its state is done"
        )
    return f"replay {job.id} is {job.state}; its report is there once its state is done"


def _error_fields(exc: BaseException) -> dict[str, Any]:
    """What a log line says of an error: its class and where it was raised, never its
    message (which may quote a customer's text or number)."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return {
        "error": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "raised_at": [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames],
    }
