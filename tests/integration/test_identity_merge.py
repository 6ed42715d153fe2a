"""Two customers who turn out to be one person (a phone number and a user id first seen
apart) are merged, on SQLite and PostgreSQL, also when several webhooks race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    identity_changes,
    messages,
    notes,
    users,
)
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.domain.conversation import ConversationStatus

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WA = "34600000009"
UID = "ES.9876543210"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def message(wamid: str, sender: Sender, at: datetime = NOW) -> InboundMessage:
    return InboundMessage(
        wamid=wamid,
        phone_number_id="1122334455667",
        sender=sender,
        sent_at=at,
        type="text",
        text="hello",
    )


def seed(db: Database, sender: Sender, wamid: str, at: datetime) -> tuple[int, int]:
    """A customer with an open conversation holding one message: (customer, conversation)."""
    with db.write() as conn:
        customer = repo.upsert_customer(conn, sender, at)
        state = repo.open_conversation(conn, customer, "1122334455667", at)
        repo.insert_inbound(conn, state.id, message(wamid, sender, at), at)
        conn.execute(
            update(conversations)
            .where(conversations.c.id == state.id)
            .values(last_inbound_at=at, updated_at=at)
        )
    return customer, state.id


def count(db: Database, table: object, *where: object) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(query.where(*where)).scalar_one())  # type: ignore[arg-type]


def test_both_ids_merge_the_two_customers_and_their_conversations(db: Database) -> None:
    by_phone, phone_conv = seed(db, Sender(wa_id=WA), "wamid.P1", NOW - timedelta(hours=2))
    by_uid, uid_conv = seed(
        db, Sender(wa_id=None, user_id=UID), "wamid.U1", NOW - timedelta(hours=1)
    )
    with db.write() as conn:
        repo.set_customer_attributes(conn, by_uid, {"vip": "true"}, NOW)
        conn.execute(
            notes.insert().values(conversation_id=phone_conv, body="called them", created_at=NOW)
        )

    with db.write() as conn:
        ref = repo.lock_customer(
            conn, Sender(wa_id=WA, user_id=UID, profile_name="Ana"), NOW, wamid="wamid.BOTH"
        )
    assert ref.merge is not None
    assert (ref.id, ref.merge.survivor, ref.merge.merged) == (by_phone, by_phone, by_uid)
    # neither is owned by a person: the most recently active (the user id's) stays open
    assert (ref.merge.kept_conversation, ref.merge.closed_conversation) == (uid_conv, phone_conv)
    assert ref.attributes == {"vip": "true"}

    with db.read() as conn:
        (row,) = conn.execute(select(customers)).all()
        convs = {r.id: r for r in conn.execute(select(conversations))}
        change = conn.execute(select(identity_changes)).one()
        moved_notes = conn.execute(select(notes.c.conversation_id)).scalars().all()
    assert (row.id, row.wa_id, row.user_id, row.profile_name) == (by_phone, WA, UID, "Ana")
    assert row.attributes == {"vip": "true"}
    assert {c.customer_id for c in convs.values()} == {by_phone}
    assert convs[uid_conv].status == ConversationStatus.BOT.value
    assert convs[phone_conv].status == ConversationStatus.RESOLVED.value
    assert convs[phone_conv].csat_state is None  # no rating question for a merge
    assert convs[uid_conv].last_inbound_at == NOW - timedelta(hours=1)
    assert count(db, messages, messages.c.conversation_id == uid_conv) == 2
    assert moved_notes == [uid_conv]
    assert (change.kind, change.customer_id, change.wamid) == ("merge", by_phone, "wamid.BOTH")
    assert (change.old_wa_id, change.old_user_id, change.new_wa_id, change.new_user_id) == (
        None,
        UID,
        WA,
        UID,
    )

    with db.write() as conn:  # afterwards every key finds the one customer, nothing merges
        for sender in (Sender(wa_id=WA), Sender(wa_id=None, user_id=UID), Sender(WA, UID)):
            again = repo.lock_customer(conn, sender, NOW, wamid="wamid.LATER")
            assert (again.id, again.merge) == (by_phone, None)


def test_a_merge_is_reported_even_when_the_lookup_goes_round_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer taking a key after the merge makes the lookup look again; the
    merge it already did must still be reported, so its closed conversation is announced."""
    from relaydesk.adapters.storage import customers as customers_module

    seed(db, Sender(wa_id=WA), "wamid.P1", NOW - timedelta(hours=2))
    seed(db, Sender(wa_id=None, user_id=UID), "wamid.U1", NOW - timedelta(hours=1))
    real = customers_module._update_identity
    calls: list[int] = []

    def lose_once(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        return False if len(calls) == 1 else real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(customers_module, "_update_identity", lose_once)
    with db.write() as conn:
        ref = repo.lock_customer(conn, Sender(WA, UID), NOW, wamid="wamid.BOTH")
    assert len(calls) == 2
    assert ref.merge is not None


def test_the_conversation_a_person_owns_stays_open(db: Database) -> None:
    _, phone_conv = seed(db, Sender(wa_id=WA), "wamid.P1", NOW - timedelta(hours=3))
    _, uid_conv = seed(db, Sender(wa_id=None, user_id=UID), "wamid.U1", NOW - timedelta(hours=1))
    with db.write() as conn:
        agent = conn.execute(
            users.insert()
            .values(email="a@example.com", name="A", role="agent", created_at=NOW)
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(
            update(conversations)
            .where(conversations.c.id == phone_conv)
            .values(status="assigned", assignee_id=agent, queue="general")
        )
        ref = repo.lock_customer(conn, Sender(wa_id=WA, user_id=UID), NOW, wamid="wamid.BOTH")
    assert ref.merge is not None
    assert (ref.merge.kept_conversation, ref.merge.closed_conversation) == (phone_conv, uid_conv)
    with db.read() as conn:
        kept = conn.execute(select(conversations).where(conversations.c.id == phone_conv)).one()
    assert (kept.status, kept.assignee_id) == ("assigned", agent)
    assert kept.last_inbound_at == NOW - timedelta(hours=1)  # the window the customer opened
    assert count(db, messages, messages.c.conversation_id == phone_conv) == 2


def test_merge_keeps_resolved_history_and_a_single_open_conversation(db: Database) -> None:
    by_phone, phone_conv = seed(db, Sender(wa_id=WA), "wamid.P1", NOW - timedelta(days=3))
    with db.write() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == phone_conv)
            .values(status="resolved", resolved_at=NOW - timedelta(days=2))
        )
    _, uid_conv = seed(db, Sender(wa_id=None, user_id=UID), "wamid.U1", NOW - timedelta(hours=1))
    with db.write() as conn:
        ref = repo.lock_customer(conn, Sender(wa_id=WA, user_id=UID), NOW, wamid="wamid.BOTH")
    assert ref.merge is not None
    assert (ref.merge.kept_conversation, ref.merge.closed_conversation) == (uid_conv, None)
    assert count(db, conversations, conversations.c.customer_id == by_phone) == 2
    assert count(db, messages, messages.c.conversation_id == phone_conv) == 1


