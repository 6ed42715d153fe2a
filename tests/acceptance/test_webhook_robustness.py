"""A signed webhook is never refused for what it contains: two identities of one customer
are merged, and an event the database refuses is skipped while the rest are stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    identity_changes,
    messages,
    raw_webhooks,
)
from relaydesk.adapters.whatsapp.webhook import ParsedWebhook
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.services.inbound import IngestResult
from tests.conftest import PHONE_NUMBER_ID, Clock, Harness, webhook_envelope

WA = "34611000001"
UID = "ES.5550001111"


def identity_webhook(*, wa_id: str | None, user_id: str | None, body: str) -> bytes:
    """A text message from a phone number, a user id, or both (as the BSUID rollout sends)."""
    contact: dict[str, Any] = {"profile": {"name": "Ana"}}
    item: dict[str, Any] = {
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(datetime.now(UTC).timestamp())),
        "type": "text",
        "text": {"body": body},
    }
    if wa_id:
        contact["wa_id"] = item["from"] = wa_id
    if user_id:
        contact["user_id"] = item["from_user_id"] = user_id
    return webhook_envelope({"contacts": [contact], "messages": [item]})


def rows(harness: Harness, query: Any) -> list[Any]:
    with harness.container.db.read() as conn:
        return list(conn.execute(query))


def total(harness: Harness, table: Any) -> int:
    with harness.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def test_a_message_naming_both_ids_merges_the_two_customers(harness: Harness) -> None:
    first = await harness.post_webhook(identity_webhook(wa_id=WA, user_id=None, body="hi"))
    second = await harness.post_webhook(
        identity_webhook(wa_id=None, user_id=UID, body="where is my order?")
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert total(harness, customers) == 2

    with structlog.testing.capture_logs() as logs:
        both = await harness.post_webhook(identity_webhook(wa_id=WA, user_id=UID, body="hello?"))
        again = await harness.post_webhook(identity_webhook(wa_id=WA, user_id=UID, body="still?"))
    assert (both.status_code, again.status_code) == (200, 200), both.text

    (customer,) = rows(harness, select(customers))
    assert (customer.wa_id, customer.user_id) == (WA, UID)
    assert [r.kind for r in rows(harness, select(identity_changes))] == ["merge"]
    open_ = rows(
        harness,
        select(conversations).where(conversations.c.status != "resolved"),
    )
    assert len(open_) == 1
    inbound = rows(harness, select(messages).where(messages.c.direction == "in"))
    assert {m.conversation_id for m in inbound} == {open_[0].id}
    assert len(inbound) == 4
    merged = [e for e in logs if e["event"] == "customers_merged"]
    assert len(merged) == 1
    assert WA not in repr(logs) and UID not in repr(logs)  # no numbers or ids in the logs

    for sender in ({"wa_id": WA, "user_id": None}, {"wa_id": None, "user_id": UID}):
        later = await harness.post_webhook(identity_webhook(**sender, body="thanks"))
        assert later.status_code == 200
    assert total(harness, customers) == 1
    assert len(rows(harness, select(messages).where(messages.c.direction == "in"))) == 6
    await harness.drain()
    assert harness.graph.state.accepted()  # the bot answered after the merge


def text_event(wamid: str, *, text: str = "hello", name: str = "Ana", wa_id: str) -> InboundMessage:
    return InboundMessage(
        wamid=wamid,
        phone_number_id=PHONE_NUMBER_ID,
        sender=Sender(wa_id=wa_id, profile_name=name),
        sent_at=datetime.now(UTC).replace(microsecond=0),
        type="text",
        text=text,
        payload={"id": wamid, "type": "text"},
    )


async def test_events_the_database_refuses_are_skipped_and_the_rest_stored(
    harness: Harness, clock: Clock
) -> None:
    """A lone surrogate (a cut emoji) and a NUL, in the text and in the profile name, as
    a parser might let them through: each bad event is skipped, the good ones beside it are
    stored and answered, the raw body is kept, and nothing is raised."""
    poison = [
        text_event("wamid.BAD1", text="broken \ud83d emoji", wa_id="34611000011"),
        text_event("wamid.BAD2", text="nul \x00 byte", wa_id="34611000012"),
        text_event("wamid.BAD3", name="Ana \ud83d", wa_id="34611000013"),
        text_event("wamid.BAD4", name="A\x00na", wa_id="34611000014"),
    ]
    good = [text_event(f"wamid.GOOD{i}", wa_id=f"3461100002{i}") for i in range(3)]
    events = (good[0], *poison[:2], good[1], *poison[2:], good[2])
    body = json.dumps({"object": "whatsapp_business_account", "note": "raw"}).encode()

    with structlog.testing.capture_logs() as logs:
        result = harness.container.inbound.ingest(body, ParsedWebhook(events=events), clock.now)

    assert isinstance(result, IngestResult)
    stored = {r.wamid for r in rows(harness, select(messages).where(messages.c.direction == "in"))}
    assert {g.wamid for g in good} <= stored
    assert result.new_messages == len(stored)
    assert result.skipped == len(poison) - (len(stored) - len(good))
    assert result.skipped >= 2  # SQLite refuses the surrogates, PostgreSQL also the NULs
    assert total(harness, raw_webhooks) == 1
    skipped = [e for e in logs if e["event"] == "webhook_item_skipped"]
    assert len(skipped) == result.skipped
    for entry in skipped:
        assert entry["log_level"] == "warning"
        assert entry["kind"] == "InboundMessage" and entry["wamid"].startswith("wamid.BAD")
        assert entry["error"]
    assert "Ana" not in repr(skipped) and "3461100001" not in repr(skipped)
    await harness.decide()
    await harness.drain()
    answered = {m.body["to"] for m in harness.graph.state.accepted()}
    assert {g.sender.wa_id for g in good} <= answered

    again = harness.container.inbound.ingest(body, ParsedWebhook(events=events), clock.now)
    assert (again.new_messages, again.duplicates) == (0, len(stored))  # exactly once


async def test_a_poison_webhook_in_a_batch_does_not_fail_the_others(harness: Harness) -> None:
    from relaydesk.services.inbound import Webhook

    now = datetime.now(UTC)
    webhooks = [
        Webhook(
            b"{}", ParsedWebhook(events=(text_event(f"wamid.B{i}", wa_id=f"3461200000{i}"),)), now
        )
        for i in range(3)
    ]
    webhooks.insert(
        1,
        Webhook(
            b"{}",
            ParsedWebhook(events=(text_event("wamid.X", text="\ud83d\x00", wa_id="34612000009"),)),
            now,
        ),
    )
    results = harness.container.inbound.ingest_batch(webhooks)
    assert all(isinstance(r, IngestResult) for r in results), results
    assert next(r.new_messages for r in results if isinstance(r, IngestResult)) == 1
    assert total(harness, raw_webhooks) == 4
    stored = {r.wamid for r in rows(harness, select(messages).where(messages.c.direction == "in"))}
    assert {"wamid.B0", "wamid.B1", "wamid.B2"} <= stored


class PgError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failing_raw_save(monkeypatch: pytest.MonkeyPatch, *errors: Exception) -> list[int]:
    """Make the raw-body insert raise `errors`, one per call, then work; returns calls."""
    from relaydesk.adapters.storage import repository

    real = repository.save_raw_webhooks
    calls: list[int] = []

    def save(conn: Any, rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        real(conn, rows)

    monkeypatch.setattr(repository, "save_raw_webhooks", save)
    return calls


async def test_a_lost_deadlock_is_run_again_and_stored(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock = OperationalError("INSERT", {}, PgError("40P01"))
    calls = failing_raw_save(monkeypatch, deadlock, deadlock)
    response = await harness.post_webhook(identity_webhook(wa_id=WA, user_id=None, body="hi"))
    assert response.status_code == 200
    assert len(calls) == 3
    assert total(harness, raw_webhooks) == 1


async def test_storage_down_answers_503_and_nothing_is_skipped(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = failing_raw_save(monkeypatch, *[OperationalError("INSERT", {}, PgError(None))] * 9)
    with structlog.testing.capture_logs() as logs:
        response = await harness.post_webhook(identity_webhook(wa_id=WA, user_id=None, body="hi"))
    assert response.status_code == 503
    assert len(calls) == 1  # not retried event by event: the redelivery will do
    assert not [e for e in logs if e["event"] == "webhook_item_skipped"]
    assert total(harness, messages) == 0


async def test_a_signed_body_with_a_lone_surrogate_is_acknowledged_beside_a_good_message(
    harness: Harness,
) -> None:
    good = json.loads(identity_webhook(wa_id="34613000001", user_id=None, body="hi"))
    bad = json.loads(identity_webhook(wa_id="34613000002", user_id=None, body="x"))
    bad["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "cut \ud83d"
    bad["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "A\ud83d\u0000"
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": bad["entry"] + good["entry"]}
    )
    response = await harness.post_webhook(body.encode())
    assert response.status_code == 200, response.text
    wamid = good["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert rows(harness, select(messages.c.id).where(messages.c.wamid == wamid))
    assert total(harness, raw_webhooks) == 1
