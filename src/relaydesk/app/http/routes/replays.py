"""`/api/v1/replays`: the pre-launch replay as a job, for supervisors and admins. Upload a
history file, follow its progress, read the report (JSON or the HTML page)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import anyio.to_thread
import structlog
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response

from relaydesk.app.http.deps import ContainerDep, allow
from relaydesk.app.http.headers import secure_report
from relaydesk.app.http.schemas import (
    Id,
    Problem,
    ReplayLinksOut,
    ReplayList,
    ReplayOut,
    ReplayProgressOut,
    Text,
)
from relaydesk.domain.permissions import Action
from relaydesk.services.accounts import User
from relaydesk.services.replay_jobs import ReplayJob, ReplayJobError, Upload

log = structlog.get_logger(__name__)
T = TypeVar("T")
PATH = "/api/v1/replays"

router = APIRouter(
    prefix="/api/v1",
    tags=["replays"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


def replay_out(job: ReplayJob) -> ReplayOut:
    done = job.state == "done"
    return ReplayOut(
        id=job.id,
        state=job.state,
        file_name=job.file_name,
        format=job.format,
        size_bytes=job.size_bytes,
        business_name=job.business_name,
        timezone=job.timezone,
        date_order=job.date_order,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=ReplayProgressOut(done=job.done_turns, total=job.total_turns),
        conversations=job.conversations,
        ready=job.ready,
        brief_version=job.brief_version,
        problems=list(job.problems),
        links=ReplayLinksOut(
            self=f"{PATH}/{job.id}",
            report=f"{PATH}/{job.id}/report" if done else None,
            report_html=f"{PATH}/{job.id}/report.html" if done else None,
        ),
    )


async def _call(func: Callable[[], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(func)
    except ReplayJobError as exc:
        log.info("api_replay_refused", status=exc.status)
        raise HTTPException(exc.status, str(exc)) from None


@router.post(
    "/replays",
    response_model=ReplayOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={413: {"model": Problem}, 422: {"model": Problem}},
)
async def submit_replay(
    container: ContainerDep,
    user: Annotated[User, allow(Action.REPLAY_RUN)],
    file: Annotated[
        UploadFile,
        File(description="The history: .jsonl, .csv or a WhatsApp export .txt (docs/replay.md)."),
    ],
    business_name: Annotated[
        Text | None,
        Form(max_length=200, description="WhatsApp exports: the business's name in the chat."),
    ] = None,
    timezone: Annotated[
        Text | None,
        Form(max_length=64, description="Of times written without one; default: the brief's."),
    ] = None,
    date_order: Annotated[
        Literal["dmy", "mdy"] | None,
        Form(description="WhatsApp exports whose dates do not show it: day or month first."),
    ] = None,
) -> ReplayOut:
    """Queue a replay of a history file through the running brief. The worker replays it
    (the state goes queued, running, then done with the report, or failed with the file's
    problems); follow it at `links.self`."""
    content = await file.read()
    upload = Upload(file.filename or "", content, business_name, timezone, date_order)
    job = await _call(lambda: container.replays.submit(upload, user_id=user.id))
    return replay_out(job)


@router.get("/replays", response_model=ReplayList)
async def list_replays(
    container: ContainerDep, _user: Annotated[User, allow(Action.REPLAY_READ)]
) -> ReplayList:
    """The latest 50 replays, newest first."""
    jobs = await _call(container.replays.recent)
    return ReplayList(replays=[replay_out(job) for job in jobs])


@router.get("/replays/{replay_id}", response_model=ReplayOut, responses={404: {"model": Problem}})
async def get_replay(
    replay_id: Id, container: ContainerDep, _user: Annotated[User, allow(Action.REPLAY_READ)]
) -> ReplayOut:
    """One replay: its state, progress, verdict once done, problems if it failed."""
    return replay_out(await _call(lambda: container.replays.get(replay_id)))


@router.get(
    "/replays/{replay_id}/report",
    response_class=Response,
    responses={
        200: {
            "description": "The report, as `relaydesk replay --json` writes it.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        404: {"model": Problem},
        409: {"model": Problem, "description": "The replay is not done (yet)."},
    },
)
async def replay_report(
    request: Request,
    replay_id: Id,
    container: ContainerDep,
    _user: Annotated[User, allow(Action.REPLAY_READ)],
) -> Response:
    """A done replay's report: every turn with its scores, the verdict per intent and what
    to fix first."""
    stored = await _call(lambda: container.replays.report(replay_id, "json"))
    return _gzipped(request, stored, "application/json")


@router.get(
    "/replays/{replay_id}/report.html",
    response_class=HTMLResponse,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def replay_report_html(
    request: Request,
    replay_id: Id,
    container: ContainerDep,
    _user: Annotated[User, allow(Action.REPLAY_READ)],
) -> Response:
    """A done replay's report as one self-contained HTML page (inline styles and SVG
    charts, nothing loaded from elsewhere)."""
    stored = await _call(lambda: container.replays.report(replay_id, "html"))
    return secure_report(_gzipped(request, stored, "text/html; charset=utf-8"))


def _gzipped(request: Request, stored: bytes, media_type: str) -> Response:
    """The stored (gzip) report as it is for a client that takes gzip, else unpacked."""
    headers = {"Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(stored, media_type=media_type, headers=headers)
    return Response(gzip.decompress(stored), media_type=media_type, headers=headers)


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (`gzip`, or `*` when gzip is not
    named; a weight of `q=0` refuses)."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        weight = params.strip().lower().removeprefix("q=").strip() or "1"
        try:
            weights[name.strip().lower()] = float(weight)
        except ValueError:
            weights[name.strip().lower()] = 0.0
    given = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return given > 0
