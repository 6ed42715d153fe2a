"""A local Salesforce for the integration tests.

Shapes follow Salesforce's REST API Developer Guide and the OAuth 2.0 client credentials
flow (help.salesforce.com, "OAuth 2.0 Client Credentials Flow for Server-to-Server
Integration"): `POST /services/oauth2/token` (form; answer {"access_token",
"instance_url", "token_type": "Bearer", "issued_at", "signature"}; a bad client is 400
{"error": "invalid_client", ...}), `GET /services/data/v60.0/query?q=` ({"totalSize",
"done", "records": [{"attributes": {"type", "url"}, ...}]}), the upsert by external id
`PATCH /sobjects/Case/{field}/{value}` (201 {"id", "success", "errors", "created": true}
when new, 200 when updated), `POST /sobjects/CaseComment` (201 {"id", "success",
"errors"}) and `GET /sobjects/{name}/describe`. An expired session is 401
[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}].
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.testing import ServerThread

API = "/services/data/v60.0"
EXTERNAL_ID = "Relaydesk_Conversation_Id__c"


@dataclass
class SalesforceState:
    client_id: str
    client_secret: str
    url: str = ""
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    contacts: list[dict[str, Any]] = field(default_factory=list)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  #: by Id
    comments: list[dict[str, Any]] = field(default_factory=list)
    external_id_field: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_sessions(self) -> None:
        with self.lock:
            self.tokens.clear()


class SalesforceServer(ServerThread):
    def __init__(self, client_id: str = "3MVG9-key", client_secret: str = "sf-secret") -> None:  # noqa: S107
        self.state = SalesforceState(client_id, client_secret)
        super().__init__(_app(self.state))
        self.state.url = self.url

    def __enter__(self) -> SalesforceServer:
        super().__enter__()
        return self


_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_QUERY = re.compile(
    r"^SELECT (?P<cols>[\w, ]+) FROM Contact WHERE Phone = '(?P<phone>\+\d+)' LIMIT 1$"
)


def _app(state: SalesforceState) -> Starlette:
    def session_ok(request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with state.lock:
            return token in state.tokens

    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (
            state.client_id,
            state.client_secret,
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, 400
            )
        issued = secrets.token_hex(8)
        with state.lock:
            state.tokens.add(issued)
            state.tokens_issued += 1
        return JSONResponse(
            {
                "access_token": issued,
                "instance_url": state.url,
                "token_type": "Bearer",
                "issued_at": "1",
                "signature": "x",
            }
        )

    async def query(request: Request) -> Response:
        if not session_ok(request):
            return JSONResponse(_EXPIRED, 401)
        matched = _QUERY.match(request.query_params.get("q", ""))
        if matched is None:
            return JSONResponse(
                [{"message": "malformed query", "errorCode": "MALFORMED_QUERY"}], 400
            )
        cols = [c.strip() for c in matched["cols"].split(",")]
        records = [
            {
                "attributes": {"type": "Contact", "url": f"{API}/sobjects/Contact/{c['Id']}"},
                **{k: c.get(k) for k in cols},
            }
            for c in state.contacts
            if c.get("Phone") == matched["phone"]
        ][:1]
        return JSONResponse({"totalSize": len(records), "done": True, "records": records})

    async def upsert_case(request: Request) -> Response:
        if not session_ok(request):
            return JSONResponse(_EXPIRED, 401)
        if request.path_params["field"] != EXTERNAL_ID or not state.external_id_field:
            return JSONResponse(
                [{"message": "no such external id field", "errorCode": "NOT_FOUND"}], 404
            )
        key = request.path_params["value"]
        body = await request.json()
        with state.lock:
            found = next((c for c in state.cases.values() if c[EXTERNAL_ID] == key), None)
            created = found is None
            if found is None:
                found = {"Id": f"500{len(state.cases) + 1:012d}", EXTERNAL_ID: key}
                state.cases[found["Id"]] = found
            found.update(body)
        return JSONResponse(
            {"id": found["Id"], "success": True, "errors": [], "created": created},
            201 if created else 200,
        )

    async def comment(request: Request) -> Response:
        if not session_ok(request):
            return JSONResponse(_EXPIRED, 401)
        body = await request.json()
        with state.lock:
            if body.get("ParentId") not in state.cases:
                return JSONResponse(
                    [{"message": "invalid ParentId", "errorCode": "INVALID_CROSS_REFERENCE_KEY"}],
                    400,
                )
            state.comments.append(body)
            new_id = f"00a{len(state.comments):012d}"
        return JSONResponse({"id": new_id, "success": True, "errors": []}, 201)

    async def describe(request: Request) -> Response:
        if not session_ok(request):
            return JSONResponse(_EXPIRED, 401)
        name = request.path_params["name"]
        fields = [{"name": "Id", "externalId": False}]
        if name == "Case" and state.external_id_field:
            fields.append({"name": EXTERNAL_ID, "externalId": True})
        return JSONResponse(
            {
                "name": name,
                "queryable": True,
                "createable": True,
                "updateable": True,
                "fields": fields,
            }
        )

    return Starlette(
        routes=[
            Route("/services/oauth2/token", token, methods=["POST"]),
            Route(f"{API}/query", query),
            Route(f"{API}/sobjects/Case/{{field}}/{{value}}", upsert_case, methods=["PATCH"]),
            Route(f"{API}/sobjects/CaseComment", comment, methods=["POST"]),
            Route(f"{API}/sobjects/{{name}}/describe", describe),
        ]
    )
