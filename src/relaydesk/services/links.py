"""Tracked booking links: the booking link a playbook sends a customer points at
`<base URL>/r/<token>` on Relaydesk, which records the click against the conversation and
redirects (302) to the brief's real booking URL.

A token is the conversation's id and an HMAC of it under `RELAYDESK_SECRET_KEY`
(`<id>-<22 characters>`): nothing is stored when a link is sent, a forged or altered token
names no conversation (404), and the redirect only ever goes to the URL the running brief
names, never to one taken from the request (no open redirect)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import structlog

from relaydesk.adapters.storage import conversations as conversations_store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.services.events import EventKind, record

log = structlog.get_logger(__name__)

#: The path a tracked link goes through.
PREFIX = "/r/"
#: The most characters a token can have: an id of up to 19 digits, "-", the signature.
MAX_TOKEN = 19 + 1 + 22


@dataclass(frozen=True, slots=True)
class BookingLinks:
    """Makes and reads tracked booking links."""

    secret: str
    base_url: str  #: where customers reach this service (RELAYDESK_PUBLIC_URL)

    def _signature(self, conversation_id: int) -> str:
        digest = hmac.new(
            self.secret.encode(), f"booking:{conversation_id}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def token(self, conversation_id: int) -> str:
        return f"{conversation_id}-{self._signature(conversation_id)}"

    def url_for(self, conversation_id: int) -> str:
        """The link sent to the customer of this conversation."""
        return f"{self.base_url.rstrip('/')}{PREFIX}{self.token(conversation_id)}"

    def conversation_of(self, token: str) -> int | None:
        """The conversation a genuine token names; None for anything else."""
        if len(token) > MAX_TOKEN:
            return None
        number, _, signature = token.partition("-")
        if not (number.isascii() and number.isdigit()) or number != str(int(number)):
            return None
        conversation_id = int(number)
        if not hmac.compare_digest(signature.encode(), self._signature(conversation_id).encode()):
            return None
        return conversation_id


def click(db: Database, links: BookingLinks, brief: Brief, token: str, now: datetime) -> str | None:
    """Record a click on a tracked booking link (a `booking_click` event of its
    conversation, which the conversions figure counts) and return the URL to redirect to;
    None, recording nothing, when the token is not genuine, its conversation is gone or the
    brief offers no booking link any more."""
    conversation_id = links.conversation_of(token)
    pricing = brief.playbooks.pricing
    if conversation_id is None or pricing is None:
        log.info("booking_link_refused", genuine=conversation_id is not None)
        return None
    with db.write() as conn:
        if conversations_store.visibility(conn, conversation_id) is None:
            log.info("booking_link_refused", genuine=True, conversation_id=conversation_id)
            return None
        record(
            conn,
            EventKind.BOOKING_CLICK,
            now=now,
            conversation_id=conversation_id,
            detail={"playbook": "pricing"},
        )
    log.info("booking_link_clicked", conversation_id=conversation_id)
    return str(pricing.booking_link.url)
