"""The built-in WhatsApp sandbox: a phone-simulator page and a fake Graph API.

The page never talks to the bot directly. What the customer types becomes a real-shaped,
signed webhook POSTed over HTTP to `webhook_url` (the service's own `/webhooks/whatsapp`);
the bot's replies reach the fake Graph endpoint through the real Graph client, are shown on
the page, and `sent` / `delivered` (and, once the page has shown them, `read`) statuses go
back through the same signed webhook.

Wiring (in the app factory, sandbox mode only)::

    sandbox = build_sandbox(
        app_secret=..., access_token=..., phone_number_id=..., display_phone_number=...,
        waba_id=..., webhook_url="http://127.0.0.1:8000/webhooks/whatsapp",
    )
    app.include_router(sandbox.router)   # page, JSON API, fake Graph, static files
    # Graph client base URL: "http://127.0.0.1:8000/sandbox/graph"
    #   -> POST {base}/{version}/{phone_number_id}/messages

The router carries its own lifespan, which FastAPI merges into the app's on
`include_router`: on shutdown it waits briefly for pending status webhooks and closes the
shared httpx client. Code that owns the lifecycle itself (tests, ASGI transports that skip
lifespan) calls `await sandbox.aclose()`; it is idempotent. The static files are mounted
inside the router at `/sandbox/static` (route name `sandbox_static`), so nothing else needs
mounting. `build_sandbox_router(...)` is the same thing returning only the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx
import structlog
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, field_validator, model_validator

from relaydesk.sandbox.payloads import (
    BusinessNumber,
    Customer,
    GraphRequestError,
    StatusName,
    encode_body,
    graph_error,
    inbound_reply_webhook,
    inbound_text_webhook,
    new_wamid,
    render_outbound,
    signature_header,
    status_webhook,
)
from relaydesk.sandbox.store import (
    Bubble,
    DuplicateCustomerError,
    SandboxCustomer,
    SandboxStore,
    UnknownCustomerError,
)

log = structlog.get_logger(__name__)

_HERE = Path(__file__).parent
_WA_ID = re.compile(r"^\d{6,15}$")
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9]{1,128}$")
_SEPARATORS = re.compile(r"[\s\-().+]")
TYPING_SECONDS = 25.0
POLL_INTERVAL_MS = 700


def normalize_wa_id(raw: str) -> str:
    """`+44 (7700) 900-123` -> `447700900123`; raises ValueError unless 6-15 digits remain."""
    digits = _SEPARATORS.sub("", raw)
    if not _WA_ID.fullmatch(digits):
        raise ValueError(
            f"wa_id must be 6 to 15 digits (country code and number, no letters); got {raw!r}"
        )
    return digits


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    wa_id: str | None = None
    user_id: str | None = None  #: a BSUID such as "US.13491208655302741918"
    with_bsuid: bool = False  #: generate a BSUID when user_id is not given

    @field_validator("wa_id")
    @classmethod
    def _check_wa_id(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalize_wa_id(value)

    @field_validator("user_id")
    @classmethod
    def _check_user_id(cls, value: str | None) -> str | None:
        if value is not None and not _BSUID.fullmatch(value):
            raise ValueError(
                "user_id must be a BSUID: two capital letters, a period, then letters and"
                f" digits (e.g. 'US.13491208655302741918'); got {value!r}"
            )
        return value


class ReplyIn(BaseModel):
    kind: Literal["button", "list", "quick_reply"]
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1, max_length=256)
    context_wamid: str = Field(min_length=1)
    description: str | None = None


class MessageIn(BaseModel):
    wa_id: str
    text: str | None = Field(default=None, max_length=4096)
    reply: ReplyIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MessageIn:
        if (self.text is None or not self.text.strip()) == (self.reply is None):
            raise ValueError("send exactly one of 'text' (non-empty) or 'reply'")
        return self


class Sandbox:
    """The sandbox's state, its HTTP client and its router. See the module docstring."""

    def __init__(
        self,
        *,
        app_secret: str,
        access_token: str,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        webhook_url: str,
        store: SandboxStore | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        retry_delays: Sequence[float] = (0.25, 1.0, 3.0),
    ) -> None:
        self.store = store if store is not None else SandboxStore()
        self.number = BusinessNumber(
            waba_id=waba_id,
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
        )
        self._app_secret = app_secret
        self._access_token = access_token
        self._webhook_url = webhook_url
        self._transport = webhook_transport
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._templates = Jinja2Templates(directory=_HERE / "templates")
        self.router = self._build_router()

    # --- lifecycle ------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=10.0)
        return self._client

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every pending status webhook has been delivered or given up."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - time.monotonic())

    async def aclose(self) -> None:
        """Give pending deliveries a moment, cancel the rest, close the HTTP client."""
        await self.drain(timeout=2.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        yield
        await self.aclose()

    def _now(self) -> int:
        return int(self._clock())

    # --- webhooks out -----------------------------------------------------------------------

    async def post_webhook(self, payload: dict[str, Any]) -> httpx.Response:
        """Sign `payload` like Meta and POST it to the service's webhook."""
        body = encode_body(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_header(body, self._app_secret),
            "User-Agent": "facebookexternalua (relaydesk sandbox)",
        }
        return await self._http().post(self._webhook_url, content=body, headers=headers)

    async def _post_status(self, payload: dict[str, Any], wamid: str, status: str) -> bool:
        attempts = len(self._retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self.post_webhook(payload)
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

    def _schedule_statuses(
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

    # --- the customer side ----------------------------------------------------------------

    def create_customer(self, data: CustomerIn) -> SandboxCustomer:
        wa_id = data.wa_id or self._fresh_wa_id()
        user_id = data.user_id
        if user_id is None and data.with_bsuid:
            user_id = "US." + "".join(str(secrets.randbelow(10)) for _ in range(20))
        try:
            return self.store.add_customer(wa_id, data.name.strip(), user_id)
        except DuplicateCustomerError:
            raise HTTPException(409, f"a customer with wa_id {wa_id} already exists") from None

    def _fresh_wa_id(self) -> str:
        while True:  # US fictional 555 numbers: 1 555 01xx xxx
            candidate = "155501" + f"{secrets.randbelow(10**5):05d}"
            if self.store.find_customer(wa_id=candidate) is None:
                return candidate

    async def send_customer_message(self, data: MessageIn) -> JSONResponse:
        try:
            sandbox_customer = self.store.customer(data.wa_id)
        except UnknownCustomerError:
            raise HTTPException(404, f"no sandbox customer with wa_id {data.wa_id}") from None
        customer = Customer(
            wa_id=sandbox_customer.wa_id,
            name=sandbox_customer.name,
            user_id=sandbox_customer.user_id,
        )
        wamid, now = new_wamid(), self._now()
        if data.reply is not None:
            reply = data.reply
            payload = inbound_reply_webhook(
                number=self.number,
                customer=customer,
                kind=reply.kind,
                reply_id=reply.id,
                title=reply.title,
                description=reply.description,
                context_wamid=reply.context_wamid,
                wamid=wamid,
                timestamp=now,
            )
            kind = {"button": "button_reply", "list": "list_reply"}.get(reply.kind, "button")
            content: dict[str, Any] = {"text": reply.title, "reply_id": reply.id}
            context = reply.context_wamid
        else:
            text = data.text or ""
            payload = inbound_text_webhook(
                number=self.number, customer=customer, text=text, wamid=wamid, timestamp=now
            )
            kind, content, context = "text", {"text": text}, None
        self.store.add_bubble(
            wa_id=customer.wa_id,
            direction="in",
            wamid=wamid,
            kind=kind,
            at=now,
            status="sending",
            content=content,
            context_wamid=context,
        )
        try:
            response = await self.post_webhook(payload)
        except httpx.HTTPError as exc:
            self.store.set_status(wamid, "failed", error=f"webhook unreachable: {exc!r}")
            log.warning("sandbox_webhook_unreachable", kind=kind, error=type(exc).__name__)
            return JSONResponse(
                {
                    "detail": f"the webhook at {self._webhook_url} could not be reached",
                    "wamid": wamid,
                    "webhook_status": None,
                    "webhook_body": repr(exc)[:300],
                },
                status_code=502,
            )
        log.info("sandbox_webhook_posted", kind=kind, status_code=response.status_code)
        if response.status_code != 200:
            snippet = response.text[:300]
            self.store.set_status(wamid, "failed", error=f"webhook answered {response.status_code}")
            return JSONResponse(
                {
                    "detail": f"the webhook answered HTTP {response.status_code}",
                    "wamid": wamid,
                    "webhook_status": response.status_code,
                    "webhook_body": snippet,
                },
                status_code=502,
            )
        self.store.set_status(wamid, "delivered")
        return JSONResponse({"wamid": wamid, "webhook_status": response.status_code})

    def poll(self, wa_id: str, since: int) -> dict[str, Any]:
        try:
            customer = self.store.customer(wa_id)
            bubbles, last_seq, newly_read = self.store.poll(wa_id, since)
        except UnknownCustomerError:
            raise HTTPException(404, f"no sandbox customer with wa_id {wa_id}") from None
        for bubble in newly_read:
            self._schedule_statuses(
                wamid=bubble.wamid,
                statuses=["read"],
                recipient_id=customer.wa_id,
                recipient_user_id=customer.user_id,
                callback_data=bubble.callback_data,
            )
        return {
            "customer": customer.to_json(),
            "bubbles": bubbles,
            "last_seq": last_seq,
            "typing": customer.typing_until > self._clock(),
        }

    # --- the fake Graph API -----------------------------------------------------------------

    async def graph_messages(self, request: Request, phone_number_id: str) -> JSONResponse:
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
            return self._graph_mark_read(body)
        return self._graph_send(body)

    def _graph_mark_read(self, body: dict[str, Any]) -> JSONResponse:
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

    def _graph_send(self, body: dict[str, Any]) -> JSONResponse:
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
                self._schedule_statuses(
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
        self._schedule_statuses(
            wamid=wamid,
            statuses=["sent", "delivered"],
            recipient_id=customer.wa_id,
            recipient_user_id=customer.user_id,
            callback_data=callback,
            category=category,
        )
        return _graph_accepted(contact, wamid, kind)

    # --- routes ----------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        router = APIRouter(lifespan=self.lifespan)
        router.mount(
            "/sandbox/static", StaticFiles(directory=_HERE / "static"), name="sandbox_static"
        )

        @router.get("/sandbox", response_class=HTMLResponse, include_in_schema=False)
        async def sandbox_page(request: Request) -> Response:
            return self._templates.TemplateResponse(
                request,
                "sandbox.html",
                {
                    "static_base": request.url_for("sandbox_static", path="").path,
                    "api_base": request.url_for("sandbox_page").path + "/api",
                    "display_phone_number": self.number.display_phone_number,
                    "poll_ms": POLL_INTERVAL_MS,
                },
            )

        @router.get("/sandbox/api/customers")
        async def list_customers() -> dict[str, Any]:
            return {"customers": [c.to_json() for c in self.store.customers()]}

        @router.post("/sandbox/api/customers", status_code=201)
        async def create_customer(data: CustomerIn) -> dict[str, Any]:
            return self.create_customer(data).to_json()

        @router.post("/sandbox/api/messages")
        async def send_message(data: MessageIn) -> JSONResponse:
            return await self.send_customer_message(data)

        @router.get("/sandbox/api/timeline")
        async def timeline(wa_id: str, since: int = Query(default=0, ge=0)) -> dict[str, Any]:
            return self.poll(wa_id, since)

        @router.post("/sandbox/graph/{version}/{phone_number_id}/messages")
        async def graph_messages(
            request: Request, version: str, phone_number_id: str
        ) -> JSONResponse:
            return await self.graph_messages(request, phone_number_id)

        return router


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


def build_sandbox(
    *,
    app_secret: str,
    access_token: str,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
    webhook_url: str,
    store: SandboxStore | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Sandbox:
    """The sandbox with its router (`.router`), store (`.store`) and `aclose()`."""
    return Sandbox(
        app_secret=app_secret,
        access_token=access_token,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
        webhook_url=webhook_url,
        store=store,
        webhook_transport=webhook_transport,
    )


def build_sandbox_router(
    *,
    app_secret: str,
    access_token: str,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
    webhook_url: str,
    store: SandboxStore | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> APIRouter:
    """Only the router; its lifespan closes the sandbox's HTTP client on app shutdown."""
    return build_sandbox(
        app_secret=app_secret,
        access_token=access_token,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        waba_id=waba_id,
        webhook_url=webhook_url,
        store=store,
        webhook_transport=webhook_transport,
    ).router


__all__ = ["Bubble", "Sandbox", "build_sandbox", "build_sandbox_router", "normalize_wa_id"]
