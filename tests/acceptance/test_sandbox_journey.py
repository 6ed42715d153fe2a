"""The whole journey in sandbox mode, over a real socket with the embedded worker and real
time: a sandbox customer asks for a person and gets one handoff message; an agent goes
online and is assigned; the agent's reply reaches the sandbox phone; after resolve the CSAT
question arrives as reply buttons; the customer's tap is stored as the rating."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from relaydesk.adapters.storage.tables import conversations
from relaydesk.app.http.main import create_app
from relaydesk.bootstrap import Container, build
from relaydesk.config import load_settings
from relaydesk.services import accounts
from relaydesk.testing import ServerThread, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(database_url: str) -> Iterator[tuple[Container, httpx.Client]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings({"RELAYDESK_DATABASE_URL": database_url})
    assert settings.sandbox
    container = build(settings, base_url=base, migrate=True)
    with (
        ServerThread(create_app(container, run_worker=True), port),
        httpx.Client(base_url=base, timeout=10, trust_env=False) as client,
    ):
        yield container, client


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def outbound(client: httpx.Client, wa_id: str) -> list[dict[str, Any]]:
    timeline = client.get("/sandbox/api/timeline", params={"wa_id": wa_id}).json()
    return [b for b in timeline["bubbles"] if b["direction"] == "out"]


def test_escalate_assign_reply_resolve_and_rate(
    sandbox: tuple[Container, httpx.Client],
) -> None:
    container, client = sandbox
    now = datetime.now(UTC)
    with container.db.write() as conn:
        accounts.create_user(
            conn,
            email="ana@example.com",
            name="Ana",
            role="agent",
            password=None,
            now=now,
            skills=sorted({s for q in container.brief.queues.values() for s in q.skills}),
            languages=["en"],
            capacity=3,
        )
        token = accounts.create_token(
            conn,
            email="ana@example.com",
            label="tests",
            now=now,
            key=container.settings.secret_key.get_secret_value(),
        )
    auth = {"Authorization": f"Bearer {token}"}

    customer = client.post("/sandbox/api/customers", json={"name": "Maria"}).json()
    wa_id = customer["wa_id"]
    sent = client.post(
        "/sandbox/api/messages", json={"wa_id": wa_id, "text": "I want to talk to a real person"}
    )
    assert sent.status_code == 200, sent.text
    (handoff,) = eventually(lambda: outbound(client, wa_id), "the handoff message")
    assert "Ana" not in handoff["content"]["text"]  # the team, not a person, is named

    assert client.post("/api/v1/me/presence", json={"presence": "online"}, headers=auth).is_success
    mine = eventually(
        lambda: client.get("/api/v1/me/conversations", headers=auth).json()["conversations"],
        "the assignment",
    )
    conversation_id = mine[0]["id"]

    reply = client.post(
        f"/api/v1/conversations/{conversation_id}/reply",
        json={"text": "Hi Maria, this is Ana. How can I help?"},
        headers=auth,
    )
    assert reply.status_code == 200, reply.text
    eventually(
        lambda: any("this is Ana" in b["content"].get("text", "") for b in outbound(client, wa_id)),
        "the agent's reply on the phone",
    )

    resolved = client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=auth)
    assert resolved.status_code == 200, resolved.text
    csat = eventually(
        lambda: [b for b in outbound(client, wa_id) if b["content"].get("buttons")],
        "the CSAT question",
    )[-1]
    best = csat["content"]["buttons"][0]
    assert best["id"].startswith(f"csat:{conversation_id}:")
    tapped = client.post(
        "/sandbox/api/messages",
        json={
            "wa_id": wa_id,
            "reply": {
                "kind": "button",
                "id": best["id"],
                "title": best["title"],
                "context_wamid": csat["wamid"],
            },
        },
    )
    assert tapped.status_code == 200, tapped.text

    def rating() -> int | None:
        with container.db.read() as conn:
            return conn.execute(
                select(conversations.c.csat_rating).where(conversations.c.id == conversation_id)
            ).scalar_one()

    assert eventually(rating, "the stored rating") == int(best["id"].rsplit(":", 1)[1])
    with container.db.read() as conn:
        still_one = conn.execute(select(conversations.c.id)).scalars().all()
    assert still_one == [conversation_id]  # the tap opened no new conversation
