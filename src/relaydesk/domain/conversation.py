"""Conversation state and the 24-hour customer-service window."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from relaydesk.domain.dialogue import DialogueState

SERVICE_WINDOW = timedelta(hours=24)


class ConversationStatus(enum.StrEnum):
    BOT = "bot"  #: the bot is answering
    QUEUED = "queued"  #: waiting for a human
    ASSIGNED = "assigned"  #: a human owns it; the bot stays silent
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the policy may know about a conversation."""

    id: int
    status: ConversationStatus
    last_inbound_at: datetime | None
    queue: str | None = None
    priority: str | None = None
    tier: int | None = None
    dialogue: DialogueState = field(default_factory=DialogueState)


def window_expires_at(last_inbound_at: datetime | None) -> datetime | None:
    """When free-form replies stop being allowed; only an inbound message reopens it."""
    return None if last_inbound_at is None else last_inbound_at + SERVICE_WINDOW


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    expires = window_expires_at(last_inbound_at)
    return expires is not None and now < expires