def test_concurrent_messages_naming_both_ids_merge_once(db: Database) -> None:
    """Webhooks racing on the two customers: each waits its turn (rows locked in id
    order), one merges, the rest find one customer; nothing deadlocks or fails."""
    seed(db, Sender(wa_id=WA), "wamid.P1", NOW - timedelta(hours=2))
    seed(db, Sender(wa_id=None, user_id=UID), "wamid.U1", NOW - timedelta(hours=1))
    senders = [Sender(WA, UID), Sender(WA), Sender(None, UID)] * 4
    start = threading.Barrier(len(senders))
    found: list[int] = []
    errors: list[BaseException] = []

    def run(index: int, sender: Sender) -> None:
        start.wait()
        try:
            with db.write() as conn:
                ref = repo.lock_customer(conn, sender, NOW, wamid=f"wamid.R{index}")
                state = repo.open_conversation(conn, ref.id, "1122334455667", NOW)
                repo.insert_inbound(conn, state.id, message(f"wamid.R{index}", sender), NOW)
            found.append(ref.id)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(found) == len(senders)
    assert count(db, customers) == 1
    assert count(db, identity_changes, identity_changes.c.kind == "merge") == 1
    assert count(db, conversations, conversations.c.status != "resolved") == 1
    assert count(db, messages) == 2 + len(senders)
