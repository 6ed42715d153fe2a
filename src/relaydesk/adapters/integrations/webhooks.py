"""Signed generic webhooks, following the Standard Webhooks specification
(https://www.standardwebhooks.com): each event is POSTed as JSON with `webhook-id` (the
same on every retry, so receivers deduplicate), `webhook-timestamp` and
`webhook-signature` (HMAC-SHA256, signed by the `standardwebhooks` library)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from relaydesk.adapters.integrations.base import IntegrationError, Writeback, call


class WebhookIntegration:
    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        timeout: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._url = url
        try:
            self._signer = Webhook(secret)
        except Exception:  # the library's message could quote the secret; ours never does
            raise ValueError(
                f"integration {name}: the webhook secret is not base64 (optionally whsec_-"
                "prefixed); generate one with `python -c 'import secrets, base64; "
                'print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())\'`'
            ) from None
        self._clock = clock
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def lookup(self, phone: str) -> dict[str, Any] | None:
        return None  # a webhook has no customers

    def write(self, item: Writeback) -> None:
        body = json.dumps(
            {
                "type": item.event_type,
                "timestamp": item.occurred_at,
                "data": {"conversation_id": item.conversation_id, **item.data},
            },
            separators=(",", ":"),
        )
        now = self._clock()
        headers = {
            "content-type": "application/json",
            "webhook-id": item.key,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(item.key, now, body),
        }
        call(
            self._client, "POST", self._url, what=f"{self.name} POST", content=body, headers=headers
        )

    def close(self) -> None:
        self._client.close()

    def check(self) -> list[str]:
        """Sends a signed `relaydesk.ping`; any 2xx means the endpoint takes our events."""
        ping = Writeback(
            key=f"ping-{int(self._clock().timestamp())}",
            event_type="relaydesk.ping",
            conversation_id=0,
            occurred_at=self._clock().isoformat(),
            data={},
        )
        try:
            self.write(ping)
        except IntegrationError as exc:
            return [f"{self.name}: the endpoint refused a signed ping ({exc})"]
        return []
