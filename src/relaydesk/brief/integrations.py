"""The brief's `integrations` section: CRMs and signed webhooks that Relaydesk talks to.

The brief names each secret's environment variable, never the secret itself; the process
reads the variables when it starts (`services.integrations.credentials`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from relaydesk.brief._types import Duration, Name, brief_error

IntegrationKind = Literal["zendesk", "hubspot", "salesforce", "webhook"]

#: What Relaydesk sends, in the Standard Webhooks event-type style.
EventType = Literal[
    "conversation.escalated",
    "conversation.assigned",
    "conversation.resolved",
    "csat.received",
    "message.failed",
]
#: What a CRM gets unless the brief says otherwise: the conversation's ticket. A failed
#: WhatsApp message goes to webhooks by default, and to a CRM only when listed.
CRM_EVENTS: tuple[EventType, ...] = (
    "conversation.escalated",
    "conversation.assigned",
    "conversation.resolved",
    "csat.received",
)
EVENT_TYPES: tuple[EventType, ...] = (*CRM_EVENTS, "message.failed")

#: The secrets each kind needs, by the name the brief gives their variables.
SECRETS: dict[str, tuple[str, ...]] = {
    "zendesk": ("email", "api_token"),
    "hubspot": ("access_token",),
    "salesforce": ("client_id", "client_secret"),
    "webhook": ("secret",),
}

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return value.rstrip("/")  # local fakes and proxies only
    raise brief_error(
        "integration_url",
        f"{value!r} is not an https:// URL; give the API's base URL, e.g. "
        "https://yourcompany.zendesk.com (http:// only for 127.0.0.1 or localhost)",
    )


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise brief_error(
            "integration_env",
            "is not an environment variable name (not shown: it may be a secret); name the "
            "variable that holds the secret, like RELAYDESK_ZENDESK_TOKEN, never the secret",
        )
    return value


BaseUrl = Annotated[str, StringConstraints(min_length=8, max_length=500), AfterValidator(_base_url)]
EnvName = Annotated[str, StringConstraints(max_length=100), AfterValidator(_env_name)]
FieldPath = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]


class Integration(BaseModel):
    """One system Relaydesk looks customers up in and writes tickets and outcomes to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IntegrationKind
    enabled: bool = Field(default=True, description="false: configured but never called")
    base_url: BaseUrl
    secrets: dict[str, EnvName] = Field(
        description="the environment variables holding this integration's secrets, by role "
        "(zendesk: email, api_token; hubspot: access_token; salesforce: client_id, "
        "client_secret; webhook: secret)"
    )
    events: list[EventType] | None = Field(
        default=None,
        description="what is written to it; by default the four conversation events for a "
        "CRM and also message.failed for a webhook",
    )
    attributes: dict[Name, FieldPath] = Field(
        default_factory=dict,
        description="customer attribute (as the brief's triggers.attributes name it) -> the "
        "CRM field it comes from, a dotted path in the vendor's record (e.g. "
        "user_fields.vip for Zendesk, properties.plan for HubSpot, Plan__c for Salesforce)",
    )
    lookup_budget_ms: Annotated[int, Field(ge=10, le=5000)] = Field(
        default=300,
        description="how long a decision waits for the CRM's answer; past it, the bot "
        "decides without and the answer is kept for the next message and the card",
    )
    cache_ttl: Duration = Field(
        default=timedelta(minutes=10), description="how long a looked-up profile is reused"
    )
    timeout: Duration = Field(default=timedelta(seconds=10), description="per write-back call")
    give_up_after: Duration = Field(
        default=timedelta(days=1),
        description="a write-back still failing this long after its event is dead-lettered",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Integration:
        needed = SECRETS[self.kind]
        missing = [role for role in needed if role not in self.secrets]
        unknown = [role for role in self.secrets if role not in needed]
        if missing or unknown:
            raise brief_error(
                "integration_secrets",
                f"a {self.kind} integration names the variables of {', '.join(needed)}"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            )
        if self.kind == "webhook" and self.attributes:
            raise brief_error(
                "integration_lookup",
                "a webhook has no customers to look up; move `attributes` to a CRM integration",
            )
        if self.timeout <= timedelta(0) or self.cache_ttl < timedelta(0):
            raise brief_error("integration_durations", "timeout must be positive")
        return self

    @property
    def event_types(self) -> tuple[EventType, ...]:
        if self.events is not None:
            return tuple(self.events)
        return EVENT_TYPES if self.kind == "webhook" else CRM_EVENTS

    @property
    def looks_up(self) -> bool:
        return self.enabled and self.kind != "webhook" and bool(self.attributes)
