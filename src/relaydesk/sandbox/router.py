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
The fake Graph endpoint and its status webhooks live in `relaydesk.sandbox.fake_graph`.
"""

from __future__ import annotations

import contextlib
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

from relaydesk.app.http.headers import secure_page
from relaydesk.sandbox.fake_graph import TYPING_SECONDS as TYPING_SECONDS
from relaydesk.sandbox.fake_graph import FakeGraph, normalize_wa_id
from relaydesk.sandbox.payloads import (
    BusinessNumber,
    Customer,
    encode_body,
    inbound_reply_webhook,
    inbound_text_webhook,
    new_wamid,
    signature_header,
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
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9]{1,128}$")
POLL_INTERVAL_MS = 700


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
        self._webhook_url = webhook_url
        self._transport = webhook_transport
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self.graph = FakeGraph(
            store=self.store,
            number=self.number,
            access_token=access_token,
            post_webhook=self.post_webhook,
            clock=clock,
            retry_delays=retry_delays,
        )
        self._templates = Jinja2Templates(directory=_HERE / "templates")
        self.router = self._build_router()

    # --- lifecycle ------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=10.0)
        return self._client

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every pending status webhook has been delivered or given up."""
        await self.graph.drain(timeout)

    async def aclose(self) -> None:
        """Give pending deliveries a moment, cancel the rest, close the HTTP client."""
        await self.drain(timeout=2.0)
        await self.graph.cancel()
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
            self.graph.schedule_statuses(
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
        return await self.graph.messages(request, phone_number_id)

    # --- routes ----------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        router = APIRouter(lifespan=self.lifespan)
        router.mount(
            "/sandbox/static", StaticFiles(directory=_HERE / "static"), name="sandbox_static"
        )

        @router.get("/sandbox", response_class=HTMLResponse, include_in_schema=False)
        async def sandbox_page(request: Request) -> Response:
            return secure_page(
                self._templates.TemplateResponse(
                    request,
                    "sandbox.html",
                    {
                        "static_base": request.url_for("sandbox_static", path="").path,
                        "api_base": request.url_for("sandbox_page").path + "/api",
                        "display_phone_number": self.number.display_phone_number,
                        "poll_ms": POLL_INTERVAL_MS,
                    },
                )
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
