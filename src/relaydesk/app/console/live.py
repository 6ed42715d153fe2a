"""`GET /console/events`: the console's live updates, for the signed-in person's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app.console._web import SUPERVISORS, Viewer, container_of
from relaydesk.app.http.sse import event_stream
from relaydesk.services.events import Event, EventKind

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/events")
async def events(request: Request, session: Viewer) -> StreamingResponse:
    """Server-sent events (resumable with Last-Event-ID, a heartbeat every 15 s); the page
    script re-reads its live regions when one arrives. Supervisor alerts go to supervisors
    and admins only."""
    role = session.user.role

    def visible(event: Event) -> bool:
        return event.kind != EventKind.SUPERVISOR_ALERT or role in SUPERVISORS

    return event_stream(request, container_of(request).hub, visible)
