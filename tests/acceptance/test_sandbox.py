"""The sandbox router inside a small app whose stub `/webhooks/whatsapp` checks signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from structlog.testing import capture_logs

from relaydesk.sandbox.router import Sandbox, build_sandbox_router
from relaydesk.sandbox.store import SandboxStore

APP_SECRET = "sandbox-test-app-secret"
TOKEN = "sandbox-test-token"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
GRAPH = f"/sandbox/graph/v23.0/{PHONE_NUMBER_ID}/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T = TypeVar("T")


@dataclass
class Hook:
    """What the stub webhook received; `answers` is popped per request (200 when empty)."""

    raw: list[bytes] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.raw]

    def statuses(self) -> list[dict[str, Any]]:
        return [
            s
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
            for s in change["value"].get("statuses", [])
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [
            m
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
            for m in change["value"].get("messages", [])
        ]


@dataclass
class Env:
    client: httpx.AsyncClient
    sandbox: Sandbox
    hook: Hook

    async def customer(self, name: str = "Test Name", **extra: Any) -> dict[str, Any]:
        response = await self.client.post("/sandbox/api/customers", json={"name": name, **extra})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def graph_send(self, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(GRAPH, json=body, headers=AUTH)


def make_app(hook: Hook) -> tuple[FastAPI, Sandbox]:
    app = FastAPI()

    @app.post("/webhooks/whatsapp")
    async def webhook(request: Request) -> Response:
        raw = await request.body()
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
            return Response("bad signature", status_code=401)
        hook.raw.append(raw)
        status = hook.answers.pop(0) if hook.answers else 200
        return Response("stub says no" if status != 200 else "", status_code=status)

    sandbox = Sandbox(
        app_secret=APP_SECRET,
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_NUMBER,
        waba_id=WABA_ID,
        webhook_url="http://testserver/webhooks/whatsapp",
        webhook_transport=httpx.ASGITransport(app=app),
        retry_delays=(0.0, 0.0),
    )
    app.include_router(sandbox.router)
    return app, sandbox


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    hook = Hook()
    app, sandbox = make_app(hook)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Env(client=client, sandbox=sandbox, hook=hook)
    await sandbox.aclose()


def text_body(to: str, body: str = "Hello from the bot", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }


BUTTONS = {
    "type": "interactive",
    "interactive": {
        "type": "button",
        "header": {"type": "text", "text": "Order 123"},
        "body": {"text": "What do you need?"},
        "footer": {"text": "Relaydesk"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "track", "title": "Track order"}},
                {"type": "reply", "reply": {"id": "human", "title": "Talk to a person"}},
            ]
        },
    },
}
LIST = {
    "type": "interactive",
    "interactive": {
        "type": "list",
        "body": {"text": "Pick a topic"},
        "action": {
            "button": "Topics",
            "sections": [
                {
                    "title": "Orders",
                    "rows": [
                        {"id": "where", "title": "Where is it?", "description": "Tracking"},
                        {"id": "return", "title": "Return an item"},
                    ],
                }
            ],
        },
    },
}
TEMPLATE = {
    "type": "template",
    "template": {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Pablo"}, {"type": "text", "text": "123"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": 0,
                "parameters": [{"type": "payload", "payload": "ESCALATE"}],
            },
        ],
    },
}


def only(items: list[T]) -> T:
    assert len(items) == 1, items
    return items[0]


async def test_page_renders_with_its_static_files(env: Env) -> None:
    page = await env.client.get("/sandbox")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="/sandbox/static/sandbox.js"' in page.text
    assert 'data-api-base="/sandbox/api"' in page.text
    for name, kind in (("sandbox.js", "javascript"), ("sandbox.css", "text/css")):
        asset = await env.client.get(f"/sandbox/static/{name}")
        assert asset.status_code == 200
        assert kind in asset.headers["content-type"]


async def test_text_message_becomes_a_signed_whatsapp_webhook(env: Env) -> None:
    customer = await env.customer("Zoë Müller", wa_id="447700900123")

    response = await env.client.post(
        "/sandbox/api/messages", json={"wa_id": "447700900123", "text": "Olá 👋 a/b @ ünïcode"}
    )

    assert response.status_code == 200, response.text
    sent = response.json()
    assert sent["webhook_status"] == 200
    raw = only(env.hook.raw)
    assert raw.isascii() and b"\\u00e1" in raw and b'":"' in raw and b", " not in raw
    body = json.loads(raw)
    assert body["object"] == "whatsapp_business_account"
    entry = only(body["entry"])
    assert entry["id"] == WABA_ID
    change = only(entry["changes"])
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": DISPLAY_NUMBER,
        "phone_number_id": PHONE_NUMBER_ID,
    }
    assert value["contacts"] == [{"profile": {"name": "Zoë Müller"}, "wa_id": customer["wa_id"]}]
    message = only(value["messages"])
    assert message["from"] == "447700900123"
    assert message["id"] == sent["wamid"] and message["id"].startswith("wamid.")
    assert message["timestamp"].isdigit()
    assert message["type"] == "text"
    assert message["text"] == {"body": "Olá 👋 a/b @ ünïcode"}
    timeline = (await env.client.get("/sandbox/api/timeline?wa_id=447700900123")).json()
    bubble = only(timeline["bubbles"])
    assert (bubble["direction"], bubble["status"]) == ("in", "delivered")


async def test_each_message_gets_a_new_wamid_and_bsuid_is_sent(env: Env) -> None:
    customer = await env.customer(with_bsuid=True)
    for text in ("one", "two"):
        await env.client.post(
            "/sandbox/api/messages", json={"wa_id": customer["wa_id"], "text": text}
        )
    first, second = env.hook.messages()
    assert first["id"] != second["id"]
    assert customer["user_id"].startswith("US.")
    assert first["from_user_id"] == customer["user_id"]
    contact = only(env.hook.bodies[0]["entry"][0]["changes"][0]["value"]["contacts"])
    assert contact["user_id"] == customer["user_id"]


@pytest.mark.parametrize(
    ("kind", "wire_type", "extra"),
    [
        ("button", "button_reply", {}),  # reply button tap
        ("list", "list_reply", {"description": "Tracking"}),  # list row tap keeps its description
    ],
)
async def test_taps_become_interactive_replies_with_context(
    env: Env, kind: str, wire_type: str, extra: dict[str, str]
) -> None:
    customer = await env.customer()
    tapped = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI="
    reply = {"kind": kind, "id": "where", "title": "Where is it?", "context_wamid": tapped, **extra}

    response = await env.client.post(
        "/sandbox/api/messages", json={"wa_id": customer["wa_id"], "reply": reply}
    )

    assert response.status_code == 200, response.text
    message = only(env.hook.messages())
    assert message["context"] == {"from": DISPLAY_NUMBER, "id": tapped}
    assert message["type"] == "interactive"
    assert message["interactive"] == {
        "type": wire_type,
        wire_type: {"id": "where", "title": "Where is it?", **extra},
    }


async def test_template_quick_reply_tap_is_a_button_message(env: Env) -> None:
    customer = await env.customer()
    reply = {"kind": "quick_reply", "id": "ESCALATE", "title": "Talk to us", "context_wamid": "w1"}
    await env.client.post(
        "/sandbox/api/messages", json={"wa_id": customer["wa_id"], "reply": reply}
    )
    message = only(env.hook.messages())
    assert message["type"] == "button"
    assert message["button"] == {"payload": "ESCALATE", "text": "Talk to us"}
    assert message["context"]["id"] == "w1"


async def test_webhook_refusal_is_reported_as_502(env: Env) -> None:
    customer = await env.customer()
    env.hook.answers.append(500)

    response = await env.client.post(
        "/sandbox/api/messages", json={"wa_id": customer["wa_id"], "text": "hi"}
    )

    assert response.status_code == 502
    data = response.json()
    assert data["webhook_status"] == 500
    assert data["webhook_body"] == "stub says no"
    assert "500" in data["detail"]
    timeline = (await env.client.get(f"/sandbox/api/timeline?wa_id={customer['wa_id']}")).json()
    assert only(timeline["bubbles"])["status"] == "failed"


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "", "wa_id": "447700900123"},  # empty text and no reply
        {"wa_id": "447700900123"},  # neither
    ],
)
async def test_message_needs_text_or_reply(env: Env, payload: dict[str, Any]) -> None:
    await env.customer(wa_id="447700900123")
    response = await env.client.post("/sandbox/api/messages", json=payload)
    assert response.status_code == 422
    assert "exactly one of 'text'" in response.text


async def test_message_for_unknown_customer_is_404(env: Env) -> None:
    response = await env.client.post("/sandbox/api/messages", json={"wa_id": "123456", "text": "x"})
    assert response.status_code == 404
    assert "no sandbox customer" in response.json()["detail"]


class TestCustomers:
    @pytest.mark.parametrize("wa_id", ["12ab56", "12345", "1234567890123456"])
    async def test_invalid_wa_id_is_422_with_a_clear_message(self, env: Env, wa_id: str) -> None:
        response = await env.client.post(
            "/sandbox/api/customers", json={"name": "X", "wa_id": wa_id}
        )
        assert response.status_code == 422
        message = only(response.json()["detail"])["msg"]
        assert "wa_id must be 6 to 15 digits" in message and wa_id in message

    async def test_wa_id_is_generated_and_formatting_is_stripped(self, env: Env) -> None:
        generated = await env.customer("Ann")
        formatted = await env.customer("Bob", wa_id="+44 7700-900(123)")
        assert generated["wa_id"].isdigit() and 6 <= len(generated["wa_id"]) <= 15
        assert formatted["wa_id"] == "447700900123"
        listing = (await env.client.get("/sandbox/api/customers")).json()["customers"]
        assert [c["name"] for c in listing] == ["Ann", "Bob"]

    async def test_duplicate_wa_id_is_409(self, env: Env) -> None:
        await env.customer(wa_id="447700900123")
        response = await env.client.post(
            "/sandbox/api/customers", json={"name": "Y", "wa_id": "447700900123"}
        )
        assert response.status_code == 409


class TestFakeGraph:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}],
    )
    async def test_rejects_a_wrong_token(self, env: Env, headers: dict[str, str]) -> None:
        response = await env.client.post(GRAPH, json=text_body("447700900123"), headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == 190 and error["type"] == "OAuthException"
        assert error["fbtrace_id"]

    @pytest.mark.parametrize(
        ("change", "field_name"),
        [
            ({"to": None}, "to"),
            ({"messaging_product": "sms"}, "messaging_product"),
            ({"type": "carousel"}, "type"),
            ({"text": {"preview_url": True}}, "text.body"),
            ({"text": {"body": "x" * 4097}}, "text.body"),
            (
                {
                    "type": "interactive",
                    "interactive": {
                        **BUTTONS["interactive"],  # type: ignore[dict-item]
                        "action": {
                            "buttons": [
                                {"type": "reply", "reply": {"id": str(i), "title": f"B{i}"}}
                                for i in range(4)
                            ]
                        },
                    },
                },
                "interactive.action.buttons",
            ),
            ({"type": "template", "template": {"name": "x"}}, "template.language"),
        ],
    )
    async def test_rejects_a_malformed_body_naming_the_field(
        self, env: Env, change: dict[str, Any], field_name: str
    ) -> None:
        body = {k: v for k, v in {**text_body("447700900123"), **change}.items() if v is not None}
        response = await env.graph_send(body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 100
        assert error["error_data"]["details"].startswith(field_name + ":")
        assert env.hook.raw == []

    async def test_rejects_another_phone_number_id(self, env: Env) -> None:
        response = await env.client.post(
            "/sandbox/graph/v23.0/999/messages", json=text_body("447700900123"), headers=AUTH
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 100

    @pytest.mark.parametrize(
        ("message", "expected_content"),
        [
            ({"type": "text", "text": {"body": "Hi *there*"}}, {"text": "Hi *there*"}),
            (
                BUTTONS,
                {
                    "text": "What do you need?",
                    "header": "Order 123",
                    "footer": "Relaydesk",
                    "buttons": [
                        {"id": "track", "title": "Track order"},
                        {"id": "human", "title": "Talk to a person"},
                    ],
                },
            ),
            (
                LIST,
                {
                    "text": "Pick a topic",
                    "button": "Topics",
                    "sections": [
                        {
                            "title": "Orders",
                            "rows": [
                                {"id": "where", "title": "Where is it?", "description": "Tracking"},
                                {"id": "return", "title": "Return an item", "description": None},
                            ],
                        }
                    ],
                },
            ),
            (
                TEMPLATE,
                {
                    "template": "order_update",
                    "language": "en_US",
                    "params": [{"name": None, "value": "Pablo"}, {"name": None, "value": "123"}],
                    "quick_replies": [{"id": "ESCALATE", "title": "ESCALATE"}],
                },
            ),
        ],
        ids=["text", "buttons", "list", "template"],
    )
    async def test_accepts_a_send_and_reports_sent_then_delivered(
        self, env: Env, message: dict[str, Any], expected_content: dict[str, Any]
    ) -> None:
        customer = await env.customer(wa_id="447700900123")
        body = {
            "messaging_product": "whatsapp",
            "to": "+447700900123",
            "biz_opaque_callback_data": "outbox-42",
            **message,
        }

        response = await env.graph_send(body)

        assert response.status_code == 200, response.text
        data = response.json()
        wamid = only(data["messages"])["id"]
        assert wamid.startswith("wamid.")
        expected_message = {"id": wamid}
        if message["type"] == "template":
            expected_message["message_status"] = "accepted"
        assert data == {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+447700900123", "wa_id": customer["wa_id"]}],
            "messages": [expected_message],
        }
        await env.sandbox.drain()
        statuses = env.hook.statuses()
        assert [s["status"] for s in statuses] == ["sent", "delivered"]
        for status in statuses:
            assert status["id"] == wamid
            assert status["recipient_id"] == "447700900123"
            assert status["timestamp"].isdigit()
            assert status["biz_opaque_callback_data"] == "outbox-42"
        assert "pricing" in statuses[0] and "pricing" not in statuses[1]
        metadata = env.hook.bodies[0]["entry"][0]["changes"][0]["value"]["metadata"]
        assert metadata["phone_number_id"] == PHONE_NUMBER_ID
        bubble = only(env.sandbox.store.timeline("447700900123")[0])
        assert bubble["direction"] == "out" and bubble["status"] == "delivered"
        assert expected_content.items() <= bubble["content"].items()

    async def test_each_send_gets_a_new_wamid(self, env: Env) -> None:
        await env.customer(wa_id="447700900123")
        ids = set()
        for _ in range(3):
            ids.add((await env.graph_send(text_body("447700900123"))).json()["messages"][0]["id"])
        assert len(ids) == 3

    async def test_unknown_bsuid_recipient_fails_asynchronously(self, env: Env) -> None:
        body = text_body("")
        del body["to"]
        body["recipient"] = "US.999"
        response = await env.graph_send(body)
        assert response.status_code == 200
        await env.sandbox.drain()
        status = only(env.hook.statuses())
        assert status["status"] == "failed"
        assert only(status["errors"])["code"] == 131026

    async def test_mark_as_read_and_typing_indicator(self, env: Env) -> None:
        customer = await env.customer()
        wamids = []
        for text in ("first", "second"):
            sent = await env.client.post(
                "/sandbox/api/messages", json={"wa_id": customer["wa_id"], "text": text}
            )
            wamids.append(sent.json()["wamid"])

        response = await env.graph_send(
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": wamids[1],
                "typing_indicator": {"type": "text"},
            }
        )

        assert response.status_code == 200
        assert response.json() == {"success": True}
        timeline = (await env.client.get(f"/sandbox/api/timeline?wa_id={customer['wa_id']}")).json()
        assert [b["status"] for b in timeline["bubbles"]] == ["read", "read"]
        assert timeline["typing"] is True
        unknown = await env.graph_send(
            {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
        )
        assert unknown.status_code == 400
        assert unknown.json()["error"]["error_data"]["details"].startswith("message_id:")


async def test_polling_the_timeline_marks_read_and_sends_a_read_status(env: Env) -> None:
    customer = await env.customer(wa_id="447700900123")
    wamid = (await env.graph_send(text_body("447700900123"))).json()["messages"][0]["id"]

    first = (await env.client.get("/sandbox/api/timeline?wa_id=447700900123&since=0")).json()

    assert only(first["bubbles"])["status"] == "read"
    assert first["customer"]["wa_id"] == customer["wa_id"]
    await env.sandbox.drain()
    statuses = env.hook.statuses()
    assert [(s["id"], s["status"]) for s in statuses] == [
        (wamid, "sent"),
        (wamid, "delivered"),
        (wamid, "read"),
    ]
    again = await env.client.get(
        f"/sandbox/api/timeline?wa_id=447700900123&since={first['last_seq']}"
    )
    assert again.json()["bubbles"] == []
    await env.sandbox.drain()
    assert len(env.hook.statuses()) == 3  # read is sent once


async def test_status_webhooks_are_retried_then_given_up_without_logging_bodies(
    env: Env,
) -> None:
    await env.customer(wa_id="447700900123")
    env.hook.answers.extend([503, 200, 500, 500, 500])  # sent: 1 retry; delivered: given up
    with capture_logs() as logs:
        wamid = (await env.graph_send(text_body("447700900123", "secret body"))).json()
        await env.sandbox.drain()
    attempts = [s["status"] for s in env.hook.statuses()]
    assert attempts == ["sent", "sent", "delivered", "delivered", "delivered"]
    events = [entry["event"] for entry in logs]
    assert events.count("sandbox_status_webhook_failed") == 4
    assert "sandbox_status_webhook_given_up" in events
    assert wamid["messages"][0]["id"] in {entry.get("wamid") for entry in logs}
    dumped = repr(logs)
    assert "secret body" not in dumped and "447700900123" not in dumped


async def test_router_from_build_sandbox_router_runs_inside_the_app_lifespan() -> None:
    app = FastAPI()
    router = build_sandbox_router(
        app_secret=APP_SECRET,
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_NUMBER,
        waba_id=WABA_ID,
        webhook_url="http://testserver/webhooks/whatsapp",
        store=SandboxStore(),
    )
    app.include_router(router)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/sandbox")).status_code == 200


def test_store_keeps_at_most_max_bubbles_per_customer() -> None:
    store = SandboxStore(max_bubbles=3)
    store.add_customer("447700900123", "A")
    for i in range(5):
        store.add_bubble(
            wa_id="447700900123",
            direction="in",
            wamid=f"wamid.{i}",
            kind="text",
            at=0,
            status="delivered",
            content={"text": str(i)},
        )
    bubbles, last_seq = store.timeline("447700900123")
    assert [b["wamid"] for b in bubbles] == ["wamid.2", "wamid.3", "wamid.4"]
    assert store.bubble("wamid.0") is None
    assert last_seq == 5
    assert store.timeline("447700900123", since=4)[0][0]["wamid"] == "wamid.4"
    assert not store.set_status("wamid.4", "sending")  # statuses never move back
