"""The Approvals view: the bot's drafts (intents in draft mode) waiting for a person, each
with the conversation's newest messages; approve as drafted, edit then send, or reject
(the conversation then goes to people). Every role may use it, as every role sees the
queues; the rules are `services.drafts`' and the API's (`/api/v1/drafts`)."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from relaydesk.app.access import Actor
from relaydesk.app.console._web import (
    Refusal,
    allow,
    container_of,
    done,
    in_thread,
    now_of,
    refusal_from,
    render,
)
from relaydesk.app.http.schemas import Id, check_text
from relaydesk.brief.schema import format_duration
from relaydesk.domain.permissions import Action
from relaydesk.services.agents import ActionError

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/approvals"
#: How many drafts the page lists at once (the oldest first), and messages of each.
SHOWN = 30
CONTEXT = 6


@router.get("/approvals", response_class=HTMLResponse)
async def approvals(
    request: Request, _session: Annotated[Actor, allow(Action.DRAFTS_READ)]
) -> HTMLResponse:
    container = container_of(request)
    drafts = container.drafts

    def load() -> list[dict[str, Any]]:
        return [
            {"draft": d, "context": drafts.context(d.conversation_id, CONTEXT)}
            for d in drafts.waiting(SHOWN)
        ]

    timeout = format_duration(container.brief.rollout.draft_timeout)
    return render(request, "approvals.html", {"items": await in_thread(load), "timeout": timeout})


async def _handle(request: Request, action: Any, *args: Any) -> None:
    container = container_of(request)
    now = now_of(request)
    try:
        await in_thread(action, *args, now)
    except ActionError as exc:
        raise refusal_from(exc, PAGE) from None
    await in_thread(container.desk.assign_waiting, now)
    container.worker.wake.set()
    container.hub.wake()


@router.post("/approvals/{draft_id}/send")
async def send(
    request: Request, draft_id: Id, session: Annotated[Actor, allow(Action.DRAFTS_DECIDE)]
) -> RedirectResponse:
    """Send the draft: as drafted when the text is left as it is, else the edited text
    (its buttons kept)."""
    value = (await request.form()).get("text")
    text = value if isinstance(value, str) else None
    if text is not None:
        try:
            check_text(text, "text")
        except ValueError as exc:
            log.info("console_form_refused", field="text")
            raise Refusal(422, "Check what you entered", str(exc), PAGE) from None
    drafts = container_of(request).drafts

    def approve(user: Any, did: int, now: Any) -> None:
        drafts.approve(user, did, now, text)

    await _handle(request, approve, session.user, draft_id)
    return done(PAGE, "draft_sent")


@router.post("/approvals/{draft_id}/reject")
async def reject(
    request: Request, draft_id: Id, session: Annotated[Actor, allow(Action.DRAFTS_DECIDE)]
) -> RedirectResponse:
    drafts = container_of(request).drafts
    await _handle(request, drafts.reject, session.user, draft_id)
    return done(PAGE, "draft_rejected")
