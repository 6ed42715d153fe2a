"""The whole app through HTTP: signed webhooks in, replies out through a local Graph API."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from relaydesk.adapters.storage.tables import messages, outbox, raw_webhooks
from relaydesk.testing import Failure
from tests.conftest import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    SAMPLES,
    SECRET_KEY,
    Clock,
    Harness,
    status_webhook,
    text_webhook,
)


def count(harness: Harness, table: object) -> int:
    from sqlalchemy import func, select

    with harness.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


async def test_inbound_text_gets_exactly_one_reply(harness: Harness) -> None:
    response = await harness.post_webhook(text_webhook(body="where is my order?"))
    assert response.status_code == 200
    await harness.drain()
    sent = harness.graph.state.accepted()
    assert len(sent) == 1
    assert sent[0].phone_number_id == PHONE_NUMBER_ID
    assert sent[0].version == harness.container.settings.whatsapp_api_version
    assert sent[0].authorization == f"Bearer {ACCESS_TOKEN}"
    assert sent[0].body["to"] == "34600000001"


async def test_same_webhook_three_times_at_once_is_answered_once(harness: Harness) -> None:
    body = text_webhook(wamid="wamid.DUP1", body="hi there")
    responses = await asyncio.gather(*(harness.post_webhook(body) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1
    assert count(harness, messages) == 2  # one in, one out


async def test_wrong_signature_is_refused_and_stores_nothing(harness: Harness) -> None:
    response = await harness.post_webhook(text_webhook(), secret="not-the-secret")
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]
    missing = await harness.client.post("/webhooks/whatsapp", content=text_webhook())
    assert missing.status_code == 401
    assert count(harness, raw_webhooks) == 0
    assert count(harness, messages) == 0


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
async def test_every_sample_is_acknowledged(harness: Harness, sample: object) -> None:
    from pathlib import Path

    assert isinstance(sample, Path)
    response = await harness.post_webhook(sample.read_bytes())
    assert response.status_code == 200, response.text
    assert count(harness, raw_webhooks) == 1


async def test_graph_errors_are_retried_and_the_reply_arrives_once(
    harness: Harness, clock: Clock
) -> None:
    harness.graph.fail(Failure(500), Failure(429, 130429, "throughput"), Failure(400, 130429))
    await harness.post_webhook(text_webhook(body="hello"))
    for _ in range(6):
        await harness.drain()
        clock.advance(seconds=61)
    assert len(harness.graph.state.accepted()) == 1
    assert len(harness.graph.state.received) == 4


async def test_failed_status_marks_the_message_and_shows_in_the_api(harness: Harness) -> None:
    from datetime import UTC, datetime

    from relaydesk.adapters.storage.db import Database
    from relaydesk.services import accounts

    await harness.post_webhook(text_webhook(body="hello", wa_id="34600000009"))
    await harness.drain()
    wamid = harness.graph.state.accepted()[0].wamid
    assert wamid is not None
    for status in ("delivered", "sent"):
        assert (await harness.post_webhook(status_webhook(wamid, status))).status_code == 200
    await harness.post_webhook(status_webhook(wamid, "failed", error_code=131026))
    await harness.post_webhook(status_webhook(wamid, "read"))  # failed is final
    db: Database = harness.container.db
    with db.write() as conn:
        accounts.create_user(
            conn,
            email="a@example.com",
            name="A",
            role="supervisor",  # agents see only waiting conversations and their own
            password=None,
            now=datetime.now(UTC),
        )
        token = accounts.create_token(
            conn, email="a@example.com", label="", now=datetime.now(UTC), key=SECRET_KEY
        )
    unauthorised = await harness.client.get("/api/v1/conversations?customer=34600000009")
    assert unauthorised.status_code == 401
    found = await harness.client.get(
        "/api/v1/conversations",
        params={"customer": "34600000009"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert found.status_code == 200
    (conversation,) = found.json()["conversations"]
    outbound = [m for m in conversation["messages"] if m["direction"] == "out"]
    assert outbound[0]["status"] == "failed"
    assert outbound[0]["error"]["code"] == 131026
    assert conversation["decisions"][0]["policy_version"]
    one = await harness.client.get(
        f"/api/v1/conversations/{conversation['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    customer = one.json()["customer"]
    assert isinstance(customer.pop("id"), int)
    assert customer == {"wa_id": "34600000009", "user_id": None, "name": "Ana"}
    assert outbound[0]["error"]["reason"] == "undeliverable"


async def test_statuses_only_move_forward(harness: Harness) -> None:
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.drain()
    wamid = harness.graph.state.accepted()[0].wamid
    assert wamid is not None
    for status in ("read", "delivered", "sent"):
        await harness.post_webhook(status_webhook(wamid, status))
    from sqlalchemy import select

    with harness.container.db.read() as conn:
        status = conn.execute(select(messages.c.status).where(messages.c.wamid == wamid)).scalar()
    assert status == 4  # read


async def test_backlog_message_is_stored_but_not_answered(harness: Harness, clock: Clock) -> None:
    old = clock.now - timedelta(days=3)
    assert (await harness.post_webhook(text_webhook(body="hi", timestamp=old))).status_code == 200
    await harness.drain()
    assert harness.graph.state.accepted() == []
    assert count(harness, messages) == 1


async def test_reply_after_the_window_closed_goes_out_as_the_template(
    harness: Harness, clock: Clock
) -> None:
    await harness.post_webhook(text_webhook(body="hello", timestamp=clock.now))
    clock.advance(hours=25)
    await harness.drain()
    (sent,) = harness.graph.state.accepted()
    assert sent.body["type"] == "template"
    assert sent.body["template"]["name"] == harness.container.brief.reengagement.name


async def test_malformed_and_oversized_bodies_change_nothing(harness: Harness) -> None:
    bad = await harness.post_webhook(b"{not json")
    assert bad.status_code == 400
    wrong = await harness.post_webhook(json.dumps({"object": "page", "entry": []}).encode())
    assert wrong.status_code == 400
    assert "object" in wrong.json()["error"]
    huge = b" " * (harness.container.settings.webhook_max_body_bytes + 1)
    assert (await harness.post_webhook(huge)).status_code == 413
    assert count(harness, raw_webhooks) == 0


async def test_database_outage_answers_503_so_meta_retries(harness: Harness) -> None:
    from relaydesk.adapters.storage.db import Database

    real = harness.container.inbound._db
    harness.container.inbound._db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        response = await harness.post_webhook(text_webhook(wamid="wamid.OUTAGE"))
        assert response.status_code == 503
    finally:
        harness.container.inbound._db = real
    assert (await harness.post_webhook(text_webhook(wamid="wamid.OUTAGE"))).status_code == 200
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1


async def test_verification_handshake(harness: Harness) -> None:
    ok = await harness.client.get(
        "/webhooks/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "12345",
        },
    )
    assert ok.status_code == 200
    assert ok.text == "12345"
    refused = await harness.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "12345"},
    )
    assert refused.status_code == 403


async def test_outbox_row_done_after_send(harness: Harness) -> None:
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.drain()
    from sqlalchemy import select

    with harness.container.db.read() as conn:
        assert conn.execute(select(outbox.c.state)).scalars().all() == ["done"]


async def test_a_late_older_message_does_not_move_the_window_back(
    harness: Harness, clock: Clock
) -> None:
    await harness.post_webhook(text_webhook(body="hello", timestamp=clock.now))
    older = clock.now - timedelta(minutes=30)  # delivered late, still within the backlog age
    await harness.post_webhook(text_webhook(body="and another thing", timestamp=older))
    found = await harness.client.get(
        "/api/v1/conversations",
        params={"customer": "34600000001"},
        headers={"Authorization": f"Bearer {harness.token}"},
    )
    (conversation,) = found.json()["conversations"]
    expires = datetime.fromisoformat(conversation["window_expires_at"])
    assert expires == clock.now + timedelta(hours=24)
