"""The conversation read model's storage adapter (`adapters.storage.conversations`) on
SQLite and PostgreSQL: a customer's conversations, one conversation with its customer and
assignee, its messages and decisions a page at a time, its latest decision of a kind, what
the customer wrote, and its notes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from relaydesk.adapters.storage import conversations as store
from relaydesk.adapters.storage.conversations import Decision, Note, Visibility
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import decisions, notes
from tests.integration.storage_rows import NOW, conversation, customer, message, user

S = timedelta(seconds=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def decision(db: Database, conversation_id: int, action: str, **values: Any) -> int:
    columns = {
        "conversation_id": conversation_id,
        "action": action,
        "triggers": [],
        "policy_version": "v1",
        "detail": {},
        "created_at": NOW,
    } | values
    with db.write() as conn:
        return int(
            conn.execute(decisions.insert().values(columns).returning(decisions.c.id)).scalar_one()
        )


def note(db: Database, conversation_id: int, author_id: int | None, body: str) -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                notes.insert()
                .values(
                    conversation_id=conversation_id, author_id=author_id, body=body, created_at=NOW
                )
                .returning(notes.c.id)
            ).scalar_one()
        )


# --- which conversations ---------------------------------------------------------------


def test_a_customers_conversations_by_wa_id_or_bsuid_newest_first(db: Database) -> None:
    ana = customer(db, wa_id="34600111", user_id="ES.ana")
    agent = user(db)
    old = conversation(db, "resolved", customer_id=ana)
    new = conversation(db, "assigned", customer_id=ana, assignee_id=agent)
    conversation(db, customer_id=customer(db))  # someone else's
    with db.read() as conn:
        by_number = store.for_customer(conn, "34600111")
        by_bsuid = store.for_customer(conn, "ES.ana")
        older = store.for_customer(conn, "34600111", before=new)
        unknown = store.for_customer(conn, "34999999")
    assert by_number == [Visibility(new, "assigned", agent), Visibility(old, "resolved", None)]
    assert by_bsuid == by_number
    assert [v.id for v in older] == [old]
    assert unknown == []


def test_visibility_is_the_status_and_assignee(db: Database) -> None:
    agent = user(db)
    cid = conversation(db, "assigned", assignee_id=agent)
    with db.read() as conn:
        assert store.visibility(conn, cid) == Visibility(cid, "assigned", agent)
        assert store.visibility(conn, cid + 100) is None


# --- the conversation ------------------------------------------------------------------


def test_a_conversation_with_its_customer_and_assignee(db: Database) -> None:
    agent = user(db, "Bea", email="bea@example.com")
    ana = customer(db, wa_id="34600222", user_id="ES.ana", attributes={"vip": "true"})
    cid = conversation(
        db,
        "assigned",
        customer_id=ana,
        assignee_id=agent,
        priority="P1",
        dialogue={"turns": []},
        feedback="wrong_escalation",
        failure_tags=["intent"],
        feedback_by=agent,
        feedback_at=NOW,
        csat_state="answered",
        csat_rating=4,
        csat_at=NOW,
    )
    with db.read() as conn:
        found = store.conversation(conn, cid)
    assert found is not None
    assert (found.id, found.status, found.priority, found.queue, found.tier) == (
        cid,
        "assigned",
        "P1",
        "general",
        1,
    )
    assert (found.assignee_id, found.assignee_name, found.assignee_email) == (
        agent,
        "Bea",
        "bea@example.com",
    )
    assert (found.wa_id, found.user_id, found.profile_name, found.attributes) == (
        "34600222",
        "ES.ana",
        "Ana",
        {"vip": "true"},
    )
    assert found.dialogue == {"turns": []}
    assert (found.feedback, found.failure_tags, found.feedback_by, found.feedback_at) == (
        "wrong_escalation",
        ("intent",),
        agent,
        NOW,
    )
    assert (found.csat_state, found.csat_rating, found.csat_at) == ("answered", 4, NOW)
    assert (found.last_inbound_at, found.escalated_at, found.updated_at) == (NOW, NOW, NOW)
    assert found.phone_number_id == "1122334455667"


def test_an_unassigned_conversation_without_extras(db: Database) -> None:
    cid = conversation(db, customer_id=customer(db, attributes=None))
    with db.read() as conn:
        found = store.conversation(conn, cid)
        missing = store.conversation(conn, cid + 100)
    assert found is not None and missing is None
    assert (found.assignee_id, found.assignee_name, found.assignee_email) == (None, None, None)
    assert (found.attributes, found.failure_tags, found.dialogue, found.feedback) == (
        {},
        (),
        None,
        None,
    )


# --- messages and decisions ------------------------------------------------------------


def test_messages_come_a_page_at_a_time_oldest_first(db: Database) -> None:
    cid, other = conversation(db), conversation(db)
    ids = [message(db, cid, NOW + i * S, text=f"m{i}") for i in range(5)]
    message(db, other, NOW, text="elsewhere")
    with db.read() as conn:
        newest = store.messages_page(conn, cid, limit=2)
        middle = store.messages_page(conn, cid, limit=2, before=newest[1])
        first = store.messages_page(conn, cid, limit=2, before=middle[1])
        everything = store.messages_page(conn, cid, limit=5)
        empty = store.messages_page(conn, cid, limit=2, before=ids[0])
    assert ([m.text for m in newest[0]], newest[1]) == (["m3", "m4"], ids[3])
    assert ([m.text for m in middle[0]], middle[1]) == (["m1", "m2"], ids[1])
    assert ([m.text for m in first[0]], first[1]) == (["m0"], None)
    assert ([m.id for m in everything[0]], everything[1]) == (ids, None)  # exactly the limit
    assert empty == ([], None)


def test_messages_carry_their_delivery_and_their_authors_name(db: Database) -> None:
    agent = user(db, "Bea")
    cid = conversation(db)
    message(db, cid, NOW, text="hi")
    message(
        db,
        cid,
        NOW + S,
        direction="out",
        type="text",
        text="Hello, Bea here",
        author_id=agent,
        status=3,
        wamid="wamid.1",
        error_code=131047,
        error_detail="outside the window",
    )
    with db.read() as conn:
        (customer_says, agent_says), _ = store.messages_page(conn, cid, limit=10)
    assert (customer_says.direction, customer_says.author_id, customer_says.author_name) == (
        "in",
        None,
        None,
    )
    assert (agent_says.author_id, agent_says.author_name, agent_says.status) == (agent, "Bea", 3)
    assert (agent_says.wamid, agent_says.error_code, agent_says.error_detail) == (
        "wamid.1",
        131047,
        "outside the window",
    )
    assert agent_says.sent_at == NOW + S


def test_decisions_come_a_page_at_a_time_with_their_reasons(db: Database) -> None:
    cid = conversation(db)
    mid = message(db, cid, NOW)
    trigger = {"type": "keyword", "detail": "refund", "score": 1.0, "threshold": 1.0}
    ids = [
        decision(db, cid, "answer", message_id=mid, intent="greeting", confidence=0.9),
        decision(db, cid, "clarify"),
        decision(db, cid, "escalate", triggers=[trigger], detail={"mode": "request"}),
    ]
    decision(db, conversation(db), "answer")  # another conversation's
    with db.read() as conn:
        newest, before = store.decisions_page(conn, cid, limit=2)
        oldest, none = store.decisions_page(conn, cid, limit=2, before=before)
    assert ([d.action for d in newest], before) == (["clarify", "escalate"], ids[1])
    assert ([d.id for d in oldest], none) == ([ids[0]], None)
    assert oldest[0] == Decision(
        id=ids[0],
        message_id=mid,
        action="answer",
        intent="greeting",
        confidence=0.9,
        triggers=[],
        policy_version="v1",
        detail={},
        created_at=NOW,
    )
    assert (newest[1].triggers, newest[1].detail) == ([trigger], {"mode": "request"})


def test_the_latest_decision_of_a_kind(db: Database) -> None:
    cid = conversation(db)
    decision(db, cid, "escalate", intent="refund")
    latest = decision(db, cid, "escalate", intent="damaged")
    decision(db, cid, "answer")
    with db.read() as conn:
        found = store.latest_decision(conn, cid, "escalate")
        never = store.latest_decision(conn, cid, "clarify")
        elsewhere = store.latest_decision(conn, conversation(db), "escalate")
    assert found is not None
    assert (found.id, found.intent) == (latest, "damaged")
    assert (never, elsewhere) == (None, None)


def test_customer_texts_are_what_the_customer_wrote_oldest_first(db: Database) -> None:
    cid = conversation(db)
    message(db, cid, NOW, text="my order is 123")
    message(db, cid, NOW + S, direction="out", text="Which order?")
    message(db, cid, NOW + 2 * S, type="image", text=None)
    message(db, cid, NOW + 3 * S, text="")
    message(db, cid, NOW + 4 * S, text="ana@example.com")
    message(db, conversation(db), NOW, text="someone else")
    with db.read() as conn:
        assert store.customer_texts(conn, cid) == ["my order is 123", "ana@example.com"]
        assert store.customer_texts(conn, cid + 100) == []


def test_notes_come_oldest_first_with_their_authors_name(db: Database) -> None:
    bea = user(db, "Bea")
    cid = conversation(db)
    first = note(db, cid, bea, "called the courier")
    second = note(db, cid, None, "author gone")
    note(db, conversation(db), bea, "another conversation")
    with db.read() as conn:
        found = store.notes_of(conn, cid)
        none = store.notes_of(conn, cid + 100)
    assert found == [
        Note(first, bea, "Bea", "called the courier", NOW),
        Note(second, None, None, "author gone", NOW),
    ]
    assert none == []
