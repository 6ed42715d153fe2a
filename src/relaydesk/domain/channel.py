"""What arrives from WhatsApp, as typed events (no I/O, no WhatsApp JSON beyond `raw`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DeliveryStatus(enum.IntEnum):
    """Outbound delivery states; the integer order is the only order they may move in."""

    PENDING = 0  #: in our outbox, not yet accepted by the Graph API
    ACCEPTED = 1  #: the Graph API returned a wamid
    SENT = 2
    DELIVERED = 3
    READ = 4
    PLAYED = 5  #: a voice message was played; comes after read
    FAILED = 9  #: terminal: nothing moves a failed message again

    @classmethod
    def from_wire(cls, value: str) -> DeliveryStatus | None:
        return _WIRE_STATUS.get(value)

    @property
    def wire(self) -> str:
        return self.name.lower()


_WIRE_STATUS = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.PLAYED,
    "failed": DeliveryStatus.FAILED,
}


def advances(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """True when `new` may replace `current`: statuses only move forward, failed is final."""
    if current is DeliveryStatus.FAILED:
        return False
    if new is DeliveryStatus.FAILED:
        return True
    return new > current


@dataclass(frozen=True, slots=True)
class ApiError:
    """An error object as WhatsApp sends it (in statuses, unsupported messages or value.errors)."""

    code: int
    title: str = ""
    message: str = ""
    details: str = ""


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an inbound message. Either identifier may be missing (BSUID roll-out)."""

    wa_id: str | None
    user_id: str | None = None
    parent_user_id: str | None = None
    profile_name: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message (`value.messages[]`)."""

    wamid: str
    phone_number_id: str
    sender: Sender
    sent_at: datetime  #: timezone-aware UTC, from the webhook's `timestamp`
    type: str  #: the wire `type`, unknown values kept as they are
    text: str | None  #: what a person would read: body, caption, button/list title, ...
    reply_id: str | None = None  #: button_reply/list_reply id, or template button payload
    context_id: str | None = None  #: the wamid this message replies to
    forwarded: bool = False
    referral: dict[str, Any] | None = None
    errors: tuple[ApiError, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)  #: the raw `messages[]` item
    #: the wamid this message acts on: reaction.message_id, revoke/edit original_message_id
    target_id: str | None = None
    #: the media id of an image/video/document/audio/sticker (download via GET /{media-id})
    media_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A receipt for one of our outbound messages (`value.statuses[]`)."""

    wamid: str
    phone_number_id: str
    status: DeliveryStatus
    at: datetime
    recipient_id: str | None
    recipient_user_id: str | None = None
    callback_data: str | None = None  #: `biz_opaque_callback_data` echoed back
    errors: tuple[ApiError, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """A `system` message: the customer changed number, BSUID or identity key."""

    wamid: str
    phone_number_id: str
    kind: str  #: user_changed_number | user_changed_user_id | customer_identity_changed | ...
    at: datetime
    old_wa_id: str | None
    new_wa_id: str | None
    old_user_id: str | None
    new_user_id: str | None
    body: str | None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ignored:
    """Something well-formed that we do not act on: another webhook field, an unknown status,
    value-level errors. Logged and acknowledged, never a failure."""

    reason: str  #: e.g. "field:message_template_status_update", "value_errors", "status:deleted"
    phone_number_id: str | None
    errors: tuple[ApiError, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


WebhookEvent = InboundMessage | StatusUpdate | IdentityChange | Ignored
