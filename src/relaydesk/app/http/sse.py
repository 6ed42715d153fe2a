"""Server-sent events from the `EventHub`: the console's and the API's live updates."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse

from relaydesk.services.events import Event, EventHub

HEARTBEAT_SECONDS = 15.0

#: Which events the subscriber may see now, or None when they may no longer see any
#: (signed out, token revoked or expired, deactivated): the stream then closes.
Visibility = Callable[[Event], bool]
Authorise = Callable[[], Awaitable[Visibility | None]]


def last_event_id(request: Request) -> int | None:
    """The id a reconnecting browser resumes after (header, or `?after=` for curl)."""
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def format_event(event: Event) -> str:
    data = json.dumps(event.as_dict(), separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def _stream(
    hub: EventHub,
    after: int | None,
    authorise: Authorise,
    heartbeat: float,
) -> AsyncIterator[str]:
    # Subscribe first: ": connected" then means every event committed from now on
    # reaches this stream. It also tells the browser how long to wait before
    # reconnecting, and opens the stream at once so proxies and EventSource see it live.
    events = await hub.subscribe(after)
    pending: asyncio.Task[Event] | None = None
    try:
        yield "retry: 2000\n: connected\n\n"
        while True:
            if pending is None:
                pending = asyncio.ensure_future(events.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            visible = await authorise()  # on every heartbeat and before every delivery
            if visible is None:
                return
            if not done:
                yield ": heartbeat\n\n"
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            if visible(event):
                yield format_event(event)
    finally:
        # The client went away (Starlette cancels us): stop the pending read before
        # closing the subscription, shielded so the cleanup itself is not cancelled.
        with anyio.CancelScope(shield=True):
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            await events.aclose()


def event_stream(request: Request, hub: EventHub, authorise: Authorise) -> StreamingResponse:
    """A `text/event-stream` response: events the caller may see, heartbeats meanwhile
    (every `app.state.sse_heartbeat` seconds, default 15). Before each heartbeat and each
    event it asks `authorise` again, and ends the stream when the credentials no longer
    hold; it also ends when the client goes away (Starlette cancels the generator)."""
    heartbeat = float(getattr(request.app.state, "sse_heartbeat", HEARTBEAT_SECONDS))
    return StreamingResponse(
        _stream(hub, last_event_id(request), authorise, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
