"""The desk's storage adapters on SQLite and PostgreSQL: people with their load
(`adapters.storage.agents`), conversations waiting and held (`queues`), and a
conversation as an action works on it (`desk`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from relaydesk.adapters.storage import agents, desk, queues
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, messages, notes, outbox, users
from relaydesk.domain.routing import Presence
from tests.integration.storage_rows import (
    NOW,
    conversation,
    customer,
    locked_elsewhere,
    message,
    postgres_only,
    stored,
    user,
)

LATER = NOW + timedelta(minutes=5)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


# --- agents ----------------------------------------------------------------------------


def test_agents_are_the_active_people_with_their_load(db: Database) -> None:
    busy = user(db, skills=["billing", "tech"], languages=["en", "es"])
    idle = user(db, presence="away")
    user(db, active=False)
    conversation(db, "assigned", assignee_id=busy)
    conversation(db, "assigned", assignee_id=busy)
    conversation(db, "resolved", assignee_id=busy)  # not held any more
    with db.read() as conn:
        everyone = {a.id: a for a in agents.agents(conn)}
        online = agents.agents(conn, online_only=True)
        one = agents.agents(conn, user_id=idle)
    assert set(everyone) == {busy, idle}
    assert everyone[busy].active_conversations == 2
    assert everyone[busy].skills == frozenset({"billing", "tech"})
    assert everyone[busy].languages == frozenset({"en", "es"})
    assert everyone[idle].active_conversations == 0
    assert everyone[idle].presence is Presence.AWAY
    assert [a.id for a in online] == [busy]
    assert [a.id for a in one] == [idle]


def test_overview_lists_active_people_by_name(db: Database) -> None:
    zoe = user(db, "Zoe", skills=None, languages=None)
    ana = user(db, "Ana", role="supervisor")
    user(db, "Bob", active=False)
    conversation(db, "assigned", assignee_id=zoe)
    with db.read() as conn:
        rows = agents.overview(conn)
    assert [(r.id, r.name, r.role) for r in rows] == [
        (ana, "Ana", "supervisor"),
        (zoe, "Zoe", "agent"),
    ]
    assert rows[1].active_conversations == 1
    assert (rows[1].skills, rows[1].languages) == ((), ())
    assert rows[0].skills == ("billing",)


def test_person_is_found_active_or_not(db: Database) -> None:
    gone = user(db, "Gone", active=False)
    with db.read() as conn:
        found = agents.person(conn, gone)
        missing = agents.person(conn, gone + 100)
    assert found == agents.Person(gone, "Gone", False)
    assert missing is None


def test_presence_and_last_assignment_are_stored(db: Database) -> None:
    someone = user(db, presence="offline")
    with db.write() as conn:
        agents.set_presence(conn, someone, Presence.ONLINE)
        agents.mark_assigned(conn, someone, LATER)
    row = stored(db, users, someone)
    assert (row.presence, row.last_assigned_at) == ("online", LATER)


def test_lock_holds_the_person_until_the_transaction_ends(db: Database) -> None:
    postgres_only(db)
    someone = user(db)
    with db.write() as conn:
        agents.lock(conn, someone)
        assert locked_elsewhere(db, users, someone)
    assert not locked_elsewhere(db, users, someone)


# --- queues ----------------------------------------------------------------------------


def test_waiting_is_every_queued_conversation_as_stored(db: Database) -> None:
    queued = conversation(db, queue="billing", priority=None, queued_at=None, language="es")
    conversation(db, "assigned", assignee_id=user(db))
    conversation(db, "bot")
    with db.read() as conn:
        (found,) = queues.waiting(conn)
    assert found == queues.Queued(
        id=queued,
        queue="billing",
        priority=None,
        language="es",
        queued_at=None,
        entered_queue_at=None,
        created_at=NOW - timedelta(hours=1),
        last_inbound_at=NOW,
    )


def test_locked_waiting_skips_what_another_transaction_holds(db: Database) -> None:
    postgres_only(db)
    first, second = conversation(db), conversation(db)
    with db.write() as holder:
        assert desk.lock(holder, first) is not None
        with db.write() as conn:
            assert [q.id for q in queues.waiting(conn, lock=True)] == [second]
            assert sorted(q.id for q in queues.waiting(conn)) == [first, second]


def test_assign_gives_the_conversation_to_the_agent(db: Database) -> None:
    someone = user(db)
    cid = conversation(db)
    with db.write() as conn:
        queues.assign(conn, cid, someone, LATER)
    row = stored(db, conversations, cid)
    assert (row.status, row.assignee_id, row.assigned_at, row.updated_at) == (
        "assigned",
        someone,
        LATER,
        LATER,
    )


def test_summaries_join_the_customer_and_the_assignee(db: Database) -> None:
    ana, bob = user(db, "Ana"), user(db, "Bob")
    mine = conversation(db, "assigned", assignee_id=ana, customer_id=customer(db, wa_id="34611"))
    conversation(db, "assigned", assignee_id=bob)
    waiting = conversation(db)
    conversation(db, "resolved", assignee_id=ana)
    with db.read() as conn:
        held = queues.summaries(conn, ("assigned",), assignee_id=ana)
        open_ = queues.summaries(conn, ("queued", "assigned"))
    assert [(s.id, s.assignee_name, s.wa_id, s.profile_name) for s in held] == [
        (mine, "Ana", "34611", "Ana")
    ]
    assert len(open_) == 3
    (unassigned,) = [s for s in open_ if s.id == waiting]
    assert (unassigned.assignee_id, unassigned.assignee_name, unassigned.status) == (
        None,
        None,
        "queued",
    )


def test_open_conversations_are_the_queued_and_assigned(db: Database) -> None:
    queued = conversation(db, queue="billing")
    held = conversation(db, "assigned", assignee_id=user(db))
    conversation(db, "resolved")
    conversation(db, "bot")
    with db.read() as conn:
        rows = {r.id: r for r in queues.open_conversations(conn)}
    assert set(rows) == {queued, held}
    assert (rows[queued].queue, rows[queued].status, rows[queued].language) == (
        "billing",
        "queued",
        "en",
    )


def test_last_messages_are_the_newest_of_each_conversation(db: Database) -> None:
    one, two, silent = conversation(db), conversation(db), conversation(db)
    message(db, one, NOW, text="first")
    message(db, one, LATER, text="second", direction="out", type="interactive")
    message(db, two, NOW, text=None)
    with db.read() as conn:
        found = queues.last_messages(conn, [one, two, silent])
        none = queues.last_messages(conn, [])
    assert found == {
        one: queues.LastMessage("out", "interactive", "second", LATER),
        two: queues.LastMessage("in", "text", None, NOW),
    }
    assert none == {}


def test_rewrites_are_the_agents_replies_that_started_from_a_draft(db: Database) -> None:
    someone = user(db)
    cid = conversation(db)
    message(db, cid, NOW, direction="out", author_id=someone, draft="Hi", text="Hello there")
    message(db, cid, NOW, direction="out", author_id=someone, draft="Hi", text=None)
    message(db, cid, NOW, direction="out", author_id=someone, text="no draft")
    message(db, cid, NOW, direction="out", draft="bot's own", text="bot")
    with db.read() as conn:
        pairs = queues.rewrites(conn)
    assert sorted(pairs) == [("Hi", ""), ("Hi", "Hello there")]


# --- desk --------------------------------------------------------------------------------


def test_lock_reads_the_conversation_and_holds_it(db: Database) -> None:
    cid = conversation(db, "assigned", assignee_id=user(db), priority="P1")
    with db.write() as conn:
        row = desk.lock(conn, cid)
        missing = desk.lock(conn, cid + 100)
        if db.engine.dialect.name == "postgresql":
            assert locked_elsewhere(db, conversations, cid)
    assert row is not None and missing is None
    assert (row.id, row.status, row.priority, row.phone_number_id) == (
        cid,
        "assigned",
        "P1",
        "1122334455667",
    )


def test_held_by_is_what_the_person_holds_now(db: Database) -> None:
    someone = user(db)
    held = conversation(db, "assigned", assignee_id=someone)
    conversation(db, "resolved", assignee_id=someone)
    conversation(db, "assigned", assignee_id=user(db))
    with db.write() as conn:
        assert [w.id for w in desk.held_by(conn, someone)] == [held]


def test_requeue_puts_it_back_in_line_and_due(db: Database) -> None:
    cid = conversation(db, "assigned", assignee_id=user(db), assigned_at=NOW)
    with db.write() as conn:
        desk.requeue(conn, cid, queue="billing", tier=2, queued_at=NOW, now=LATER)
    row = stored(db, conversations, cid)
    assert (row.status, row.queue, row.tier, row.assignee_id, row.assigned_at) == (
        "queued",
        "billing",
        2,
        None,
        None,
    )
    assert (row.queued_at, row.entered_queue_at, row.timer_at, row.updated_at) == (
        NOW,
        LATER,
        LATER,
        LATER,
    )


def test_resolve_and_hand_back(db: Database) -> None:
    resolved = conversation(db, "assigned", assignee_id=user(db))
    bot = conversation(db, "assigned", assignee_id=user(db), timer_at=NOW, entered_queue_at=NOW)
    with db.write() as conn:
        desk.resolve(conn, resolved, LATER)
        desk.hand_back(conn, bot, LATER)
    done = stored(db, conversations, resolved)
    assert (done.status, done.resolved_at, done.csat_state) == ("resolved", LATER, "pending")
    back = stored(db, conversations, bot)
    assert (back.status, back.assignee_id, back.queue, back.tier, back.priority) == (
        "bot",
        None,
        None,
        None,
        None,
    )
    assert (back.entered_queue_at, back.timer_at, back.updated_at) == (None, None, LATER)


def test_feedback_and_notes_are_stored(db: Database) -> None:
    someone = user(db)
    cid = conversation(db)
    with db.write() as conn:
        desk.save_feedback(
            conn,
            cid,
            verdict="not_needed",
            tags=["unclear_intent", "weak_follow_up"],
            by=someone,
            now=NOW,
        )
        note_id = desk.add_note(conn, cid, author_id=someone, body="called her", now=LATER)
    row = stored(db, conversations, cid)
    assert (row.feedback, row.failure_tags, row.feedback_by, row.feedback_at) == (
        "not_needed",
        ["unclear_intent", "weak_follow_up"],
        someone,
        NOW,
    )
    note = stored(db, notes, note_id)
    assert (note.conversation_id, note.author_id, note.body, note.created_at) == (
        cid,
        someone,
        "called her",
        LATER,
    )


def test_queue_reply_marks_the_message_as_the_agents(db: Database) -> None:
    someone = user(db)
    cid = conversation(db, customer_id=customer(db, wa_id="34622", user_id="ES.9"))
    message_id = message(db, cid, NOW, direction="out", text="Hello")
    entry = {
        "message_id": message_id,
        "conversation_id": cid,
        "phone_number_id": "1122334455667",
        "recipient_wa_id": "34622",
        "content": {"type": "text", "body": "Hello"},
        "state": "pending",
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    with db.write() as conn:
        locked = desk.lock(conn, cid)
        assert locked is not None
        keys = desk.customer_keys(conn, locked.customer_id)
        outbox_id = desk.queue_reply(conn, entry, author_id=someone, draft="Hi", now=LATER)
    assert keys == ("34622", "ES.9")
    assert stored(db, outbox, outbox_id).message_id == message_id
    sent = stored(db, messages, message_id)
    assert (sent.author_id, sent.draft) == (someone, "Hi")
    assert stored(db, conversations, cid).updated_at == LATER
