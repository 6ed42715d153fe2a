"""The drafts' storage (`adapters.storage.drafts`) on SQLite and PostgreSQL: a draft is
handled once (the conditional update), pending and due ones are found, the console's
suggestion is the newest unsent one, and the rollout's acceptance figures per intent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from relaydesk.adapters.storage import drafts
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from tests.integration.storage_rows import NOW, conversation, message, postgres_only, user

BUTTONS = {"kind": "buttons", "body": "From €49.", "buttons": [{"id": "a", "title": "A"}]}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def held(
    db: Database, intent: str = "pricing", *, conversation_id: int | None = None, at: datetime = NOW
) -> int:
    cid = conversation_id or conversation(db, "bot", queue=None, tier=None, priority=None)
    mid = message(db, cid, at)
    with db.write() as conn:
        return drafts.insert(
            conn,
            conversation_id=cid,
            message_id=mid,
            intent=intent,
            confidence=0.9,
            text="From €49.",
            content=BUTTONS,
            now=at,
        )


def handle(
    db: Database,
    draft_id: int,
    state: str = "sent",
    *,
    by: int | None = None,
    sent_text: str | None = None,
    edit_distance: float | None = None,
    unchanged: bool | None = None,
) -> bool:
    with db.write() as conn:
        return drafts.handle(
            conn,
            draft_id,
            state=state,
            by=by,
            now=NOW,
            sent_text=sent_text,
            edit_distance=edit_distance,
            unchanged=unchanged,
        )


def test_a_draft_is_stored_and_read_back_with_its_conversation(db: Database) -> None:
    draft_id = held(db)
    with db.read() as conn:
        draft = drafts.get(conn, draft_id)
        assert drafts.get(conn, draft_id + 1000) is None
    assert draft is not None
    assert (draft.state, draft.intent, draft.text, draft.content) == (
        "pending",
        "pricing",
        "From €49.",
        BUTTONS,
    )
    assert (draft.conversation_status, draft.customer_name, draft.created_at) == ("bot", "Ana", NOW)
    assert draft.handled_by is None and draft.outbox_id is None


def test_only_the_first_handler_moves_a_pending_draft(db: Database) -> None:
    agent = user(db, "Ana")
    draft_id = held(db)
    assert handle(db, draft_id, "sent", by=agent, sent_text="x", edit_distance=0.5, unchanged=False)
    assert not handle(db, draft_id, "sent", by=agent, sent_text="y")
    assert not handle(db, draft_id, "rejected", by=agent)
    with db.read() as conn:
        draft = drafts.get(conn, draft_id)
    assert draft is not None
    assert (draft.state, draft.sent_text, draft.edit_distance, draft.unchanged) == (
        "sent",
        "x",
        0.5,
        False,
    )
    assert (draft.handled_by, draft.handled_by_name, draft.handled_at) == (agent, "Ana", NOW)


def test_racing_handlers_on_postgres_one_wins(db: Database) -> None:
    """Two transactions update the same pending draft at once: the second waits for the
    first's row lock, then finds the draft handled and changes nothing."""
    postgres_only(db)
    draft_id = held(db)
    results: list[bool] = []
    first_updated = threading.Event()
    release = threading.Event()

    def first() -> None:
        with db.write() as conn:
            results.append(drafts.handle(conn, draft_id, state="sent", by=None, now=NOW))
            first_updated.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_updated.wait(5)
    second: list[bool] = []
    racer = threading.Thread(target=lambda: second.append(handle(db, draft_id, "rejected")))
    racer.start()
    racer.join(0.3)
    assert racer.is_alive()  # blocked on the first transaction's row lock
    release.set()
    thread.join(5)
    racer.join(5)
    assert results == [True] and second == [False]


def test_pending_due_and_the_suggestion(db: Database) -> None:
    cid = conversation(db, "bot", queue=None, tier=None, priority=None)
    old = held(db, conversation_id=cid, at=NOW - timedelta(minutes=20))
    new = held(db, conversation_id=cid, at=NOW)
    queued = held(db, conversation_id=conversation(db, "queued"))
    with db.read() as conn:
        assert [d.id for d in drafts.pending(conn)] == [old, new, queued]
        assert [d.id for d in drafts.pending(conn, conversation_status="bot")] == [old, new]
        assert [d.id for d in drafts.pending(conn, after=old, limit=1)] == [new]
        assert drafts.due_ids(conn, NOW - timedelta(minutes=15)) == [old]
        assert drafts.latest_unsent_text(conn, cid) == "From €49."
    assert handle(db, new, "sent")
    assert handle(db, old, "sent")
    with db.read() as conn:
        assert drafts.latest_unsent_text(conn, cid) is None  # both went out: nothing to suggest
        assert drafts.due_ids(conn, NOW) == [queued]


def test_acceptance_by_intent_counts_what_people_judged_in_the_window(db: Database) -> None:
    def judged(intent: str, state: str, unchanged: bool | None, at_offset: int) -> None:
        draft_id = held(db, intent)
        with db.write() as conn:
            assert drafts.handle(
                conn,
                draft_id,
                state=state,
                by=None,
                now=NOW + timedelta(minutes=at_offset),
                unchanged=unchanged,
            )

    judged("pricing", "sent", True, 1)
    judged("pricing", "sent", True, 2)
    judged("pricing", "sent", False, 3)
    judged("pricing", "rejected", None, 4)
    judged("pricing", "expired", None, 5)  # nobody judged it: not counted
    judged("pricing", "sent", True, 60)  # after the window
    judged("returns", "sent", False, 10)
    held(db, "returns")  # still pending
    with db.read() as conn:
        figures = drafts.acceptance_by_intent(conn, NOW, NOW + timedelta(minutes=30))
        assert drafts.acceptance_by_intent(conn, NOW - timedelta(days=1), NOW) == {}
    assert figures == {"pricing": (4, 2), "returns": (1, 0)}
