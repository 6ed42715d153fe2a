"""Browser tests of the agent console: Debian's Chromium driven by Playwright against the
whole app served by uvicorn on a free loopback port, in sandbox mode (replies reach the
built-in fake Graph API and show on the sandbox phone).

Needs `apt-get install -y chromium` and `pip install playwright` (never `playwright install`:
the browser comes from Debian). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from relaydesk.bootstrap import Container, build
from relaydesk.config import load_settings
from relaydesk.services import accounts, conversations

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class LiveServer:
    """Relaydesk as `relaydesk serve` runs it (sandbox mode, embedded worker)."""

    base_url: str
    container: Container

    def user(self, email: str, role: str = "agent", **options: Any) -> int:
        with self.container.db.write() as conn:
            return accounts.create_user(
                conn,
                email=email,
                name=options.pop("name", email.split("@")[0].capitalize()),
                role=role,
                password=PASSWORD,
                now=datetime.now(UTC),
                skills=options.pop("skills", ("orders", "complaints", "payments")),
                languages=options.pop("languages", ("en", "es")),
                capacity=options.pop("capacity", 3),
            ).id

    def customer_says(self, wa_id: str, name: str, text: str) -> None:
        """The customer writes on the sandbox phone (a signed webhook to the service)."""
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            known = client.get("/sandbox/api/customers").json()["customers"]
            if not any(c["wa_id"] == wa_id for c in known):
                created = client.post("/sandbox/api/customers", json={"name": name, "wa_id": wa_id})
                assert created.status_code == 201, created.text
            sent = client.post("/sandbox/api/messages", json={"wa_id": wa_id, "text": text})
            assert sent.status_code < 300, sent.text

    def escalate(self, wa_id: str, name: str) -> int:
        self.customer_says(wa_id, name, "I want to talk to a real person please")
        found: list[int] = []

        def queued() -> bool:
            with self.container.db.read() as conn:
                mine = conversations.find_for_customer(conn, wa_id)
            found[:] = [int(c["id"]) for c in mine if c["status"] == "queued"]
            return bool(found)

        wait_for(queued, f"{name}'s conversation to be queued")
        return found[0]

    def phone(self, wa_id: str) -> list[dict[str, Any]]:
        """What the customer's sandbox phone shows, oldest first."""
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            answer = client.get("/sandbox/api/timeline", params={"wa_id": wa_id})
        answer.raise_for_status()
        bubbles: list[dict[str, Any]] = answer.json()["bubbles"]
        return bubbles


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from relaydesk.app.http.main import create_app

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    database = tmp_path_factory.mktemp("console") / "relaydesk.sqlite"
    settings = load_settings(
        {"RELAYDESK_DATABASE_URL": f"sqlite:///{database}", "RELAYDESK_LOG_LEVEL": "warning"}
    )
    container = build(settings, base_url=base_url, migrate=True)
    assert container.decisions is not None  # train the brief's classifier before serving
    app = create_app(container, run_worker=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "uvicorn to start", timeout=60)
    try:
        yield LiveServer(base_url, container)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Any) -> Any:
    """One person's browser: its own cookies, a desktop viewport, patient timeouts (the
    machine running the tests may be busy)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    return context


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
