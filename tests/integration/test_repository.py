"""Storage behaviour on SQLite and PostgreSQL: identities, dedupe, statuses, windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import customers, messages
from relaydesk.adapters.whatsapp.webhook import parse_webhook
from relaydesk.domain.channel import IdentityChange, InboundMessage, Sender
from tests.conftest import sample

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    upgrade(database.engine)
    yield database  # type: ignore[misc]
    database.dispose()


def inbound(name: str) -> InboundMessage:
    (event,) = [e for e in parse_webhook(sample(name)).events if isinstance(e, InboundMessage)]
    return event


def test_customer_is_found_by_wa_id_or_bsuid(db: Database) -> None:
    with db.write() as conn:
        by_phone = repo.upsert_customer(conn, Sender(wa_id="34600000001"), NOW)
        both = repo.upsert_customer(
            conn, Sender(wa_id="34600000001", user_id="ES.123", profile_name="Ana"), NOW
        )
        by_bsuid = repo.upsert_customer(conn, Sender(wa_id=None, user_id="ES.123"), NOW)
        row = conn.execute(select(customers)).one()
    assert by_phone == both == by_bsuid
    assert (row.wa_id, row.user_id, row.profile_name) == ("34600000001", "ES.123", "Ana")


def test_a_customer_needs_an_identifier(db: Database) -> None:
    with db.write() as conn, pytest.raises(ValueError, match="neither wa_id nor user_id"):
        repo.upsert_customer(conn, Sender(wa_id=None), NOW)


def test_duplicate_wamid_is_stored_once(db: Database) -> None:
    message = inbound("in-text.pywa.json")
    with db.write() as conn:
        customer = repo.upsert_customer(conn, message.sender, NOW)
        state = repo.open_conversation(conn, customer, message.phone_number_id, NOW)
        first = repo.insert_inbound(conn, state.id, message, NOW)
        second = repo.insert_inbound(conn, state.id, message, NOW)
        total = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    assert first is not None
    assert second is None
    assert total == 1


def test_number_change_rekeys_the_customer(db: Database) -> None:
    body = json.loads(sample("in-system-user_changed_number.pywa.json"))
    (change,) = [
        e for e in parse_webhook(json.dumps(body).encode()).events if isinstance(e, IdentityChange)
    ]
    assert change.old_wa_id and change.new_wa_id
    with db.write() as conn:
        customer = repo.upsert_customer(conn, Sender(wa_id=change.old_wa_id), NOW)
        assert repo.apply_identity_change(conn, change, NOW)
        assert not repo.apply_identity_change(conn, change, NOW)  # a duplicate changes nothing
        wa_id = conn.execute(
            select(customers.c.wa_id).where(customers.c.id == customer)
        ).scalar_one()
    assert wa_id == change.new_wa_id


def test_raw_webhooks_are_purged_after_retention(db: Database) -> None:
    with db.write() as conn:
        repo.save_raw_webhooks(
            conn,
            [
                {"received_at": NOW - timedelta(days=8), "body": b"{}", "events": 0},
                {"received_at": NOW, "body": b"{}", "events": 0},
            ],
        )
        assert repo.purge_raw_webhooks(conn, NOW - timedelta(days=7)) == 1
