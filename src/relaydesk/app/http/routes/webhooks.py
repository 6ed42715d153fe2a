"""`/webhooks/whatsapp`: the verification handshake (GET).

Event notifications (POST) are the hot path and are served by `WebhookReceiver` below the
framework (see `app/http/receiver.py`)."""

from __future__ import annotations

import hmac
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse

from relaydesk.app.http.deps import ContainerDep

log = structlog.get_logger(__name__)
router = APIRouter(tags=["webhooks"])


@router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
def verify(
    container: ContainerDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription handshake: echo `hub.challenge` when the verify token matches."""
    refusal = _refusal(mode, token, challenge, container.settings.verify_token)
    if refusal is None and challenge:
        log.info("webhook_verified")
        return PlainTextResponse(challenge)
    log.warning(
        "webhook_verification_refused",
        reason=refusal,
        mode=_bounded(mode),
        has_token=token is not None,
    )
    return PlainTextResponse(
        f"verification refused: {refusal}", status_code=status.HTTP_403_FORBIDDEN
    )


def _refusal(
    mode: str | None, token: str | None, challenge: str | None, expected: str
) -> str | None:
    """Why the handshake is refused, or None. Tokens are compared as UTF-8 bytes in constant
    time (`compare_digest` refuses non-ASCII str)."""
    if mode != "subscribe":
        return "hub.mode must be 'subscribe'"
    if not challenge:
        return "hub.challenge is missing; Meta sends a number to echo back"
    if not token or not hmac.compare_digest(_utf8(token), _utf8(expected)):
        return "hub.verify_token must equal RELAYDESK_WHATSAPP_VERIFY_TOKEN"
    return None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _bounded(text: str | None) -> str | None:
    return text if text is None or len(text) <= 40 else text[:40] + "..."
