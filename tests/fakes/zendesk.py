"""A local Zendesk Support API for the integration tests.

Request and response shapes follow Zendesk's published Support API reference
(developer.zendesk.com/api-reference/ticketing/): `GET /api/v2/users/me` ({"user": ...}),
`GET /api/v2/users/search?query=` and `?external_id=` ({"users": [...]}),
`GET /api/v2/tickets?external_id=` ({"tickets": [...]}), `POST /api/v2/tickets`
({"ticket": {...}} -> 201 {"ticket": ...}, honouring `Idempotency-Key`) and
`PUT /api/v2/tickets/{id}` (a `comment` is added to the ticket's comments,
`additional_tags` to its tags). Basic auth is `{email}/token:{token}`.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.testing import ServerThread


@dataclass
class Fault:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": "InternalError"}'
    delay: float = 0.0  #: seconds before answering (a timeout, past the client's)


@dataclass
class ZendeskState:
    email: str
    token: str
    role: str = "admin"
    users: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    down: bool = False  #: every call answers 503 while set
    requests: list[tuple[str, str]] = field(default_factory=list)
    idempotency: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ZendeskServer(ServerThread):
    def __init__(self, email: str = "bot@example.com", token: str = "zd-token") -> None:  # noqa: S107
        self.state = ZendeskState(email=email, token=token)
        super().__init__(_app(self.state))

    def __enter__(self) -> ZendeskServer:
        super().__enter__()
        return self

    def fail(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)


def _app(state: ZendeskState) -> Starlette:
    def authorised(request: Request) -> bool:
        expected = base64.b64encode(f"{state.email}/token:{state.token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def gate(request: Request) -> Response | None:
        with state.lock:
            state.requests.append((request.method, request.url.path))
            fault = state.faults.popleft() if state.faults else None
            down = state.down
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return Response(fault.body, fault.status, fault.headers, media_type="application/json")
        if down:
            return JSONResponse({"error": "ServiceUnavailable"}, 503)
        if not authorised(request):
            return JSONResponse({"error": "Couldn't authenticate you"}, 401)
        return None

    async def me(request: Request) -> Response:
        if (early := await gate(request)) is not None:
            return early
        return JSONResponse({"user": {"id": 1, "role": state.role, "email": state.email}})

    async def search_users(request: Request) -> Response:
        if (early := await gate(request)) is not None:
            return early
        query = request.query_params.get("query", "")
        external_id = request.query_params.get("external_id")
        if external_id is not None:
            found = [u for u in state.users if u.get("external_id") == external_id]
        else:
            phone = query.removeprefix("phone:")
            found = [
                u for u in state.users if query.startswith("phone:") and u.get("phone") == phone
            ]
        return JSONResponse({"users": found, "count": len(found), "next_page": None})

    async def tickets(request: Request) -> Response:
        if (early := await gate(request)) is not None:
            return early
        if request.method == "GET":
            external_id = request.query_params.get("external_id")
            with state.lock:
                found = [t for t in state.tickets.values() if t["external_id"] == external_id]
            return JSONResponse({"tickets": found, "count": len(found)})
        body = (await request.json())["ticket"]
        key = request.headers.get("idempotency-key")
        with state.lock:
            if key and key in state.idempotency:
                ticket = state.tickets[state.idempotency[key]]
                return JSONResponse({"ticket": ticket}, 201, {"x-idempotency-lookup": "hit"})
            ticket_id = len(state.tickets) + 1
            ticket = {
                "id": ticket_id,
                "external_id": body.get("external_id"),
                "subject": body.get("subject"),
                "status": body.get("status", "new"),
                "tags": list(body.get("tags", [])),
                "comments": [body["comment"]] if "comment" in body else [],
            }
            state.tickets[ticket_id] = ticket
            if key:
                state.idempotency[key] = ticket_id
        return JSONResponse({"ticket": ticket}, 201)

    async def ticket(request: Request) -> Response:
        if (early := await gate(request)) is not None:
            return early
        ticket_id = int(request.path_params["id"])
        body = (await request.json())["ticket"]
        with state.lock:
            ticket = state.tickets.get(ticket_id)
            if ticket is None:
                return JSONResponse({"error": "RecordNotFound"}, 404)
            if "comment" in body:
                ticket["comments"].append(body["comment"])
            ticket["tags"] += [
                t for t in body.get("additional_tags", []) if t not in ticket["tags"]
            ]
            if "status" in body:
                ticket["status"] = body["status"]
        return JSONResponse({"ticket": ticket})

    return Starlette(
        routes=[
            Route("/api/v2/users/me", me),
            Route("/api/v2/users/search", search_users),
            Route("/api/v2/tickets", tickets, methods=["GET", "POST"]),
            Route("/api/v2/tickets/{id:int}", ticket, methods=["PUT"]),
        ]
    )
