"""A local HubSpot CRM v3 API for the integration tests.

Shapes follow HubSpot's published CRM API reference (developers.hubspot.com/docs/
api-reference, v3): contacts search
(`POST /crm/v3/objects/contacts/search`: filterGroups/filters with propertyName, operator
EQ, value; answer {"total", "results": [{"id", "properties"}]}), tickets batch upsert
(`POST /crm/v3/objects/tickets/batch/upsert`: inputs with id, idProperty, properties;
answer {"status": "COMPLETE", "results": [{"id", "new", "properties"}]}), notes
(`POST /crm/v3/objects/notes` with properties hs_note_body, hs_timestamp and
associations to/types; answer 201 {"id", "properties"}), and the list endpoints the
check reads. Bearer auth; 401 {"category": "INVALID_AUTHENTICATION"}, 403
{"category": "MISSING_SCOPES"} as documented.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.testing import ServerThread
from tests.fakes.zendesk import Fault


@dataclass
class HubSpotState:
    token: str
    scopes: set[str] = field(default_factory=lambda: {"crm.objects.contacts.read", "tickets"})
    contacts: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  #: by HubSpot id
    notes: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class HubSpotServer(ServerThread):
    def __init__(self, token: str = "pat-na1-test") -> None:  # noqa: S107
        self.state = HubSpotState(token=token)
        super().__init__(_app(self.state))

    def __enter__(self) -> HubSpotServer:
        super().__enter__()
        return self


def _error(status: int, category: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "message": message, "category": category, "correlationId": "c0ffee"},
        status,
    )


def _app(state: HubSpotState) -> Starlette:
    def gate(request: Request, scope: str) -> Response | None:
        with state.lock:
            fault = state.faults.pop(0) if state.faults else None
        if fault is not None:
            return Response(fault.body, fault.status, fault.headers, media_type="application/json")
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if scope not in state.scopes:
            return _error(
                403, "MISSING_SCOPES", f"This app hasn't been granted all required scopes: {scope}"
            )
        return None

    async def contacts(request: Request) -> Response:
        if (early := gate(request, "crm.objects.contacts.read")) is not None:
            return early
        return JSONResponse({"results": state.contacts[:1], "paging": None})

    async def search(request: Request) -> Response:
        if (early := gate(request, "crm.objects.contacts.read")) is not None:
            return early
        body = await request.json()
        (condition,) = body["filterGroups"][0]["filters"]
        assert condition["operator"] == "EQ"
        wanted = set(body.get("properties", []))
        found = [
            {"id": c["id"], "properties": {k: v for k, v in c["properties"].items() if k in wanted}}
            for c in state.contacts
            if c["properties"].get(condition["propertyName"]) == condition["value"]
        ]
        return JSONResponse({"total": len(found), "results": found[: body.get("limit", 10)]})

    async def tickets(request: Request) -> Response:
        if (early := gate(request, "tickets")) is not None:
            return early
        return JSONResponse({"results": list(state.tickets.values())[:1]})

    async def upsert(request: Request) -> Response:
        if (early := gate(request, "tickets")) is not None:
            return early
        results = []
        with state.lock:
            for item in (await request.json())["inputs"]:
                key = item["idProperty"]
                found = next(
                    (t for t in state.tickets.values() if t["properties"].get(key) == item["id"]),
                    None,
                )
                if found is None:
                    if "hs_pipeline_stage" not in item["properties"]:
                        return _error(400, "VALIDATION_ERROR", "hs_pipeline_stage is required")
                    found = {"id": str(len(state.tickets) + 101), "properties": {}}
                    state.tickets[found["id"]] = found
                    new = True
                else:
                    new = False
                found["properties"].update(item["properties"])
                results.append({**found, "new": new})
        return JSONResponse({"status": "COMPLETE", "results": results})

    async def notes(request: Request) -> Response:
        if (early := gate(request, "tickets")) is not None:
            return early
        body = await request.json()
        (association,) = body["associations"]
        with state.lock:
            if association["to"]["id"] not in state.tickets:
                return _error(400, "VALIDATION_ERROR", "no such ticket")
            note = {"id": str(len(state.notes) + 1), **body}
            state.notes.append(note)
        return JSONResponse({"id": note["id"], "properties": body["properties"]}, 201)

    return Starlette(
        routes=[
            Route("/crm/v3/objects/contacts", contacts),
            Route("/crm/v3/objects/contacts/search", search, methods=["POST"]),
            Route("/crm/v3/objects/tickets", tickets),
            Route("/crm/v3/objects/tickets/batch/upsert", upsert, methods=["POST"]),
            Route("/crm/v3/objects/notes", notes, methods=["POST"]),
        ]
    )
