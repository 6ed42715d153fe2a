"""`GET /r/<token>`: a tracked booking link. A genuine token records the click against its
conversation and redirects (302) to the brief's booking URL; anything else is a 404 page
that says so and redirects nowhere (`services.links`)."""

from __future__ import annotations

from html import escape

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.app.http.deps import ClockDep, ContainerDep
from relaydesk.services import links

router = APIRouter(include_in_schema=False)

_NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not found</title></head>
<body><h1>Link not found</h1>
<p>This link is not one we sent, or it is no longer offered. Ask us again in the chat and
we will send you a new one.</p><p><small>{token}</small></p></body></html>
"""


@router.get("/r/{token:path}")
async def follow(
    token: str, request: Request, container: ContainerDep, clock: ClockDep
) -> Response:
    """Count the click and send the customer on to the booking page."""
    target = await anyio.to_thread.run_sync(
        links.click, container.db, container.booking_links, container.brief, token, clock()
    )
    if target is None:
        return HTMLResponse(
            _NOT_FOUND.format(token=escape(token[:64])),
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )
    return RedirectResponse(
        target,
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
