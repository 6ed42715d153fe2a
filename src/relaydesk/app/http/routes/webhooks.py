"""`/webhooks/whatsapp`: the verification handshake and event notifications."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

import anyio.to_thread
import structlog
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DBAPIError

from relaydesk.adapters.whatsapp.webhook import (
    SIGNATURE_HEADER,
    WebhookPayloadError,
    parse_webhook,
    verify_signature,
)
from relaydesk.app.http.deps import ClockDep, ContainerDep

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


@router.post("/webhooks/whatsapp", status_code=200)
async def receive(request: Request, container: ContainerDep, clock: ClockDep) -> Response:
    """Verify, store and acknowledge. 200 only once everything in the body is committed."""
    started = time.perf_counter()
    metrics = container.metrics
    limit = container.settings.webhook_max_body_bytes
    body = await _read_limited(request, limit)
    if body is None:
        metrics.webhook_requests.labels("too_large").inc()
        log.warning("webhook_too_large", limit=limit)
        return _error(413, f"body is larger than {limit} bytes (RELAYDESK_WEBHOOK_MAX_BODY_BYTES)")
    if not verify_signature(
        body, request.headers.get(SIGNATURE_HEADER), container.settings.app_secret
    ):
        metrics.webhook_requests.labels("bad_signature").inc()
        log.warning("webhook_bad_signature", has_header=SIGNATURE_HEADER in request.headers)
        return _error(
            401,
            f"missing or wrong {SIGNATURE_HEADER}; it must be sha256=HMAC-SHA256(raw body, "
            "app secret)",
        )
    try:
        parsed = parse_webhook(body)
    except WebhookPayloadError as exc:
        metrics.webhook_requests.labels("bad_payload").inc()
        log.warning("webhook_bad_payload", path=exc.path, error=str(exc))
        return _error(400, str(exc))
    try:
        result = await anyio.to_thread.run_sync(container.inbound.ingest, body, parsed, clock())
    except DBAPIError:
        metrics.webhook_requests.labels("unavailable").inc()
        log.exception("webhook_store_failed")
        return _error(503, "storage unavailable; WhatsApp will retry this delivery")
    metrics.webhook_requests.labels("ok").inc()
    metrics.webhook_seconds.observe(time.perf_counter() - started)
    log.debug("webhook_stored", events=result.events, new=result.new_messages)
    return Response(status_code=200)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=code)
