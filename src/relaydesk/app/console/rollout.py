"""Supervisors' Rollout page: the phase, the segment, each intent's mode, the gates with
their figures and intervals, the change log, and the buttons that promote and roll back
(each a POST with the session's CSRF token), as `relaydesk rollout` and the API do."""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from relaydesk.app.access import Actor
from relaydesk.app.console._web import allow, container_of, done, in_thread, now_of, render
from relaydesk.domain.permissions import Action
from relaydesk.domain.rollout import SEGMENT
from relaydesk.services.rollout import RolloutError

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/rollout"


async def _page(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    service = container_of(request).rollout
    now = now_of(request)
    found = await in_thread(lambda: service.status(now))
    return render(request, "rollout.html", {"status": found, "error": error}, status=status)


@router.get("/rollout", response_class=HTMLResponse)
async def rollout_page(
    request: Request, _session: Annotated[Actor, allow(Action.ROLLOUT_READ)]
) -> HTMLResponse:
    return await _page(request)


@router.post("/rollout/{action}", response_model=None)
async def rollout_change(
    action: Literal["promote", "rollback", "phase"],
    request: Request,
    session: Annotated[Actor, allow(Action.ROLLOUT_MANAGE)],
) -> Response:
    form = await request.form()
    service = container_of(request).rollout
    now = now_of(request)
    user = session.user
    subject = _text(form, "subject") or SEGMENT
    try:
        if action == "promote":
            force = _text(form, "force") == "yes"
            await in_thread(
                lambda: service.promote(
                    subject, actor=user.email, actor_id=user.id, now=now, force=force
                )
            )
        elif action == "rollback":
            reason = _text(form, "reason") or "by hand"
            await in_thread(
                lambda: service.rollback(
                    subject, actor=user.email, actor_id=user.id, now=now, reason=reason
                )
            )
        else:
            name = _text(form, "phase")
            await in_thread(
                lambda: service.set_phase(name, actor=user.email, actor_id=user.id, now=now)
            )
    except RolloutError as exc:
        log.info("console_rollout_refused", user_id=user.id, action=action, status=exc.status)
        return await _page(request, error=str(exc), status=exc.status)
    log.info("console_rollout_changed", user_id=user.id, action=action, subject=subject)
    return done(PAGE, "rollout_changed")


def _text(form: FormData, name: str) -> str:
    """A form field, without what no database or page can hold (NUL, half an emoji)."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    kept = (c for c in value if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF)
    return "".join(kept).strip()[:500]
