"""Zendesk Support (API v2): users by phone, tickets with internal notes and tags.

The conversation's ticket carries `external_id` "relaydesk-conversation-<id>": every write
first finds it by that id, so a retry updates the ticket it made instead of making a
second; a create also sends `Idempotency-Key`. Endpoints, per developer.zendesk.com's
Support API reference: `GET /api/v2/users/me`, `GET /api/v2/users/search?query=` and
`?external_id=`,
`GET /api/v2/tickets?external_id=`, `POST /api/v2/tickets`, `PUT /api/v2/tickets/{id}`.
"""

from __future__ import annotations

from typing import Any

import httpx

from relaydesk.adapters.integrations.base import IntegrationError, Writeback, call

#: What each event adds to the ticket (its internal note's first line).
_HEADLINE = {
    "conversation.escalated": "Escalated from WhatsApp",
    "conversation.assigned": "Assigned in Relaydesk",
    "conversation.resolved": "Resolved in Relaydesk",
    "csat.received": "Customer rating received",
    "message.failed": "A WhatsApp message could not be delivered",
}


class ZendeskIntegration:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        email: str,
        api_token: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._client = httpx.Client(
            base_url=base_url,
            auth=httpx.BasicAuth(f"{email}/token", api_token),
            timeout=timeout,
            transport=transport,
        )

    def lookup(self, phone: str) -> dict[str, Any] | None:
        """The user with this phone number, else the one whose `external_id` is the
        WhatsApp number (how many shops key their customers)."""
        for params in ({"query": f"phone:{_e164(phone)}"}, {"external_id": phone.lstrip("+")}):
            found = call(
                self._client,
                "GET",
                "/api/v2/users/search",
                what=f"{self.name} user search",
                params=params,
            )
            users = found.get("users") if isinstance(found, dict) else None
            if not isinstance(users, list):
                raise IntegrationError(f"{self.name} user search: no users list", retryable=True)
            if users and isinstance(users[0], dict):
                return users[0]
        return None

    def write(self, item: Writeback) -> None:
        ticket_id = self._find_ticket(item)
        note = {
            "body": f"{_HEADLINE.get(item.event_type, item.event_type)}\n\n{item.body}",
            "public": False,
        }
        if ticket_id is None:
            ticket: dict[str, Any] = {
                "external_id": item.external_id,
                "subject": item.subject,
                "comment": note,
                "tags": list(item.tags),
            }
            if item.event_type == "conversation.resolved":
                ticket["status"] = "solved"
            call(
                self._client,
                "POST",
                "/api/v2/tickets",
                what=f"{self.name} ticket create",
                json={"ticket": ticket},
                headers={"Idempotency-Key": item.key},
            )
            return
        update: dict[str, Any] = {"comment": note, "additional_tags": list(item.tags)}
        if item.event_type == "conversation.resolved":
            update["status"] = "solved"
        call(
            self._client,
            "PUT",
            f"/api/v2/tickets/{ticket_id}",
            what=f"{self.name} ticket update",
            json={"ticket": update},
        )

    def close(self) -> None:
        self._client.close()

    def check(self) -> list[str]:
        try:
            me = call(self._client, "GET", "/api/v2/users/me", what=f"{self.name} users/me")
        except IntegrationError as exc:
            if exc.status == 401:
                return [f"{self.name}: Zendesk rejected the email and API token (HTTP 401)"]
            return [f"{self.name}: {exc}"]
        user = me.get("user") if isinstance(me, dict) else None
        role = user.get("role") if isinstance(user, dict) else None
        if not isinstance(user, dict) or user.get("id") is None:
            return [f"{self.name}: Zendesk answered as an anonymous user; check the email"]
        if role not in ("agent", "admin"):
            return [
                f"{self.name}: the user is a {role}; tickets and user search need an agent "
                "or admin (Admin Center > People > Team members)"
            ]
        problems = []
        for path, params, need in (
            ("/api/v2/users/search", {"query": "phone:+0"}, "search users"),
            ("/api/v2/tickets", {"external_id": "relaydesk-check"}, "read tickets"),
        ):
            try:
                call(self._client, "GET", path, what=f"{self.name} {need}", params=params)
            except IntegrationError as exc:
                problems.append(f"{self.name}: cannot {need} ({exc})")
        return problems

    def _find_ticket(self, item: Writeback) -> int | None:
        found = call(
            self._client,
            "GET",
            "/api/v2/tickets",
            what=f"{self.name} ticket lookup",
            params={"external_id": item.external_id},
        )
        tickets = found.get("tickets") if isinstance(found, dict) else None
        if not isinstance(tickets, list):
            raise IntegrationError(f"{self.name} ticket lookup: no tickets list", retryable=True)
        for ticket in tickets:
            if isinstance(ticket, dict) and isinstance(ticket.get("id"), int):
                return int(ticket["id"])
        return None


def _e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+{phone}"
