"""`POST /webhooks/whatsapp` as a plain ASGI handler in front of the framework.

Every WhatsApp event arrives here, up to 1,000 a second per number, so the route skips
FastAPI's routing, dependency injection and middleware (a third of the CPU per webhook) and
does only its job: read the raw body within the size limit, verify the signature over those
exact bytes, parse, commit (group commit through `BatchIngestor`), answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from relaydesk.adapters.storage.errors import Failure, classify
from relaydesk.adapters.whatsapp.webhook import (
    SIGNATURE_HEADER,
    WebhookPayloadError,
    parse_webhook,
    verify_signature,
)
from relaydesk.app.http.ingest import BatchIngestor
from relaydesk.observability import Metrics
from relaydesk.services.inbound import Webhook

log = structlog.get_logger(__name__)

PATH = "/webhooks/whatsapp"
_SIGNATURE = SIGNATURE_HEADER.lower().encode()
_CONTENT_LENGTH = b"content-length"


class WebhookReceiver:
    """ASGI middleware: POSTs to the webhook path are handled here, the rest pass on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        ingestor: BatchIngestor[Any],
        metrics: Metrics,
        app_secret: str,
        max_body_bytes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self._ingestor = ingestor
        self._metrics = metrics
        self._secret = app_secret
        self._limit = max_body_bytes
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, message = await self._handle(scope, receive)
        await _respond(send, status, message)
        if status == 200:
            self._metrics.webhook_seconds.observe(time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, str | None]:
        metrics = self._metrics
        headers = dict(scope["headers"])
        body = await _read(receive, headers.get(_CONTENT_LENGTH), self._limit)
        if body is None:
            metrics.webhook_requests.labels("too_large").inc()
            log.warning("webhook_too_large", limit=self._limit)
            return 413, (
                f"body is larger than {self._limit} bytes (RELAYDESK_WEBHOOK_MAX_BODY_BYTES)"
            )
        started = time.thread_time()  # the receive stage's CPU: signature and parsing
        signature = headers.get(_SIGNATURE)
        header = signature.decode("latin-1") if signature is not None else None
        if not verify_signature(body, header, self._secret):
            metrics.webhook_requests.labels("bad_signature").inc()
            log.warning("webhook_bad_signature", has_header=header is not None)
            return 401, (
                f"missing or wrong {SIGNATURE_HEADER}; it must be sha256=HMAC-SHA256(raw body, "
                "app secret)"
            )
        try:
            parsed = parse_webhook(body)
        except WebhookPayloadError as exc:
            metrics.webhook_requests.labels("bad_payload").inc()
            log.warning("webhook_bad_payload", path=exc.path, error=str(exc))
            return 400, str(exc)
        metrics.stage_cpu.labels("receive").inc(time.thread_time() - started)
        try:
            result = await self._ingestor.submit(Webhook(body, parsed, self._clock()))
        except Exception as error:
            if classify(error) is not Failure.PERMANENT:  # down, or a race lost repeatedly
                metrics.webhook_requests.labels("unavailable").inc()
                return 503, "storage unavailable; WhatsApp will retry this delivery"
            metrics.webhook_requests.labels("error").inc()
            return 500, (
                "the webhook could not be processed; it is logged, and WhatsApp will retry "
                "this delivery"
            )
        metrics.webhook_requests.labels("ok").inc()
        log.debug("webhook_stored", events=len(parsed.events), result=result)
        return 200, None


async def _read(receive: Receive, declared: bytes | None, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed `limit`."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


_EMPTY: list[tuple[bytes, bytes]] = [(b"content-length", b"0")]


async def _respond(send: Send, status: int, message: str | None) -> None:
    headers: list[Any]
    if message is None:
        body, headers = b"", _EMPTY
    else:
        body = json.dumps({"error": message}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
