"""Two `relaydesk serve` processes and one `relaydesk worker` on PostgreSQL: a conversation
escalated through one server appears live on the other's API event stream and in a console
signed in there (LISTEN/NOTIFY), and the worker's assignment reaches both too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from relaydesk.adapters.storage.db import Database
from relaydesk.services import accounts
from relaydesk.testing import GraphServer
from tests.acceptance.test_processes import (
    SECRET_KEY,
    Relaydesk,
    db_upgrade,
    production_env,
    signed,
    wait_for,
)
from tests.acceptance.test_processes import graph as graph  # the fixture, with the token
from tests.acceptance.test_processes import servers as servers  # the fixture
from tests.conftest import text_webhook

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CUSTOMER = "34611000900"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (
            (tmp_path / "worker.out").open("wb") as out,
            (tmp_path / "worker.err").open("wb") as err,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-m", "relaydesk", "worker"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()
            proc.wait(timeout=10)


class Listener(threading.Thread):
    """Reads one event stream (the API's with a token, or the console's with a signed-in
    client) into `events` until the process ends."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.path = path
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.client.stream("GET", self.path, timeout=httpx.Timeout(60.0)) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    self.connected.set()
                    if line.startswith("data: "):
                        self.events.append(json.loads(line.removeprefix("data: ")))
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.connected.set()

    def kinds(self) -> list[str]:
        return [event["kind"] for event in self.events]


PASSWORD = "a long console passphrase"  # a test account


def make_users(database_url: str) -> tuple[str, str]:
    """A supervisor watching (with a console password), and an agent who can take the
    escalation; returns their API tokens."""
    now = datetime.now(UTC)
    db = Database(database_url)
    try:
        with db.write() as conn:
            accounts.create_user(
                conn,
                email="lead@example.com",
                name="Lead",
                role="supervisor",
                password=PASSWORD,
                now=now,
            )
            accounts.create_user(
                conn,
                email="ana@example.com",
                name="Ana",
                role="agent",
                password=None,
                now=now,
                skills=["orders", "billing", "technical", "general", "escalations"],
                languages=["en"],
                capacity=3,
            )
            return (
                accounts.create_token(
                    conn, email="lead@example.com", label="watch", now=now, key=SECRET_KEY
                ),
                accounts.create_token(
                    conn, email="ana@example.com", label="agent", now=now, key=SECRET_KEY
                ),
            )
    finally:
        db.dispose()


# LISTEN/NOTIFY across server processes is what this checks: PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_escalation_through_one_server_appears_live_on_the_other(
    database_url: str,
    graph: GraphServer,
    servers: Callable[..., Relaydesk],
    worker: Callable[[dict[str, str]], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    env = production_env(database_url, graph.url, embedded_worker="false")
    db_upgrade(env, tmp_path)
    first, second = servers(env), servers(env)
    first.start(ready=False)
    second.start(ready=False)
    worker(env)
    first.wait_ready(timeout=120)
    second.wait_ready(timeout=120)
    # the worker trains the brief's classifier before it decides anything; the latency below
    # is the path of one message, not the worker's start-up
    worker_out = tmp_path / "worker.out"
    wait_for(
        lambda: worker_out.exists() and "worker running" in worker_out.read_text(),
        timeout=240,
        what=f"the worker's start ({(tmp_path / 'worker.err').read_text()[-2000:]})",
    )
    lead, agent = make_users(database_url)

    api = httpx.Client(
        base_url=second.url, headers={"Authorization": f"Bearer {lead}"}, trust_env=False
    )
    watching = Listener(api, "/api/v1/events")
    console = signed_in_console(second.url)
    on_console = Listener(console, "/console/events")
    for listener in (watching, on_console):
        listener.start()
        assert listener.connected.wait(10), f"{listener.path} did not open"
        assert listener.error is None, listener.error

    body = text_webhook(body="I want to talk to a real person", wa_id=CUSTOMER)
    started = time.monotonic()
    answer = httpx.post(
        f"{first.url}/webhooks/whatsapp", content=body, headers=signed(body), trust_env=False
    )
    assert answer.status_code == 200, answer.text
    wait_for(lambda: "escalated" in watching.kinds(), timeout=10, what="the escalation event")
    latency = time.monotonic() - started
    # acknowledged by one server, decided by the worker (which polls every 0.1 s), announced
    # to the other server by NOTIFY
    assert latency < 5, f"the escalation took {latency:.1f} s to reach the other server"
    wait_for(lambda: "escalated" in on_console.kinds(), timeout=5, what="the console's live update")

    # The agent goes online through the second server; the worker process assigns.
    online = httpx.post(
        f"{second.url}/api/v1/me/presence",
        json={"presence": "online"},
        headers={"Authorization": f"Bearer {agent}"},
        trust_env=False,
    )
    assert online.status_code == 200, online.text
    wait_for(lambda: "assigned" in watching.kinds(), timeout=15, what="the assignment event")
    escalated = next(e for e in watching.events if e["kind"] == "escalated")
    assigned = next(e for e in watching.events if e["kind"] == "assigned")
    assert assigned["conversation_id"] == escalated["conversation_id"]
    wait_for(lambda: "assigned" in on_console.kinds(), timeout=5, what="the console's update")
    for event in watching.events:  # no bodies nor phone numbers in what is broadcast
        assert CUSTOMER not in json.dumps(event)
        assert "real person" not in json.dumps(event)


def signed_in_console(url: str) -> httpx.Client:
    """A browser-like client signed in to the console as the supervisor."""
    client = httpx.Client(base_url=url, trust_env=False, timeout=10)
    form = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    assert token, form.text[:500]
    signed = client.post(
        "/console/login",
        data={"email": "lead@example.com", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303, signed.text[:500]
    return client
