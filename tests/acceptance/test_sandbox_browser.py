"""Browser smoke test of the sandbox page: Debian's Chromium driven by Playwright.

Needs `apt-get install -y chromium` and `pip install playwright` (never `playwright install`:
the browser comes from Debian). The app runs under uvicorn on a free 127.0.0.1 port; its stub
webhook answers a text message by sending reply buttons through the fake Graph API over HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.background import BackgroundTask

from relaydesk.sandbox.router import build_sandbox_router

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

APP_SECRET = "browser-test-secret"
TOKEN = "browser-test-token"
PHONE_NUMBER_ID = "106540352242922"
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "sandbox.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUTTONS = {
    "type": "interactive",
    "interactive": {
        "type": "button",
        "body": {"text": "Sorry to hear that! What would you like to do?"},
        "footer": {"text": "Relaydesk bot"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "track", "title": "Track my order"}},
                {"type": "reply", "reply": {"id": "human", "title": "Talk to a person"}},
            ]
        },
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bot:
    """The stub service: verifies signatures, records messages, replies via the fake Graph."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.messages: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.sent_wamids: list[str] = []

    async def reply(self, to: str, message: dict[str, Any]) -> None:
        url = f"{self.base_url}/sandbox/graph/v23.0/{PHONE_NUMBER_ID}/messages"
        body = {"messaging_product": "whatsapp", "to": to, **message}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient() as client:
            response = await client.post(url, json=body, headers=headers)
        response.raise_for_status()
        self.sent_wamids.append(response.json()["messages"][0]["id"])

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected):
            return Response(status_code=401)
        value = json.loads(raw)["entry"][0]["changes"][0]["value"]
        self.statuses.extend(value.get("statuses", []))
        task: BackgroundTask | None = None
        for message in value.get("messages", []):
            self.messages.append(message)
            if message["type"] == "text":
                task = BackgroundTask(self.reply, message["from"], BUTTONS)
            elif message["type"] == "interactive":
                text = {"type": "text", "text": {"body": "Connecting you to a person now."}}
                task = BackgroundTask(self.reply, message["from"], text)
        return Response(status_code=200, background=task)


@pytest.fixture
def served() -> Iterator[tuple[str, Bot]]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    bot = Bot(base_url)
    app = FastAPI()
    app.add_api_route("/webhooks/whatsapp", bot.handle, methods=["POST"])
    app.include_router(
        build_sandbox_router(
            app_secret=APP_SECRET,
            access_token=TOKEN,
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number="15550783881",
            waba_id="102290129340398",
            webhook_url=f"{base_url}/webhooks/whatsapp",
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base_url, bot
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_type_see_buttons_tap_one(served: tuple[str, Bot]) -> None:
    base_url, bot = served
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 820})
            page.goto(f"{base_url}/sandbox")
            page.locator(".customer.active").wait_for()

            page.fill("#composer-input", "Hi, my order #123 hasn't arrived 😟")
            page.press("#composer-input", "Enter")
            button = page.locator("button.reply-btn", has_text="Talk to a person")
            button.wait_for(timeout=10_000)
            wait_for(lambda: bot.messages[:1] != [], "the text webhook")
            assert bot.messages[0]["text"]["body"] == "Hi, my order #123 hasn't arrived 😟"

            button.click()
            wait_for(lambda: len(bot.messages) >= 2, "the button_reply webhook")
            tap = bot.messages[1]
            assert tap["type"] == "interactive"
            assert tap["interactive"]["button_reply"] == {
                "id": "human",
                "title": "Talk to a person",
            }
            assert tap["context"]["id"] == bot.sent_wamids[0]

            page.locator(".bubble.them", has_text="Connecting you to a person").wait_for()
            wait_for(
                lambda: (
                    {"sent", "delivered", "read"}
                    <= {s["status"] for s in bot.statuses if s["id"] == bot.sent_wamids[0]}
                ),
                "sent, delivered and read statuses for the buttons message",
            )
            page.locator(".row-them .tick-read").last.wait_for()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            browser.close()
