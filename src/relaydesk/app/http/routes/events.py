"""`GET /api/v1/events`: the console's live updates as server-sent events, for scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app.http.deps import ContainerDep, Operator
from relaydesk.app.http.schemas import Problem
from relaydesk.app.http.sse import event_stream
from relaydesk.services.events import Event, EventKind

router = APIRouter(prefix="/api/v1", tags=["api"], responses={401: {"model": Problem}})

SUPERVISORS = frozenset({"supervisor", "admin"})


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request, container: ContainerDep, user: Operator
) -> StreamingResponse:
    """What happens to conversations, live: `id`, `event` (the kind) and JSON `data`
    (id, kind, conversation_id, actor_id, detail, created_at) per event. Send
    `Last-Event-ID` (or `?after=`) to resume. Supervisor alerts reach supervisors and
    admins only. Event details never hold message bodies or phone numbers."""

    def visible(event: Event) -> bool:
        return event.kind != EventKind.SUPERVISOR_ALERT or user.role in SUPERVISORS

    return event_stream(request, container.hub, visible)
