"""What every integration does, and the HTTP handling they share.

An integration looks a customer up (`lookup`, CRMs only), writes one event of a
conversation (`write`: the ticket with transcript, card and tags; notes; the outcome and
CSAT) and checks its credentials (`check`). Failures are `IntegrationError`s that say
whether a retry can help and when (`Retry-After`); their text never holds a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

__all__ = ["Integration", "IntegrationError", "Writeback", "call", "field_at"]


class IntegrationError(Exception):
    """A call that failed. `retryable`: trying again later may work (5xx, 429, timeouts,
    garbage); otherwise the request itself is wrong (a 4xx) and it is dead-lettered."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True, slots=True)
class Writeback:
    """One event of a conversation, as the integrations write it."""

    key: str  #: the same on every attempt: the idempotency key and webhook-id
    event_type: str
    conversation_id: int
    occurred_at: str
    data: dict[str, Any]  #: the event (queue, priority, agent_id, rating ...)
    customer_phone: str | None = None
    customer_name: str | None = None
    subject: str = ""
    body: str = ""  #: card and transcript, as text for a ticket's internal note
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def external_id(self) -> str:
        """The conversation's ticket key in the CRM: a retry finds the ticket it made."""
        return f"relaydesk-conversation-{self.conversation_id}"


class Integration(Protocol):
    name: str

    def lookup(self, phone: str) -> dict[str, Any] | None:
        """The customer's record (vendor shape), None when there is none."""
        ...

    def write(self, item: Writeback) -> None: ...

    def check(self) -> list[str]:
        """What is missing (credentials, permissions), in words; empty when all is well."""
        ...

    def close(self) -> None: ...


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    **kwargs: Any,
) -> Any:
    """One request; the parsed JSON body (None for an empty one), or an IntegrationError."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise IntegrationError(f"{what}: timed out", retryable=True) from None
    except httpx.HTTPError as exc:
        raise IntegrationError(f"{what}: {type(exc).__name__}", retryable=True) from None
    status = response.status_code
    if status == 429 or status >= 500 or status == 408:
        raise IntegrationError(
            f"{what}: HTTP {status}",
            retryable=True,
            retry_after=retry_after(response.headers.get("retry-after")),
            status=status,
        )
    if status >= 400:
        raise IntegrationError(
            f"{what}: HTTP {status} {_reason(response)}", retryable=False, status=status
        )
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise IntegrationError(f"{what}: the answer is not JSON", retryable=True) from None


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def field_at(record: dict[str, Any], path: str) -> str | None:
    """The value at a dotted path ("user_fields.vip") as lowercase text, None if absent."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _reason(response: httpx.Response) -> str:
    """A short, secret-free reason from an error body (vendors put it in `error`)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # Salesforce: [{"message": ..., "errorCode": ...}]
    if isinstance(body, dict):
        for key in ("error", "errorCode", "message", "description"):
            value = body.get(key)
            if isinstance(value, str):
                return value[:120]
    return ""
