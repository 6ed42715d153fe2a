"""The Graph API client for sending: one pooled httpx.AsyncClient per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import structlog

from relaydesk.adapters.whatsapp.codec import Recipient, to_graph_body
from relaydesk.adapters.whatsapp.errors import GraphError, GraphTransportError
from relaydesk.adapters.whatsapp.limits import validate
from relaydesk.domain.outbound import OutboundContent

log = structlog.get_logger(__name__)

#: The outbox worker sends up to ~100 at once; a little headroom, and keep them all alive.
# httpcore scans every pooled connection per request, so a huge pool costs CPU on each send;
# 64 in flight covers 1,000 messages/s at 60 ms per request.
POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=60)

#: Failures before the request could have reached Meta: safe to retry as they are.
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


@dataclass(frozen=True, slots=True)
class SendResult:
    wamid: str
    wa_id: str | None  #: the canonical wa_id Meta resolved (may differ from what we sent)
    message_status: str | None  #: accepted | held_for_quality_assessment | paused (templates)


class GraphClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        access_token: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("access_token is empty; set a system-user token for the Graph API.")
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/{api_version.strip('/')}",
            headers={
                "Authorization": f"Bearer {access_token}",
                "Content-Type": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=POOL_LIMITS,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"GraphClient(base_url={str(self._http.base_url)!r})"  # never the token

    async def send(
        self,
        phone_number_id: str,
        recipient: Recipient,
        content: OutboundContent,
        *,
        reply_to: str | None = None,
        callback_data: str | None = None,
    ) -> SendResult:
        """Send one message. Raises ContentLimitError before any I/O, GraphError when Meta
        answers with an error, GraphTransportError when no answer came back."""
        validate(content)
        body = to_graph_body(
            content, recipient=recipient, reply_to=reply_to, callback_data=callback_data
        )
        data = await self._post(phone_number_id, body, operation="send")
        result = _send_result(data)
        if result is None:
            raise GraphError(
                code=None,
                http_status=200,
                details="the success response has no messages[0].id; Meta may have accepted "
                "the message, so reconcile before retrying",
                ambiguous=True,
            )
        return result

    async def mark_read(self, phone_number_id: str, wamid: str, *, typing: bool = False) -> None:
        """Mark an inbound message read, optionally showing the typing indicator (25 s)."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        data = await self._post(phone_number_id, body, operation="mark_read")
        if not (isinstance(data, dict) and data.get("success") is True):
            raise GraphError(
                code=None, http_status=200, details='mark_read answer lacks "success": true'
            )

    async def _post(self, phone_number_id: str, body: dict[str, Any], *, operation: str) -> Any:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = await self._http.post(f"/{phone_number_id}/messages", content=payload)
        except httpx.TransportError as exc:
            ambiguous = not isinstance(exc, _NOT_SENT)
            log.warning(
                "graph_transport_failed",
                operation=operation,
                phone_number_id=phone_number_id,
                error=type(exc).__name__,
                ambiguous=ambiguous,
            )
            raise GraphTransportError(
                f"Graph API {operation} got no answer ({type(exc).__name__}: {exc}); "
                + (
                    "the request may have reached Meta, so reconcile before retrying."
                    if ambiguous
                    else "the request never left, so it is safe to retry."
                ),
                ambiguous=ambiguous,
            ) from exc
        fbtrace_id = response.headers.get("x-fb-trace-id")
        try:
            data = response.json()
        except ValueError:
            data = _UNREADABLE
        if response.is_success and data is not _UNREADABLE:
            return data
        error = None
        if data is not _UNREADABLE:
            error = GraphError.from_envelope(response.status_code, data, fbtrace_id=fbtrace_id)
        if error is None:
            error = _unreadable(response, fbtrace_id, send=operation == "send")
        log.warning(
            "graph_request_failed",
            operation=operation,
            phone_number_id=phone_number_id,
            http_status=error.http_status,
            code=error.code,
            action=error.action.value,
            fbtrace_id=error.fbtrace_id,
        )
        raise error

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_UNREADABLE = object()


def _unreadable(response: httpx.Response, fbtrace_id: str | None, *, send: bool) -> GraphError:
    """A response that is neither a success we can read nor a §3.7 error envelope. Only the
    content type and size are named: the body may hold a customer's phone number."""
    content_type = response.headers.get("content-type", "no content-type")
    details = f"HTTP {response.status_code} with an unreadable body ({content_type}, "
    details += f"{len(response.content)} bytes)"
    ambiguous = send and response.is_success
    if ambiguous:
        details += "; Meta may have accepted the message, so reconcile before retrying"
    return GraphError(
        code=None,
        http_status=response.status_code,
        details=details,
        fbtrace_id=fbtrace_id,
        ambiguous=ambiguous,
    )


def _send_result(data: Any) -> SendResult | None:
    if not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if not (isinstance(messages, list) and messages and isinstance(messages[0], dict)):
        return None
    wamid = messages[0].get("id")
    if not isinstance(wamid, str) or not wamid:
        return None
    status = messages[0].get("message_status")
    contacts = data.get("contacts")
    wa_id = None
    if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict):
        found = contacts[0].get("wa_id")
        wa_id = found if isinstance(found, str) else None
    return SendResult(
        wamid=wamid, wa_id=wa_id, message_status=status if isinstance(status, str) else None
    )
