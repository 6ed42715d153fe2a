"""The outbox worker's queries (`adapters/storage/outbox.py`) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select, update

from relaydesk.adapters.storage import outbox as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    messages,
    outbox,
    send_attempts,
    status_events,
)
from relaydesk.domain.channel import DeliveryStatus, Sender
from relaydesk.domain.delivery import LastAttempt, callback_tag

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
S = timedelta(seconds=1)
TEXT = {"type": "text", "body": "hi"}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def conversation(conn: Connection, wa_id: str, *, name: str = "Ana") -> int:
    customer = repo.upsert_customer(conn, Sender(wa_id=wa_id, profile_name=name), NOW)
    state = repo.open_conversation(conn, customer, "PN1", NOW)
    conn.execute(
        update(conversations)
        .where(conversations.c.id == state.id)
        .values(last_inbound_at=NOW - 60 * S)
    )
    return state.id


def enqueue(conn: Connection, conversation_id: int, wa_id: str, **values: Any) -> int:
    message_id = repo.insert_outbound_message(
        conn, conversation_id=conversation_id, kind="text", text="hi", content=TEXT, now=NOW
    )
    row = {
        "message_id": message_id,
        "conversation_id": conversation_id,
        "phone_number_id": "PN1",
        "recipient_wa_id": wa_id,
        "content": TEXT,
        "state": "pending",
        "next_attempt_at": NOW,
        "created_at": NOW,
        **values,
    }
    return int(conn.execute(outbox.insert().values(**row).returning(outbox.c.id)).scalar_one())


def outbox_row(db: Database, outbox_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()


def message_row(db: Database, outbox_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(messages)
            .join(outbox, outbox.c.message_id == messages.c.id)
            .where(outbox.c.id == outbox_id)
        ).one()


def test_lock_due_takes_due_rows_in_order_with_what_a_send_needs(db: Database) -> None:
    with db.write() as conn:
        ana, bob = conversation(conn, "34600000001"), conversation(conn, "34600000002", name="Bob")
        first = enqueue(conn, ana, "34600000001", reply_to="wamid.IN")
        behind = enqueue(conn, ana, "34600000001")  # waits for `first`: replies keep order
        later = enqueue(conn, bob, "34600000002", next_attempt_at=NOW + S)
        leased = enqueue(conn, bob, "34600000002", state="sending", lease_until=NOW + S)
        expired = enqueue(conn, conversation(conn, "34600000003"), "34600000003")
        conn.execute(
            update(outbox)
            .where(outbox.c.id == expired)
            .values(state="sending", lease_until=NOW - S, attempts=1)
        )
        due = store.lock_due(conn, NOW, limit=10)
    # not `behind` (after `first`), `later` (not yet due) nor `leased` (another worker's)
    assert [row.id for row in due] == [first, expired]
    assert {later, leased, behind}.isdisjoint(row.id for row in due)
    row = due[0]
    assert (row.recipient_wa_id, row.content, row.reply_to, row.attempts) == (
        "34600000001",
        TEXT,
        "wamid.IN",
        0,
    )
    assert (row.customer_name, row.last_inbound_at) == ("Ana", NOW - 60 * S)
    assert (row.last_attempt, row.reconciled_wamid) == (None, None)
    assert due[1].last_attempt is None  # counted once but never logged


def test_lock_due_honours_the_limit_and_paused_numbers(db: Database) -> None:
    with db.write() as conn:
        numbers = [f"3460000001{i}" for i in range(3)]
        ids = [enqueue(conn, conversation(conn, n), n) for n in numbers]
        conn.execute(update(outbox).where(outbox.c.id == ids[0]).values(phone_number_id="PN2"))
        assert [r.id for r in store.lock_due(conn, NOW, limit=2)] == ids[:2]
        assert [r.id for r in store.lock_due(conn, NOW, limit=5, paused=["PN2"])] == ids[1:]


def test_lock_due_reads_the_last_attempt_and_a_proving_status(db: Database) -> None:
    with db.write() as conn:
        row_id = enqueue(conn, conversation(conn, "34600000001"), "34600000001", attempts=2)
        store.record_attempts(conn, [(row_id, 1)], NOW - 90 * S)
        store.finish_attempt(conn, row_id, 1, "error", NOW - 89 * S, code=131000)
        store.record_attempts(conn, [(row_id, 2)], NOW - 20 * S)
        (due,) = store.lock_due(conn, NOW, limit=10)
        assert due.last_attempt == LastAttempt(NOW - 20 * S, None)
        assert due.reconciled_wamid is None
        conn.execute(
            status_events.insert().values(
                wamid="wamid.ARRIVED",
                status="sent",
                at=NOW,
                callback_data=callback_tag(row_id),
                received_at=NOW,
            )
        )
        (due,) = store.lock_due(conn, NOW, limit=10)
    assert due.reconciled_wamid == "wamid.ARRIVED"


def test_start_hold_and_retry_move_the_row(db: Database) -> None:
    with db.write() as conn:
        row_id = enqueue(conn, conversation(conn, "34600000001"), "34600000001")
        store.start(conn, [(row_id, 1)], NOW + 30 * S)
    row = outbox_row(db, row_id)
    assert (row.state, row.attempts, row.lease_until) == ("sending", 1, NOW + 30 * S)
    with db.write() as conn:
        store.hold(conn, row_id, NOW + 5 * S, attempts=0)
    row = outbox_row(db, row_id)
    assert (row.state, row.attempts, row.next_attempt_at, row.lease_until) == (
        "pending",
        0,
        NOW + 5 * S,
        None,
    )
    with db.write() as conn:
        store.start(conn, [(row_id, 1)], NOW + 30 * S)
        store.retry(conn, row_id, NOW + 9 * S, 130429, "x" * 3000)
    row = outbox_row(db, row_id)
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + 9 * S)
    assert (row.last_error_code, len(row.last_error)) == (130429, 2000)
    with db.write() as conn:
        store.retry(conn, row_id, NOW + 300 * S, 368, "blocked", attempts=0)
    assert outbox_row(db, row_id).attempts == 0


def test_start_claims_each_row_with_its_own_attempt_count_in_one_call(db: Database) -> None:
    with db.write() as conn:
        first, second, other = (
            enqueue(conn, conversation(conn, wa_id), wa_id)
            for wa_id in ("34600000001", "34600000002", "34600000003")
        )
        store.start(conn, [(first, 1), (second, 3)], NOW + 30 * S)
        store.start(conn, [], NOW + 60 * S)  # nothing claimed: nothing changes
    assert (outbox_row(db, first).state, outbox_row(db, first).attempts) == ("sending", 1)
    assert (outbox_row(db, second).attempts, outbox_row(db, second).lease_until) == (
        3,
        NOW + 30 * S,
    )
    assert (outbox_row(db, other).state, outbox_row(db, other).lease_until) == ("pending", None)


def test_accept_many_finishes_rows_messages_and_applies_early_receipts(db: Database) -> None:
    with db.write() as conn:
        one = enqueue(conn, conversation(conn, "34600000001"), "34600000001", attempts=1)
        two = enqueue(conn, conversation(conn, "5511900000002"), "5511900000002", attempts=1)
        store.record_attempts(conn, [(one, 1), (two, 1)], NOW)
        conn.execute(  # the delivery receipt beat the send's answer
            status_events.insert().values(
                wamid="wamid.ONE", status="delivered", at=NOW, received_at=NOW
            )
        )
        message_ids = {
            r.id: r.message_id for r in conn.execute(select(outbox.c.id, outbox.c.message_id))
        }
        store.accept_many(
            conn,
            [
                store.Accepted(one, message_ids[one], 1, "wamid.ONE", None, "34600000001"),
                # Meta normalised the Brazilian number: the customer keeps Meta's.
                store.Accepted(
                    two, message_ids[two], 1, "wamid.TWO", "551100000002", "5511900000002"
                ),
            ],
            NOW + S,
        )
        attempts = conn.execute(
            select(send_attempts.c.outcome, send_attempts.c.wamid).order_by(send_attempts.c.id)
        ).all()
        wa_ids = set(conn.execute(select(customers.c.wa_id)).scalars())
    assert [tuple(a) for a in attempts] == [("accepted", "wamid.ONE"), ("accepted", "wamid.TWO")]
    assert (outbox_row(db, one).state, outbox_row(db, two).done_at) == ("done", NOW + S)
    assert message_row(db, one).status == int(DeliveryStatus.DELIVERED)
    assert (message_row(db, two).wamid, message_row(db, two).status) == (
        "wamid.TWO",
        int(DeliveryStatus.ACCEPTED),
    )
    assert wa_ids == {"34600000001", "551100000002"}


def test_a_canonical_number_another_customer_has_is_left_alone(db: Database) -> None:
    with db.write() as conn:
        conversation(conn, "551100000002", name="Already")
        row_id = enqueue(conn, conversation(conn, "5511900000002"), "5511900000002", attempts=1)
        message_id = conn.execute(select(outbox.c.message_id)).scalar_one()
        store.accept(conn, row_id, message_id, "wamid.X", NOW, wa_id="551100000002")
        wa_ids = sorted(conn.execute(select(customers.c.wa_id)).scalars())
    assert wa_ids == ["551100000002", "5511900000002"]
    assert outbox_row(db, row_id).state == "done"


def test_replace_content_and_fail(db: Database) -> None:
    template = {"type": "template", "name": "reengage", "language": "en"}
    with db.write() as conn:
        row_id = enqueue(conn, conversation(conn, "34600000001"), "34600000001", attempts=1)
        store.start(conn, [(row_id, 1)], NOW + 30 * S)
        store.replace_content(conn, row_id, template, resend_at=None)
    row = outbox_row(db, row_id)
    assert (row.content, row.state) == (template, "sending")
    with db.write() as conn:
        store.replace_content(conn, row_id, template, resend_at=NOW)
    row = outbox_row(db, row_id)
    assert (row.state, row.next_attempt_at, row.lease_until) == ("pending", NOW, None)
    with db.write() as conn:
        store.fail(conn, row_id, row.message_id, 131026, "undeliverable", NOW)
    row, message = outbox_row(db, row_id), message_row(db, row_id)
    assert (row.state, row.done_at, row.last_error_code) == ("failed", NOW, 131026)
    assert (message.status, message.error_code, message.error_detail) == (
        int(DeliveryStatus.FAILED),
        131026,
        "undeliverable",
    )
