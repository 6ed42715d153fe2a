"""Salesforce (REST API): Contact by phone through SOQL, a Case per conversation with a
CaseComment per event, OAuth 2.0 client credentials.

The Case is upserted by the external-id field `Relaydesk_Conversation_Id__c`
(`PATCH /sobjects/Case/Relaydesk_Conversation_Id__c/{key}`), so a retry updates the case
it made. An expired or revoked session (401 `INVALID_SESSION_ID`) fetches a new token and
tries once more. Endpoints, per Salesforce's REST API Developer Guide: `POST
/services/oauth2/token` (grant_type=client_credentials), `GET /services/data/vXX.X/query`,
`PATCH .../sobjects/Case/{field}/{value}`, `POST .../sobjects/CaseComment`,
`GET .../sobjects/{Case,CaseComment,Contact}/describe` (check).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

from relaydesk.adapters.integrations.base import IntegrationError, Writeback, call

API = "/services/data/v60.0"
EXTERNAL_ID = "Relaydesk_Conversation_Id__c"
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
STATUS = {"conversation.escalated": "New", "conversation.resolved": "Closed"}


class SalesforceIntegration:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        client_id: str,
        client_secret: str,
        fields: tuple[str, ...] = (),
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        bad = [f for f in fields if not _FIELD.fullmatch(f)]
        if bad:
            raise ValueError(
                f"integration {name}: {', '.join(bad)} is not a Salesforce field name; map "
                "attributes to Contact fields such as Plan__c"
            )
        self.name = name
        self._fields = fields
        self._login = base_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._lock = threading.Lock()
        self._session: tuple[str, str] | None = None  #: (instance_url, access token)

    def close(self) -> None:
        self._client.close()

    def lookup(self, phone: str) -> dict[str, Any] | None:
        digits = phone.lstrip("+")
        if not digits.isdigit():
            return None
        columns = ", ".join(dict.fromkeys(["Id", "Phone", *self._fields]))
        # identifiers checked against _FIELD, the phone digits only: nothing to inject
        soql = f"SELECT {columns} FROM Contact WHERE Phone = '+{digits}' LIMIT 1"  # noqa: S608
        found = self._api("GET", "/query", what="contact query", params={"q": soql})
        records = found.get("records") if isinstance(found, dict) else None
        if not isinstance(records, list):
            raise IntegrationError(f"{self.name} contact query: no records list", retryable=True)
        first = records[0] if records else None
        return first if isinstance(first, dict) else None

    def write(self, item: Writeback) -> None:
        case: dict[str, Any] = {"Subject": item.subject, "Origin": "WhatsApp"}
        if item.event_type in STATUS:
            case["Status"] = STATUS[item.event_type]
        if item.event_type == "conversation.escalated":
            case["Description"] = item.body[:32000]
        upserted = self._api(
            "PATCH",
            f"/sobjects/Case/{EXTERNAL_ID}/{item.external_id}",
            what="case upsert",
            json=case,
        )
        case_id = upserted.get("id") if isinstance(upserted, dict) else None
        if not isinstance(case_id, str):
            raise IntegrationError(f"{self.name} case upsert: no case id", retryable=True)
        self._api(
            "POST",
            "/sobjects/CaseComment",
            what="case comment",
            json={
                "ParentId": case_id,
                "CommentBody": item.body[:4000] or item.event_type,
                "IsPublished": False,
            },
        )

    def check(self) -> list[str]:
        try:
            self._token(force=True)
        except IntegrationError as exc:
            if exc.status in (400, 401):
                return [
                    f"{self.name}: Salesforce refused the client credentials ({exc}); check "
                    "the connected app's consumer key and secret and that the client "
                    "credentials flow is enabled with a run-as user"
                ]
            return [f"{self.name}: {exc}"]
        problems = []
        for sobject, needs in (
            ("Contact", "queryable"),
            ("Case", "createable"),
            ("CaseComment", "createable"),
        ):
            try:
                described = self._api(
                    "GET", f"/sobjects/{sobject}/describe", what=f"{sobject} describe"
                )
            except IntegrationError as exc:
                problems.append(f"{self.name}: the run-as user cannot see {sobject} ({exc})")
                continue
            if not isinstance(described, dict) or not described.get(needs):
                problems.append(f"{self.name}: {sobject} is not {needs} for the run-as user")
            if sobject == "Case" and isinstance(described, dict):
                fields = {
                    f.get("name"): f for f in described.get("fields", []) if isinstance(f, dict)
                }
                field = fields.get(EXTERNAL_ID)
                if field is None or not field.get("externalId"):
                    problems.append(
                        f"{self.name}: Case has no external-id field {EXTERNAL_ID} (create a "
                        "Text field marked External ID and Unique); cases are upserted by it"
                    )
        return problems

    # -- HTTP ---------------------------------------------------------------------------

    def _token(self, *, force: bool = False) -> tuple[str, str]:
        with self._lock:
            if self._session is None or force:
                answer = call(
                    self._client,
                    "POST",
                    f"{self._login}/services/oauth2/token",
                    what=f"{self.name} token",
                    data=self._form,
                )
                token = answer.get("access_token") if isinstance(answer, dict) else None
                instance = answer.get("instance_url") if isinstance(answer, dict) else None
                if not isinstance(token, str) or not isinstance(instance, str):
                    raise IntegrationError(f"{self.name} token: no access token", retryable=True)
                self._session = (instance.rstrip("/"), token)
            return self._session

    def _api(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            instance, token = self._token(force=attempt == 2)
            try:
                return call(
                    self._client,
                    method,
                    f"{instance}{API}{path}",
                    what=f"{self.name} {what}",
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,
                )
            except IntegrationError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
