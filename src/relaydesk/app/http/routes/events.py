"""`GET /api/v1/events`: the console's live updates as server-sent events, for scripts."""

from __future__ import annotations

import anyio.to_thread
import structlog
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from relaydesk.app.http.deps import ClockDep, ContainerDep, Operator
from relaydesk.app.http.schemas import Problem
from relaydesk.app.http.sse import Visibility, event_stream
from relaydesk.services import accounts
from relaydesk.services.accounts import User
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["api"], responses={401: {"model": Problem}})

SUPERVISORS = frozenset({"supervisor", "admin"})


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request, container: ContainerDep, clock: ClockDep, user: Operator
) -> StreamingResponse:
    """What happens to conversations, live: `id`, `event` (the kind) and JSON `data`
    (id, kind, conversation_id, actor_id, detail, created_at) per event. Send
    `Last-Event-ID` (or `?after=`) to resume. Supervisor alerts reach supervisors and
    admins only. Event details never hold message bodies or phone numbers. The stream
    ends when the token is revoked or expires or its user is deactivated (checked at every
    heartbeat, every 15 s, and before every event)."""

    token = request.headers.get("authorization", "").partition(" ")[2].strip()

    async def authorise() -> Visibility | None:
        def check() -> User | None:
            with container.db.read() as conn:
                return accounts.token_user(conn, token, clock())

        current = await anyio.to_thread.run_sync(check)
        if current is None:
            log.info("event_stream_closed", user_id=user.id, reason="token no longer valid")
            return None
        role = current.role
        return lambda event: event.kind != EventKind.SUPERVISOR_ALERT or role in SUPERVISORS

    return event_stream(request, container.hub, authorise)
