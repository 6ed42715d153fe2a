"""Two `relaydesk serve` processes and one `relaydesk worker` on PostgreSQL: a conversation
escalated through one server appears live on the event stream of the other (LISTEN/NOTIFY),
and the worker's assignment reaches it too."""

from __future__ import annotations

import json
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
    """Reads one server's `/api/v1/events` stream into `events` until told to stop."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.token = token
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.stream(
                "GET",
                f"{self.url}/api/v1/events",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=httpx.Timeout(60.0),
                trust_env=False,
            ) as response:
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


def make_users(database_url: str) -> tuple[str, str]:
    """A supervisor watching, and an agent who can take the escalation."""
    now = datetime.now(UTC)
    db = Database(database_url)
    try:
        with db.write() as conn:
            accounts.create_user(
                conn,
                email="lead@example.com",
                name="Lead",
                role="supervisor",
                password=None,
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
                accounts.create_token(conn, email="lead@example.com", label="watch", now=now),
                accounts.create_token(conn, email="ana@example.com", label="agent", now=now),
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
    first.wait_ready(timeout=120)  # two servers train their classifiers at once
    second.wait_ready(timeout=120)
    lead, agent = make_users(database_url)

    watching = Listener(second.url, lead)
    watching.start()
    assert watching.connected.wait(10), "the event stream did not open"
    assert watching.error is None, watching.error

    body = text_webhook(body="I want to talk to a real person", wa_id=CUSTOMER)
    started = time.monotonic()
    answer = httpx.post(
        f"{first.url}/webhooks/whatsapp", content=body, headers=signed(body), trust_env=False
    )
    assert answer.status_code == 200, answer.text
    wait_for(lambda: "escalated" in watching.kinds(), timeout=10, what="the escalation event")
    latency = time.monotonic() - started
    assert latency < 3, f"the escalation took {latency:.1f} s to reach the other server"

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
    for event in watching.events:  # no bodies nor phone numbers in what is broadcast
        assert CUSTOMER not in json.dumps(event)
        assert "real person" not in json.dumps(event)
