"""`GET /console/events`: the console's live updates, for the signed-in person's page."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app.console._web import COOKIE, SUPERVISORS, Viewer, container_of, in_thread, now_of
from relaydesk.app.http.sse import Visibility, event_stream
from relaydesk.services import sessions
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/events")
async def events(request: Request, session: Viewer) -> StreamingResponse:
    """Server-sent events (resumable with Last-Event-ID, a heartbeat every 15 s); the page
    script re-reads its live regions when one arrives. Supervisor alerts go to supervisors
    and admins only. The stream ends once the session does (sign-out, expiry, a new
    password, deactivation): checked at every heartbeat and before every event."""
    container = container_of(request)
    token = request.cookies.get(COOKIE, "")

    async def authorise() -> Visibility | None:
        def check() -> sessions.ConsoleSession | sessions.Expired | None:
            with container.db.read() as conn:
                return sessions.lookup(conn, token, now_of(request))

        current = await in_thread(check)
        if not isinstance(current, sessions.ConsoleSession):
            log.info("console_event_stream_closed", user_id=session.user.id)
            return None
        role = current.user.role
        return lambda event: event.kind != EventKind.SUPERVISOR_ALERT or role in SUPERVISORS

    return event_stream(request, container.hub, authorise)
