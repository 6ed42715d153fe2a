"""The Integrations page (supervisors and admins): the integration outbox's dead letters,
each with what the CRM or webhook answered last, and a button to retry it. The rules are
`services.integrations`' and the API's (`/api/v1/integrations`)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from relaydesk.app.access import Actor
from relaydesk.app.console._web import Refusal, allow, container_of, in_thread, now_of, render
from relaydesk.app.http.schemas import Id
from relaydesk.domain.permissions import Action
from relaydesk.services.integrations import NotADeadLetter, dead_letters, retry_dead_letter

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/integrations"
SHOWN = 200


@router.get("/integrations", response_class=HTMLResponse)
async def integrations_page(
    request: Request, _session: Annotated[Actor, allow(Action.INTEGRATIONS_READ)]
) -> HTMLResponse:
    container = container_of(request)
    rows = await in_thread(dead_letters, container.db, SHOWN)
    retried = request.query_params.get("retried", "")
    return render(
        request,
        "integrations.html",
        {
            "rows": rows,
            "configured": sorted(container.brief.integrations),
            "retried": int(retried) if retried.isdigit() else None,
        },
    )


@router.post("/integrations/dead-letters/{row_id}/retry")
async def retry(
    request: Request, row_id: Id, session: Annotated[Actor, allow(Action.INTEGRATIONS_RETRY)]
) -> RedirectResponse:
    container = container_of(request)
    try:
        await in_thread(retry_dead_letter, container.db, row_id, session.user, now_of(request))
    except NotADeadLetter as exc:
        log.info("console_dead_letter_retry_refused", row_id=row_id)
        raise Refusal(404, "Not a dead letter", str(exc), PAGE) from None
    return RedirectResponse(f"{PAGE}?retried={row_id}", status_code=303)
