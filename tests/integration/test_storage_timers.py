"""The timers' storage adapters on SQLite and PostgreSQL: which conversations are due
(`adapters.storage.timers`), what the clocks read and what the worker writes back, and the
pending CSAT questions (`adapters.storage.csat`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from relaydesk.adapters.storage import csat, desk, timers
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations
from relaydesk.domain.sla import Party, TimelineMessage
from tests.integration.storage_rows import (
    NOW,
    conversation,
    customer,
    message,
    postgres_only,
    stored,
    user,
)

M = timedelta(minutes=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


# --- timers ----------------------------------------------------------------------------


def test_due_is_open_with_its_timer_come_or_never_looked_at(db: Database) -> None:
    due = conversation(db, timer_at=NOW)
    never = conversation(db, "assigned", assignee_id=user(db))  # timer_at, sla_handled NULL
    conversation(db, timer_at=NOW + M)  # not yet
    conversation(db, sla_handled=["x"])  # looked at, nothing pending
    conversation(db, "resolved", timer_at=NOW)
    conversation(db, "bot")
    with db.read() as conn:
        found = timers.due_ids(conn, NOW, after=0, limit=10)
        page = timers.due_ids(conn, NOW, after=due, limit=1)
        first = timers.due_ids(conn, NOW, after=0, limit=1)
    assert found == [due, never]
    assert page == [never]
    assert first == [due]


def test_claim_due_reads_those_still_due(db: Database) -> None:
    due = conversation(
        db, timer_at=NOW, sla_handled=["first_response:warning"], entered_queue_at=NOW
    )
    moved_on = conversation(db, timer_at=NOW + M)
    with db.write() as conn:
        (row,) = timers.claim_due(conn, [due, moved_on], NOW)
    assert row == timers.Timed(
        id=due,
        status="queued",
        queue="general",
        priority="P3",
        language="en",
        queued_at=NOW,
        entered_queue_at=NOW,
        last_inbound_at=NOW,
        escalated_at=NOW,
        resolved_at=None,
        sla_handled=("first_response:warning",),
    )


def test_claim_due_skips_what_another_worker_holds(db: Database) -> None:
    postgres_only(db)
    held, free = conversation(db, timer_at=NOW), conversation(db, timer_at=NOW)
    with db.write() as other:
        assert desk.lock(other, held) is not None
        with db.write() as conn:
            assert [r.id for r in timers.claim_due(conn, [held, free], NOW)] == [free]


def test_timed_reads_open_or_named_conversations(db: Database) -> None:
    queued = conversation(db)
    resolved = conversation(db, "resolved", resolved_at=NOW)
    bot = conversation(db, "bot")
    with db.read() as conn:
        open_ = timers.timed(conn)
        named = timers.timed(conn, [queued, resolved, bot])
        none = timers.timed(conn, [])
    assert [r.id for r in open_] == [queued]
    assert sorted(r.id for r in named) == [queued, resolved]
    assert none == []
    assert {r.id: r.resolved_at for r in named}[resolved] == NOW


def test_clock_messages_are_the_customers_and_the_agents(db: Database) -> None:
    someone = user(db)
    one, two = conversation(db), conversation(db)
    message(db, one, NOW - M)  # before the clocks started
    message(db, one, NOW)
    message(db, one, NOW + M, direction="out", author_id=someone)
    message(db, one, NOW + 2 * M, direction="out")  # the bot's own: does not count
    message(db, two, NOW + 3 * M)
    with db.read() as conn:
        found = timers.clock_messages(conn, [one, two], since=NOW)
        none = timers.clock_messages(conn, [], since=NOW)
    assert {cid: sorted(ms, key=lambda m: m.at) for cid, ms in found.items()} == {
        one: [TimelineMessage(NOW, Party.CUSTOMER), TimelineMessage(NOW + M, Party.AGENT)],
        two: [TimelineMessage(NOW + 3 * M, Party.CUSTOMER)],
    }
    assert none == {}


def test_save_writes_the_timers_columns_only(db: Database) -> None:
    cid = conversation(db)
    with db.write() as conn:
        timers.save(
            conn,
            cid,
            {"timer_at": NOW + M, "sla_handled": ["a", "b"], "priority": "P2", "tier": 2},
        )
        with pytest.raises(ValueError, match="timers may not write status; only "):
            timers.save(conn, cid, {"status": "resolved", "timer_at": None})
    row = stored(db, conversations, cid)
    assert (row.status, row.timer_at, row.sla_handled, row.priority, row.tier) == (
        "queued",
        NOW + M,
        ["a", "b"],
        "P2",
        2,
    )


# --- csat ------------------------------------------------------------------------------


def test_pending_questions_in_pages(db: Database) -> None:
    first = conversation(db, "resolved", csat_state="pending")
    second = conversation(db, "resolved", csat_state="pending")
    conversation(db, "resolved", csat_state="sent")
    conversation(db, "assigned", csat_state="pending", assignee_id=user(db))  # reopened
    with db.read() as conn:
        everything = csat.pending_ids(conn, after=0, limit=10)
        page = csat.pending_ids(conn, after=first, limit=10)
        one = csat.pending_ids(conn, after=0, limit=1)
    assert (everything, page, one) == ([first, second], [second], [first])


def test_claim_pending_reads_whom_to_ask(db: Database) -> None:
    who = customer(db, wa_id=None, user_id="ES.7", profile_name="Eva")
    cid = conversation(db, "resolved", csat_state="pending", customer_id=who, language="es")
    answered = conversation(db, "resolved", csat_state="answered")
    with db.write() as conn:
        rows = csat.claim_pending(conn, [cid, answered])
    assert rows == [
        csat.Pending(
            id=cid,
            phone_number_id="1122334455667",
            last_inbound_at=NOW,
            language="es",
            wa_id=None,
            user_id="ES.7",
            profile_name="Eva",
        )
    ]


def test_claim_pending_skips_what_another_worker_holds(db: Database) -> None:
    postgres_only(db)
    held = conversation(db, "resolved", csat_state="pending")
    free = conversation(db, "resolved", csat_state="pending")
    with db.write() as other:
        assert desk.lock(other, held) is not None
        with db.write() as conn:
            assert [r.id for r in csat.claim_pending(conn, [held, free])] == [free]


def test_mark_ends_the_question_and_the_timer(db: Database) -> None:
    sent = conversation(db, "resolved", csat_state="pending", timer_at=NOW)
    skipped = conversation(db, "resolved", csat_state="pending", timer_at=NOW)
    with db.write() as conn:
        csat.mark(conn, sent, "sent")
        csat.mark(conn, skipped, "skipped")
    assert [
        (r.csat_state, r.timer_at) for r in (stored(db, conversations, c) for c in (sent, skipped))
    ] == [("sent", None), ("skipped", None)]
