"""`GET /api/v1/events`: the console's live updates as server-sent events, for scripts."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import structlog
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app import access
from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Problem
from relaydesk.app.http.sse import Visibility, event_stream
from relaydesk.domain.permissions import Action, can
from relaydesk.services.accounts import User
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["api"], responses={401: {"model": Problem}})


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.EVENTS_READ)],
) -> StreamingResponse:
    """What happens to conversations, live: `id`, `event` (the kind) and JSON `data`
    (id, kind, conversation_id, actor_id, detail, created_at) per event. Send
    `Last-Event-ID` (or `?after=`) to resume. Supervisor alerts reach supervisors and
    admins only. Event details never hold message bodies or phone numbers. The stream
    ends when the token is revoked or expires or its user is deactivated (checked at every
    heartbeat, every 15 s, and before every event)."""

    found = access.credentials(request)

    async def authorise() -> Visibility | None:
        current = await anyio.to_thread.run_sync(access.still_signed_in, container, found, clock())
        if current is None:
            log.info("event_stream_closed", user_id=user.id, reason="token no longer valid")
            return None
        alerts = can(current.role, Action.ALERTS_RECEIVE)
        return lambda event: event.kind != EventKind.SUPERVISOR_ALERT or alerts

    return event_stream(request, container.hub, authorise)
