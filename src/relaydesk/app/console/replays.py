"""Supervisors' replays: upload a history file for the pre-launch replay, follow the jobs
(the list refreshes itself while one is queued or running), and open a done job's report,
the stored self-contained page."""

from __future__ import annotations

import gzip
from typing import Annotated

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from relaydesk.app.access import Actor
from relaydesk.app.console._web import (
    REFUSAL_TITLES,
    Refusal,
    allow,
    container_of,
    done,
    in_thread,
    render,
    templates,
)
from relaydesk.app.http.errors import printable
from relaydesk.app.http.headers import secure_report
from relaydesk.app.http.schemas import Id
from relaydesk.domain.permissions import Action
from relaydesk.services.replay_jobs import FORMATS, ReplayJobError, Upload, megabytes

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/replays"
#: a failed job's problems shown on the page (the API has them all)
PROBLEMS_SHOWN = 20
_FIELDS = ("business_name", "timezone", "date_order")


def file_size(size: int) -> str:
    """A file's size as people read it: "812 bytes", "35 KB", "4.2 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1_048_576:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1_048_576:.1f} MB"


templates.env.filters.update(file_size=file_size)


async def _page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    jobs = container_of(request).replays
    found = await in_thread(jobs.recent)
    return render(
        request,
        "replays.html",
        {
            "jobs": found,
            "active": any(job.state in ("queued", "running") for job in found),
            "values": printable(values or {"timezone": jobs.default_timezone}),
            "error": error,
            "limit": megabytes(jobs.max_upload_bytes),
            "accept": ",".join(FORMATS),
            "problems_shown": PROBLEMS_SHOWN,
        },
        status=status,
    )


@router.get("/replays", response_class=HTMLResponse)
async def replays_page(
    request: Request, _session: Annotated[Actor, allow(Action.REPLAY_READ)]
) -> HTMLResponse:
    return await _page(request)


@router.post("/replays", response_model=None)
async def submit_replay(
    request: Request, session: Annotated[Actor, allow(Action.REPLAY_RUN)]
) -> Response:
    form = await request.form()  # read (within the upload limit) by the CSRF check
    values = {name: _text(form, name) for name in _FIELDS}
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await _page(
            request, values=values, error="Choose a history file to upload.", status=422
        )
    content = await file.read()
    upload = Upload(file.filename, content, **values)
    jobs = container_of(request).replays
    try:
        job = await in_thread(lambda: jobs.submit(upload, user_id=session.user.id))
    except ReplayJobError as exc:
        log.info("console_replay_refused", user_id=session.user.id, status=exc.status)
        return await _page(request, values=values, error=str(exc), status=exc.status)
    log.info("console_replay_submitted", user_id=session.user.id, job_id=job.id)
    return done(PAGE, "replay_queued")


@router.get("/replays/{replay_id}/report", response_class=HTMLResponse)
async def replay_report(
    replay_id: Id, request: Request, _session: Annotated[Actor, allow(Action.REPLAY_READ)]
) -> Response:
    """The stored report page as it is: self-contained, under a CSP that runs no script."""
    jobs = container_of(request).replays
    try:
        stored = await in_thread(lambda: jobs.report(replay_id, "html"))
    except ReplayJobError as exc:
        raise Refusal(
            exc.status, REFUSAL_TITLES.get(exc.status, "Refused"), str(exc), PAGE
        ) from None
    page = await in_thread(gzip.decompress, stored)
    return secure_report(HTMLResponse(page))


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:200] if isinstance(value, str) else ""
