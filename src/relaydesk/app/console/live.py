"""`GET /console/events`: the console's live updates, for the signed-in person's page."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app import access
from relaydesk.app.access import Actor
from relaydesk.app.console._web import allow, container_of, in_thread, now_of
from relaydesk.app.http.sse import Visibility, event_stream
from relaydesk.domain.permissions import Action, can
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/events")
async def events(
    request: Request, session: Annotated[Actor, allow(Action.EVENTS_READ)]
) -> StreamingResponse:
    """Server-sent events (resumable with Last-Event-ID, a heartbeat every 15 s); the page
    script re-reads its live regions when one arrives. Supervisor alerts go to supervisors
    and admins only. The stream ends once the session does (sign-out, expiry, a new
    password, deactivation): checked at every heartbeat and before every event."""
    container = container_of(request)
    found = access.credentials(request)

    async def authorise() -> Visibility | None:
        current = await in_thread(access.still_signed_in, container, found, now_of(request))
        if current is None:
            log.info("console_event_stream_closed", user_id=session.user.id)
            return None
        alerts = can(current.role, Action.ALERTS_RECEIVE)
        return lambda event: event.kind != EventKind.SUPERVISOR_ALERT or alerts

    return event_stream(request, container.hub, authorise)
