"""HubSpot CRM (API v3): contacts by phone, tickets and notes with associations.

The conversation's ticket is upserted by a unique ticket property the portal defines
(`relaydesk_conversation_id`, "Unique values" on): `POST /crm/v3/objects/tickets/batch/upsert`
with `idProperty` creates it once and updates it on every later write, so a retry never
makes a second. Each event adds a note associated with the ticket (association type 228,
note to ticket). Endpoints, per developers.hubspot.com's CRM API reference (v3):
`POST /crm/v3/objects/contacts/search`, `POST /crm/v3/objects/tickets/batch/upsert`,
`POST /crm/v3/objects/notes`, `GET /crm/v3/objects/{contacts,tickets}?limit=1` (check).
"""

from __future__ import annotations

from typing import Any

import httpx

from relaydesk.adapters.integrations.base import IntegrationError, Writeback, call

ID_PROPERTY = "relaydesk_conversation_id"
NOTE_TO_TICKET = 228  #: HUBSPOT_DEFINED association type: note to ticket
#: The default support pipeline's stages: New, and Closed.
PIPELINE, NEW, CLOSED = "0", "1", "4"
STAGES = {
    "conversation.escalated": NEW,
    "conversation.assigned": NEW,
    "conversation.resolved": CLOSED,
}


class HubSpotIntegration:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        access_token: str,
        properties: tuple[str, ...] = (),
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._properties = properties  #: the contact properties the brief maps
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def lookup(self, phone: str) -> dict[str, Any] | None:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "phone",
                            "operator": "EQ",
                            "value": f"+{phone.lstrip('+')}",
                        }
                    ]
                }
            ],
            "properties": ["phone", *self._properties],
            "limit": 1,
        }
        found = call(
            self._client,
            "POST",
            "/crm/v3/objects/contacts/search",
            what=f"{self.name} contact search",
            json=body,
        )
        results = found.get("results") if isinstance(found, dict) else None
        if not isinstance(results, list):
            raise IntegrationError(f"{self.name} contact search: no results list", retryable=True)
        first = results[0] if results else None
        return first if isinstance(first, dict) else None

    def write(self, item: Writeback) -> None:
        properties = {
            ID_PROPERTY: item.external_id,
            "subject": item.subject,
            "hs_pipeline": PIPELINE,
        }
        stage = STAGES.get(item.event_type)
        if stage is not None:  # a rating leaves the (closed) ticket where it is
            properties["hs_pipeline_stage"] = stage
        if item.event_type == "conversation.escalated":
            properties["content"] = item.body[:60000]
        upserted = call(
            self._client,
            "POST",
            "/crm/v3/objects/tickets/batch/upsert",
            what=f"{self.name} ticket upsert",
            json={
                "inputs": [
                    {"id": item.external_id, "idProperty": ID_PROPERTY, "properties": properties}
                ]
            },
        )
        results = upserted.get("results") if isinstance(upserted, dict) else None
        ticket_id = (
            results[0].get("id")
            if isinstance(results, list) and results and isinstance(results[0], dict)
            else None
        )
        if not isinstance(ticket_id, str):
            raise IntegrationError(f"{self.name} ticket upsert: no ticket id", retryable=True)
        call(
            self._client,
            "POST",
            "/crm/v3/objects/notes",
            what=f"{self.name} note",
            json={
                "properties": {
                    "hs_note_body": item.body or item.event_type,
                    "hs_timestamp": item.occurred_at,
                },
                "associations": [
                    {
                        "to": {"id": ticket_id},
                        "types": [
                            {
                                "associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": NOTE_TO_TICKET,
                            }
                        ],
                    }
                ],
            },
        )

    def check(self) -> list[str]:
        problems = []
        for kind in ("contacts", "tickets"):
            try:
                call(
                    self._client,
                    "GET",
                    f"/crm/v3/objects/{kind}",
                    what=f"{self.name} {kind}",
                    params={"limit": 1},
                )
            except IntegrationError as exc:
                problems.append(_explain(self.name, kind, exc))
        return problems


def _explain(name: str, kind: str, exc: IntegrationError) -> str:
    if exc.status == 401:
        return f"{name}: HubSpot rejected the access token (HTTP 401); create a private app token"
    if exc.status == 403:
        return (
            f"{name}: the private app lacks the crm.objects.{kind}.read/write scopes "
            f"(HubSpot: Settings > Integrations > Private apps > Scopes) ({exc})"
        )
    return f"{name}: cannot read {kind} ({exc})"
