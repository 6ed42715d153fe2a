"""Customers' personal data on both databases: export, erasure (afterwards no table and no
log line holds the customer's number, name or words; the conversation skeleton stays; a new
message starts a new customer) and the brief's message retention."""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from relaydesk.adapters.storage.tables import (
    decisions,
    messages,
    metadata,
    raw_webhooks,
    replay_jobs,
)
from relaydesk.brief.loader import BriefError, load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.observability import log_processors
from relaydesk.services import accounts
from relaydesk.services.privacy import MessageRetention
from tests.conftest import SECRET_KEY, Harness, text_webhook

PHONE = "34611222333"
NAME = "Marisol Quintanilla"
FIRST = "My parcel to Calle Mayor 7 never came, I want to talk to a real person"
REPLY = "Hola Marisol, I am checking the parcel for Calle Mayor now"
NOTE = "Marisol Quintanilla phoned twice about it"
SECRETS = (PHONE, "Marisol", "Quintanilla", "Calle Mayor", "marisol.q")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line of the test, at debug, through the service's own processors."""
    buffer = io.StringIO()
    structlog.configure(
        processors=log_processors("json"),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.WriteLoggerFactory(buffer),
        cache_logger_on_first_use=False,
    )
    try:
        yield buffer
    finally:
        structlog.reset_defaults()


def dump(harness: Harness) -> str:
    """Every value in every table, as text."""
    parts = []
    with harness.container.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value)
                        if value.startswith(b"\x1f\x8b"):  # a replay's upload or report
                            value = gzip.decompress(value)
                        value = value.decode("utf-8", "replace")
                    parts.append(repr(value))
    return "\n".join(parts)


def admin_headers(harness: Harness) -> dict[str, str]:
    now = datetime.now(UTC)
    with harness.container.db.write() as conn:
        accounts.create_user(
            conn, email="dpo@example.com", name="Dpo", role="admin", password=None, now=now
        )
        token = accounts.create_token(
            conn, email="dpo@example.com", label="privacy", now=now, key=SECRET_KEY
        )
    return {"Authorization": f"Bearer {token}"}


async def test_export_then_erase_leaves_no_trace_and_a_new_message_starts_clean(
    harness: Harness, logs: io.StringIO
) -> None:
    client = harness.client
    harness.set_attributes(PHONE, {"tier": "gold", "email": "marisol.q@example.net"})
    assert (await harness.post_webhook(text_webhook(body=FIRST, wa_id=PHONE, name=NAME))).is_success
    await harness.drain()
    admin = admin_headers(harness)
    (conversation,) = (
        await client.get("/api/v1/conversations", params={"customer": PHONE}, headers=admin)
    ).json()["conversations"]
    conversation_id, customer_id = conversation["id"], conversation["customer"]["id"]
    path = f"/api/v1/conversations/{conversation_id}"
    assert (await client.post(f"{path}/take", headers=admin)).is_success
    assert (await client.post(f"{path}/reply", json={"text": REPLY}, headers=admin)).is_success
    assert (await client.post(f"{path}/notes", json={"body": NOTE}, headers=admin)).is_success
    await harness.drain()
    structlog.get_logger("test").info("logged_by_mistake", customer={"name": NAME}, body=FIRST)

    exported = await client.get(f"/api/v1/customers/{customer_id}/export", headers=admin)
    assert exported.status_code == 200
    data = exported.json()
    assert data["tables"]["customers"][0]["wa_id"] == PHONE
    assert data["tables"]["customers"][0]["attributes"]["tier"] == "gold"
    assert data["tables"]["customers"][0]["language"] == "en"
    texts = [m["text"] for m in data["tables"]["messages"]]
    assert FIRST in texts and REPLY in texts
    assert data["tables"]["notes"][0]["body"] == NOTE
    assert data["tables"]["raw_webhooks"] and PHONE in data["tables"]["raw_webhooks"][0]["body"]
    before = len(data["tables"]["messages"])

    erased = await client.post(f"/api/v1/customers/{customer_id}/erase", headers=admin)
    assert erased.status_code == 200
    assert erased.json()["erased"]["messages"] == before
    assert erased.json()["erased"]["raw_webhooks"] >= 1

    everything = dump(harness)
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} is still stored"
    written = logs.getvalue()
    assert '"event": "customer_erased"' in written
    for secret in SECRETS:
        assert secret not in written, f"{secret!r} is in the logs"

    # the skeleton stays for metrics: the conversation, resolved, and its messages' shape
    skeleton = (await client.get(path, headers=admin)).json()
    assert skeleton["status"] == "resolved"
    assert skeleton["customer"] == {"id": customer_id, "wa_id": None, "user_id": None, "name": None}
    assert len(skeleton["messages"]) == before
    assert all(m["text"] is None for m in skeleton["messages"])
    audit = await client.get(
        "/api/v1/audit", params={"target": f"customer:{customer_id}"}, headers=admin
    )
    assert [e["action"] for e in audit.json()["entries"]] == [
        "customer.erased",
        "customer.exported",
    ]

    assert (await harness.post_webhook(text_webhook(body="hello again", wa_id=PHONE))).is_success
    (fresh,) = (
        await client.get("/api/v1/conversations", params={"customer": PHONE}, headers=admin)
    ).json()["conversations"]
    assert fresh["id"] != conversation_id
    assert fresh["customer"]["id"] != customer_id
    assert [m["text"] for m in fresh["messages"] if m["direction"] == "in"] == ["hello again"]
    gone = (await client.get(f"/api/v1/customers/{customer_id}/export", headers=admin)).json()
    assert gone["tables"]["customers"][0]["wa_id"] is None
    assert gone["tables"]["customers"][0]["language"] is None  # detected from their words


