"""The sandbox's fake Graph API and the status webhooks it sends back.

`FakeGraph.messages` answers `POST /{version}/{phone_number_id}/messages` the way Graph
does: a send is accepted with a new wamid and shown on the customer's page, a mark-as-read
marks the customer's message read. Each accepted send is followed, in the background, by
signed `sent` and `delivered` status webhooks (`failed` for an unknown recipient), in order
per wamid and retried a few times before they are given up.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import structlog
from fastapi import Request
from fastapi.responses import JSONResponse

from relaydesk.sandbox.payloads import (
    BusinessNumber,
    GraphRequestError,
    StatusName,
    graph_error,
    new_wamid,
    render_outbound,
    status_webhook,
)
from relaydesk.sandbox.store import SandboxStore

log = structlog.get_logger(__name__)

_WA_ID = re.compile(r"^\d{6,15}$")
_SEPARATORS = re.compile(r"[\s\-().+]")
TYPING_SECONDS = 25.0

PostWebhook = Callable[[dict[str, Any]], Awaitable[httpx.Response]]
"""Signs a webhook payload and POSTs it to the service (`Sandbox.post_webhook`)."""


def normalize_wa_id(raw: str) -> str:
    """`+44 (7700) 900-123` -> `447700900123`; raises ValueError unless 6-15 digits remain."""
    digits = _SEPARATORS.sub("", raw)
    if not _WA_ID.fullmatch(digits):
        raise ValueError(
            f"wa_id must be 6 to 15 digits (country code and number, no letters); got {raw!r}"
        )
    return digits


class FakeGraph:
    """The `/messages` endpoint of one business number, and its pending status webhooks."""

    def __init__(
        self,
        *,
        store: SandboxStore,
        number: BusinessNumber,
        access_token: str,
        post_webhook: PostWebhook,
        clock: Callable[[], float] = time.time,
        retry_delays: Sequence[float] = (0.25, 1.0, 3.0),
    ) -> None:
        self.store = store
        self.number = number
        self._access_token = access_token
        self._post_webhook = post_webhook
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._tasks: set[asyncio.Task[None]] = set()
        self._chains: dict[str, asyncio.Task[None]] = {}

    def _now(self) -> int:
        return int(self._clock())

    # --- the endpoint ---------------------------------------------------------------------

    async def messages(self, request: Request, phone_number_id: str) -> JSONResponse:
        """`POST /{version}/{phone_number_id}/messages`: a send, or a mark-as-read."""
        expected = f"Bearer {self._access_token}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse(
                graph_error(190, "Invalid OAuth access token - Cannot parse access token"),
                status_code=401,
            )
        if phone_number_id != self.number.phone_number_id:
            return _graph_400(
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist",
                f"phone_number_id: {phone_number_id!r} is not this sandbox's number",
            )
        try:
            body = await request.json()
        except ValueError:
            return _graph_400("(#100) Invalid parameter", "body: not valid JSON")
        if not isinstance(body, dict):
            return _graph_400("(#100) Invalid parameter", "body: a JSON object is required")
        if body.get("messaging_product") != "whatsapp":
            return _graph_400(
                "(#100) The parameter messaging_product is required.",
                "messaging_product: must be 'whatsapp'",
            )
        if "status" in body:
            return self._mark_read(body)
        return self._send(body)

    def _mark_read(self, body: dict[str, Any]) -> JSONResponse:
        if body.get("status") != "read":
            return _graph_400("(#100) Invalid parameter", "status: only 'read' is supported")
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            return _graph_400("(#100) Invalid parameter", "message_id: required")
        bubble = self.store.bubble(message_id)
        if bubble is None or not self.store.mark_inbound_read(message_id):
            return _graph_400(
                "(#100) Invalid parameter", f"message_id: no inbound message {message_id!r}"
            )
        if isinstance(body.get("typing_indicator"), dict):
            self.store.set_typing(bubble.wa_id, self._clock() + TYPING_SECONDS)
        log.info("sandbox_graph_mark_read", wamid=message_id)
        return JSONResponse({"success": True})

    def _send(self, body: dict[str, Any]) -> JSONResponse:
        to, recipient = body.get("to"), body.get("recipient")
        if not (isinstance(to, str) and to) and not (isinstance(recipient, str) and recipient):
            return _graph_400(
                "(#100) The parameter to is required.", "to: required (or recipient: a BSUID)"
            )
        try:
            kind, content = render_outbound(body)
        except GraphRequestError as exc:
            return _graph_400("(#100) Invalid parameter", exc.details)
        callback = body.get("biz_opaque_callback_data")
        callback = callback if isinstance(callback, str) else None
        context = body.get("context")
        context_id = context.get("message_id") if isinstance(context, dict) else None
        category = "utility" if kind == "template" else "service"
        wamid = new_wamid()
        if isinstance(to, str) and to:  # `to` wins when both are present
            try:
                wa_id = normalize_wa_id(to)
            except ValueError:
                return _graph_400("(#100) Invalid parameter", f"to: {to!r} is not a phone number")
            customer = self.store.find_customer(wa_id=wa_id) or self.store.add_customer(
                wa_id, "New customer"
            )
            contact: dict[str, str] = {"input": to, "wa_id": wa_id}
        else:
            found = self.store.find_customer(user_id=str(recipient))
            if found is None:  # like Meta: accepted now, failed asynchronously
                self.schedule_statuses(
                    wamid=wamid,
                    statuses=["failed"],
                    recipient_id=str(recipient),
                    callback_data=callback,
                    errors=[_undeliverable()],
                )
                return _graph_accepted({"input": str(recipient)}, wamid, kind)
            customer = found
            contact = {"input": str(recipient), "wa_id": customer.wa_id}
        self.store.set_typing(customer.wa_id, 0.0)
        self.store.add_bubble(
            wa_id=customer.wa_id,
            direction="out",
            wamid=wamid,
            kind=kind,
            at=self._now(),
            status="accepted",
            content=content,
            context_wamid=context_id if isinstance(context_id, str) else None,
            callback_data=callback,
        )
        log.info("sandbox_graph_send", type=kind, wamid=wamid)
        self.schedule_statuses(
            wamid=wamid,
            statuses=["sent", "delivered"],
            recipient_id=customer.wa_id,
            recipient_user_id=customer.user_id,
            callback_data=callback,
            category=category,
        )
        return _graph_accepted(contact, wamid, kind)

    # --- status webhooks ----------------------------------------------------------------

    async def _post_status(self, payload: dict[str, Any], wamid: str, status: str) -> bool:
        attempts = len(self._retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._post_webhook(payload)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            else:
                if response.status_code == 200:
                    return True
                outcome = f"http_{response.status_code}"
            log.warning(
                "sandbox_status_webhook_failed",
                wamid=wamid,
                status=status,
                attempt=attempt,
                attempts=attempts,
                outcome=outcome,
            )
            if attempt < attempts:
                await asyncio.sleep(self._retry_delays[attempt - 1])
        log.error("sandbox_status_webhook_given_up", wamid=wamid, status=status)
        return False

    def schedule_statuses(
        self,
        *,
        wamid: str,
        statuses: Sequence[StatusName],
        recipient_id: str,
        recipient_user_id: str | None = None,
        callback_data: str | None = None,
        category: str = "service",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """Send status webhooks for `wamid` in the background, after any earlier ones for
        the same wamid (so `read` never overtakes `sent`/`delivered` from this sandbox)."""
        previous = self._chains.get(wamid)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            for status in statuses:
                if status != "read":
                    self.store.set_status(wamid, status)
                payload = status_webhook(
                    number=self.number,
                    wamid=wamid,
                    status=status,
                    recipient_id=recipient_id,
                    recipient_user_id=recipient_user_id,
                    timestamp=self._now(),
                    biz_opaque_callback_data=callback_data,
                    category=category,
                    errors=errors if status == "failed" else None,
                )
                await self._post_status(payload, wamid, status)

        task = asyncio.create_task(run(), name=f"sandbox-status-{wamid[:16]}")
        self._tasks.add(task)
        self._chains[wamid] = task

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._chains.get(wamid) is finished:
                del self._chains[wamid]

        task.add_done_callback(done)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every pending status webhook has been delivered or given up."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - time.monotonic())

    async def cancel(self) -> None:
        """Cancel the status webhooks still pending and wait for them to stop."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _graph_400(message: str, details: str) -> JSONResponse:
    return JSONResponse(graph_error(100, message, details), status_code=400)


def _graph_accepted(contact: dict[str, str], wamid: str, kind: str) -> JSONResponse:
    message: dict[str, str] = {"id": wamid}
    if kind == "template":
        message["message_status"] = "accepted"
    return JSONResponse(
        {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
    )


def _undeliverable() -> dict[str, Any]:
    return {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "The recipient is unknown to the sandbox."},
    }
