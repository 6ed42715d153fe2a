"""The review search's storage adapter (`adapters.storage.review`) on SQLite and
PostgreSQL: every conversation, bot-only ones included, by period, status, first intent,
queue, customer text and visibility, newest first a page at a time; failure tags set on
any conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from relaydesk.adapters.storage import review as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.review import Search
from relaydesk.adapters.storage.tables import decisions
from tests.integration.storage_rows import NOW, conversation, customer, user

H = timedelta(hours=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def decide(db: Database, conversation_id: int, intent: str | None, at: Any) -> None:
    with db.write() as conn:
        conn.execute(
            decisions.insert().values(
                conversation_id=conversation_id,
                action="answer",
                intent=intent,
                triggers=[],
                policy_version="v1",
                detail={},
                created_at=at,
            )
        )


@pytest.fixture
def history(db: Database) -> dict[str, int]:
    """A resolved conversation from the day before, then a bot-only one (Bea), a queued one
    (Carlos, 100% off) and an assigned one: ids in the order they started."""
    agent = user(db)
    bea = customer(db, wa_id="34600111222", profile_name="Bea Ortiz")
    carlos = customer(db, wa_id="34600333444", profile_name="Carlos 100%_off")
    ids = {
        "old": conversation(db, "resolved", queue="billing", created_at=NOW - 30 * H),
        "bot": conversation(
            db, "bot", customer_id=bea, queue=None, escalated_at=None, created_at=NOW - 3 * H
        ),
        "queued": conversation(db, "queued", customer_id=carlos, created_at=NOW - 2 * H),
        "assigned": conversation(db, "assigned", assignee_id=agent, created_at=NOW - H),
        "agent": agent,
    }
    decide(db, ids["bot"], None, NOW - 3 * H)
    decide(db, ids["bot"], "order_status", NOW - 3 * H + timedelta(minutes=1))
    decide(db, ids["bot"], "refund", NOW - 3 * H + timedelta(minutes=2))
    decide(db, ids["queued"], "refund", NOW - 2 * H)
    return ids


def found(db: Database, **query: Any) -> list[int]:
    with db.read() as conn:
        return [r.id for r in store.search(conn, Search(**query))]


def test_every_conversation_newest_first_and_a_page_at_a_time(
    db: Database, history: dict[str, int]
) -> None:
    everything = [history[k] for k in ("assigned", "queued", "bot", "old")]
    assert found(db) == everything
    assert found(db, limit=2) == everything[:2]
    assert found(db, limit=2, before=everything[1]) == everything[2:]


def test_filters(db: Database, history: dict[str, int]) -> None:
    assert found(db, status="bot") == [history["bot"]]
    assert found(db, queue="billing") == [history["old"]]
    assert found(db, start=NOW - 4 * H, end=NOW - 2 * H) == [history["bot"]]
    # the conversation's intent is the first the bot recognised
    assert found(db, intent="order_status") == [history["bot"]]
    assert found(db, intent="refund") == [history["queued"]]
    assert found(db, customer="34600111222") == [history["bot"]]


def test_customer_text_matches_phone_digits_and_name_in_any_case(
    db: Database, history: dict[str, int]
) -> None:
    assert found(db, text="+34 600 111") == [history["bot"]]
    assert found(db, text="bea") == [history["bot"]]
    assert found(db, text="ORTIZ") == [history["bot"]]
    # LIKE's wildcards are plain characters
    assert found(db, text="100%_") == [history["queued"]]
    assert found(db, text="%") == [history["queued"]]
    assert found(db, text="_") == [history["queued"]]
    assert found(db, text="nobody") == []


def test_an_agent_sees_waiting_conversations_and_their_own(
    db: Database, history: dict[str, int]
) -> None:
    assert found(db, agent_id=history["agent"]) == [history["assigned"], history["queued"]]


def test_failure_tags_on_a_bot_only_conversation(db: Database, history: dict[str, int]) -> None:
    with db.write() as conn:
        assert store.failure_tags(conn, history["bot"]) == ()
        store.set_failure_tags(conn, history["bot"], ["unclear_intent"])
    with db.read() as conn:
        assert store.failure_tags(conn, history["bot"]) == ("unclear_intent",)
        assert store.failure_tags(conn, 999_999) is None
        (row,) = store.search(conn, Search(status="bot"))
    assert row.failure_tags == ("unclear_intent",)
    assert row.escalated is False and row.intent == "order_status"
    assert row.profile_name == "Bea Ortiz" and row.wa_id == "34600111222"