async def test_export_and_erase_are_for_admins_and_known_customers(harness: Harness) -> None:
    admin = admin_headers(harness)
    supervisor = {"Authorization": f"Bearer {harness.token}"}
    assert (await harness.post_webhook(text_webhook(wa_id=PHONE))).is_success
    client = harness.client
    assert (await client.get("/api/v1/customers/1/export", headers=supervisor)).status_code == 403
    assert (await client.post("/api/v1/customers/1/erase", headers=supervisor)).status_code == 403
    missing = await client.post("/api/v1/customers/999/erase", headers=admin)
    assert missing.status_code == 404 and "no customer with id 999" in missing.text
    with harness.container.db.read() as conn:
        inbound = select(messages.c.text).where(messages.c.direction == "in")
        assert conn.execute(inbound).scalars().all() == ["hello"]  # nothing erased


async def test_retention_blanks_old_message_text_and_raw_bodies(harness: Harness) -> None:
    assert (await harness.post_webhook(text_webhook(body=FIRST, wa_id=PHONE))).is_success
    await harness.drain()
    with harness.container.db.read() as conn:
        stored = len(conn.execute(select(messages.c.id)).all())
        decided_on = len(conn.execute(select(decisions.c.id)).all())
    retention = MessageRetention(harness.container.db, 30)
    now = datetime.now(UTC)
    assert retention(now) == (0, 0, 0)
    assert retention(now + timedelta(days=31)) == (stored, decided_on, 1)
    assert retention(now + timedelta(days=32)) == (0, 0, 0)  # nothing blanked twice
    with harness.container.db.read() as conn:
        assert set(conn.execute(select(messages.c.text)).scalars()) == {None}
        assert conn.execute(select(raw_webhooks.c.id)).first() is None
    assert FIRST not in dump(harness)


def test_the_brief_sets_retention_and_a_bad_value_is_refused(tmp_path: Path) -> None:
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    good = tmp_path / "brief.yaml"
    good.write_text(source + "\nprivacy:\n  message_retention_days: 30\n", encoding="utf-8")
    assert load_brief(good).privacy.message_retention_days == 30
    assert load_brief(EXAMPLE_BRIEF).privacy.message_retention_days is None
    bad = tmp_path / "bad.yaml"
    bad.write_text(source + "\nprivacy:\n  message_retention_days: 0\n", encoding="utf-8")
    with pytest.raises(BriefError, match=r"privacy\.message_retention_days"):
        load_brief(bad)


def history_naming(phone: str, name: str, text: str, other: str) -> bytes:
    """A replay history (JSON Lines) with the customer's conversation and another one."""
    rows = [
        {
            "conversation_id": phone,
            "time": "2026-03-02T11:00:00Z",
            "author": "customer",
            "text": text,
        },
        {
            "conversation_id": phone,
            "time": "2026-03-02T11:01:00Z",
            "author": "agent",
            "text": f"Hello {name}, let me look",
        },
        {
            "conversation_id": "c-2",
            "time": "2026-03-02T12:00:00Z",
            "author": "customer",
            "text": other,
        },
    ]
    return "\n".join(json.dumps(row) for row in rows).encode()


async def test_erasure_blanks_the_customer_in_replay_uploads_and_reports(
    harness: Harness,
) -> None:
    client = harness.client
    assert (await harness.post_webhook(text_webhook(body=FIRST, wa_id=PHONE, name=NAME))).is_success
    await harness.drain()
    admin = admin_headers(harness)
    other = "Do you ship to the Canary Islands this month?"
    history = history_naming(PHONE, NAME, FIRST, other)
    sent = await client.post(
        "/api/v1/replays",
        files={"file": ("past.jsonl", history, "application/octet-stream")},
        headers=admin,
    )
    assert sent.status_code == 202, sent.text
    assert harness.container.replays.run_one()
    report = await client.get(f"/api/v1/replays/{sent.json()['id']}/report", headers=admin)
    assert report.status_code == 200 and FIRST in report.text
    (conversation,) = (
        await client.get("/api/v1/conversations", params={"customer": PHONE}, headers=admin)
    ).json()["conversations"]

    erased = await client.post(
        f"/api/v1/customers/{conversation['customer']['id']}/erase", headers=admin
    )
    assert erased.status_code == 200
    assert erased.json()["erased"]["replay_uploads"] == 1

    everything = dump(harness)
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} is still stored"
    with harness.container.db.read() as conn:
        (stored,) = conn.execute(select(replay_jobs.c.content_gz)).all()
    upload = gzip.decompress(stored.content_gz).decode()
    assert other in upload  # another customer's words stay
    assert [json.loads(line)["conversation_id"] for line in upload.splitlines()] == [
        "[erased]",
        "[erased]",
        "c-2",
    ]
    assert (
        await client.get(f"/api/v1/replays/{sent.json()['id']}/report", headers=admin)
    ).is_success
