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
    expected = container.settings.verify_token
    if mode == "subscribe" and token and hmac.compare_digest(token, expected) and challenge:
        log.info("webhook_verified")
        return PlainTextResponse(challenge)
    log.warning("webhook_verification_refused", mode=mode, has_token=token is not None)
    return PlainTextResponse(
        "verification refused: hub.mode must be 'subscribe' and hub.verify_token must equal "
        "RELAYDESK_WHATSAPP_VERIFY_TOKEN",
        status_code=status.HTTP_403_FORBIDDEN,
    )
