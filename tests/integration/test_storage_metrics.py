"""The scorecard's facts as stored (`adapters.storage.metrics`) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from relaydesk.adapters.storage import metrics
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import decisions
from tests.integration.storage_rows import NOW, conversation, customer, message, user

START = NOW - timedelta(days=3)
END = NOW + timedelta(days=4)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def decision(db: Database, conversation_id: int, at: object, **values: object) -> None:
    row = {
        "conversation_id": conversation_id,
        "action": "answer",
        "intent": None,
        "confidence": 0.9,
        "triggers": [],
        "policy_version": "abc123def456",
        "detail": {},
        "created_at": at,
    } | values
    with db.write() as conn:
        conn.execute(decisions.insert().values(row))


def test_a_periods_conversations_with_their_messages_decisions_and_next(db: Database) -> None:
    agent = user(db)
    ana = customer(db)
    first = conversation(
        db,
        "resolved",
        customer_id=ana,
        created_at=NOW,
        escalated_at=NOW + timedelta(minutes=1),
        resolved_at=NOW + timedelta(hours=1),
        assignee_id=agent,
        csat_state="answered",
        csat_rating=4,
        feedback="needed",
        failure_tags=["weak_follow_up"],
    )
    referral = {"referral": {"source_type": "ad", "source_id": "42"}}
    message(db, first, NOW, payload=referral, wamid="w1")
    message(db, first, NOW + timedelta(seconds=1), direction="out", text="bot", wamid="w2")
    message(
        db,
        first,
        NOW + timedelta(minutes=3),
        direction="out",
        author_id=agent,
        text="Hi Ana, it ships today",
        draft="Hi Ana, how can I help?",
        wamid="w3",
    )
    decision(db, first, NOW, intent="order_status")
    decision(
        db,
        first,
        NOW + timedelta(minutes=1),
        action="escalate",
        intent="order_status",
        triggers=[
            {"type": "human_request", "detail": "", "score": 1.0, "threshold": 0.5},
            {"type": "keyword", "detail": "", "score": 1.0, "threshold": 1, "escalates": False},
        ],
    )
    later = conversation(db, "bot", customer_id=ana, created_at=NOW + timedelta(days=2))
    message(db, later, NOW + timedelta(days=2), wamid="w4")
    conversation(db, "bot", created_at=START - timedelta(seconds=1))  # before the period

    with db.read() as conn:
        facts = {f.id: f for f in metrics.load(conn, START, END)}

    assert sorted(facts) == [first, later]
    one = facts[first]
    assert one.source == "ad"
    assert facts[later].source == "organic"
    assert [(m.party, m.at) for m in one.messages] == [  # the bot's message is not read
        ("customer", NOW),
        ("agent", NOW + timedelta(minutes=3)),
    ]
    assert one.rewrites == (("Hi Ana, how can I help?", "Hi Ana, it ships today"),)
    assert [d.triggers for d in one.decisions] == [(), ("human_request",)]  # keyword only routed
    assert one.intent == "order_status"
    assert one.next_conversation_at == NOW + timedelta(days=2)
    assert one.next_conversation_at.tzinfo is not None
    assert facts[later].next_conversation_at is None
    assert (one.csat_rating, one.feedback, one.failure_tags) == (4, "needed", ("weak_follow_up",))
    assert one.assignee_id == agent


def test_the_booking_link_sent_and_opened(db: Database) -> None:
    from relaydesk.adapters.storage.tables import events

    clicked, offered, other = (
        conversation(db, "bot", created_at=NOW + timedelta(minutes=i)) for i in range(3)
    )
    for cid in (clicked, offered):
        decision(db, cid, NOW, intent="pricing", detail={"playbook": "pricing", "step": "qualify"})
        decision(db, cid, NOW, intent="pricing", detail={"playbook": "pricing", "step": "book"})
    decision(db, other, NOW, intent="pricing", detail={"playbook": "pricing", "step": "qualify"})
    with db.write() as conn:
        for _ in range(2):  # clicked twice: one conversion
            conn.execute(
                events.insert().values(
                    conversation_id=clicked, kind="booking_click", detail={}, created_at=NOW
                )
            )
    with db.read() as conn:
        facts = {c.id: c for c in metrics.load(conn, START, END)}
    assert [d.booking for d in facts[clicked].decisions] == [False, True]
    assert facts[clicked].booking_offered and facts[clicked].booking_clicked
    assert facts[offered].booking_offered and not facts[offered].booking_clicked
    assert not facts[other].booking_offered and not facts[other].booking_clicked


def test_sources_organic_ad_and_campaign(db: Database) -> None:
    """The first customer message decides a campaign: a template's quick-reply button, a
    reply to a template we sent, or a `ref=`/`utm_campaign=` reference; an ad's referral
    (any customer message) comes first."""
    at = NOW + timedelta(minutes=1)
    sent_template = conversation(db, "resolved", created_at=NOW - timedelta(days=1))
    message(db, sent_template, NOW, direction="out", type="template", wamid="wamid.tpl")
    message(db, sent_template, NOW, direction="out", type="text", wamid="wamid.plain")
    expected = {sent_template: "organic"}  # no customer message: nothing says otherwise
    for source, values in (
        ("campaign", {"type": "button", "payload": {"button": {"payload": "yes"}}}),
        ("campaign", {"payload": {"context": {"id": "wamid.tpl"}}, "text": "yes please"}),
        ("organic", {"payload": {"context": {"id": "wamid.plain"}}, "text": "and also"}),
        ("campaign", {"text": "Hi! REF=black-friday"}),
        ("organic", {"text": "a preference=none"}),
        ("ad", {"text": "hi ref=x", "payload": {"referral": {"source_type": "ad"}}}),
        ("organic", {"text": "hello"}),
    ):
        cid = conversation(db, "bot", created_at=at)
        message(db, cid, at, **values)
        message(db, cid, at + timedelta(minutes=1), text="later ref=ignored")
        expected[cid] = source
    late = conversation(db, "bot", created_at=at)  # only a later message names a campaign
    message(db, late, at, text="hello")
    message(db, late, at + timedelta(minutes=1), text="ref=too-late")
    expected[late] = "organic"
    with db.read() as conn:
        facts = {c.id: c.source for c in metrics.load(conn, START, END)}
    assert facts == expected
