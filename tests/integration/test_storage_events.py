"""The event log's storage adapter (`adapters.storage.events`) on SQLite and PostgreSQL:
events written in the caller's transaction, read after an id in order and in pages, the
newest id, and on PostgreSQL the NOTIFY that reaches a listener only on commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from relaydesk.adapters.storage import events
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.events import Event
from relaydesk.adapters.storage.migrate import upgrade
from tests.integration.storage_rows import NOW, conversation, user

LATER = NOW + timedelta(seconds=5)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def write(db: Database, kind: str, **detail: object) -> None:
    with db.write() as conn:
        events.insert(conn, kind, now=NOW, conversation_id=None, actor_id=None, detail=detail)


def test_an_event_is_stored_with_what_it_was_given(db: Database) -> None:
    cid, someone = conversation(db), user(db)
    with db.write() as conn:
        events.insert(
            conn,
            "assigned",
            now=LATER,
            conversation_id=cid,
            actor_id=someone,
            detail={"queue": "billing", "tier": 2},
        )
    with db.read() as conn:
        (found,) = events.after(conn, 0, 10)
    assert found == Event(
        id=found.id,
        kind="assigned",
        conversation_id=cid,
        actor_id=someone,
        detail={"queue": "billing", "tier": 2},
        created_at=LATER,
    )
    assert found.as_dict()["created_at"] == LATER.isoformat()


def test_events_are_read_after_an_id_in_order_and_up_to_a_limit(db: Database) -> None:
    for kind in ("escalated", "assigned", "note", "resolved"):
        write(db, kind)
    with db.read() as conn:
        every = events.after(conn, 0, 10)
        ids = [e.id for e in every]
        page = events.after(conn, ids[0], 2)
        rest = events.after(conn, ids[2], 10)
        none = events.after(conn, ids[-1], 10)
    assert [e.kind for e in every] == ["escalated", "assigned", "note", "resolved"]
    assert ids == sorted(ids)
    assert [e.kind for e in page] == ["assigned", "note"]
    assert [e.kind for e in rest] == ["resolved"]
    assert none == []
    assert every[0].detail == {}
    assert (every[0].conversation_id, every[0].actor_id) == (None, None)


def test_last_id_is_the_newest_event_or_zero(db: Database) -> None:
    with db.read() as conn:
        assert events.last_id(conn) == 0
    write(db, "escalated")
    write(db, "assigned")
    with db.read() as conn:
        newest = events.after(conn, 0, 10)[-1].id
        assert events.last_id(conn) == newest


def test_a_rolled_back_transaction_leaves_no_event(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        events.insert(conn, "note", now=NOW, conversation_id=None, actor_id=None, detail={})
        raise RuntimeError("the change failed")
    with db.read() as conn:
        assert events.after(conn, 0, 10) == []
        assert events.last_id(conn) == 0


async def test_a_listener_hears_committed_events_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("NOTIFY is PostgreSQL's; on SQLite the event hub polls the table")

    def roll_back() -> None:
        with pytest.raises(RuntimeError), db.write() as conn:
            events.insert(conn, "note", now=NOW, conversation_id=None, actor_id=None, detail={})
            raise RuntimeError("the change failed")

    # Listens until 1.5 s after the writes, then stops by `until`. Other schemas'
    # commits (other test workers share the channel) are not this schema's.
    deadline = [float("inf")]
    async with events.listening(
        db.engine.url, until=lambda: time.monotonic() > deadline[0], tick=0.1
    ) as notifies:
        await asyncio.to_thread(roll_back)
        await asyncio.to_thread(another_deployment_commits, db)
        await asyncio.to_thread(write, db, "escalated")
        deadline[0] = time.monotonic() + 1.5
        heard = [schema async for schema in notifies]
    # One commit, one notification: nothing for the rollback or the other schema.
    with db.read() as conn:
        assert heard == [conn.execute(text("SELECT current_schema()")).scalar_one()]


def another_deployment_commits(db: Database) -> None:
    """What a deployment in another schema of the same database sends on commit."""
    with db.write() as conn:
        conn.execute(text(f"SELECT pg_notify('{events.CHANNEL}', 'another_deployment')"))


async def test_a_listener_stops_when_told_even_if_nothing_arrives(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("NOTIFY is PostgreSQL's; on SQLite the event hub polls the table")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    async with events.listening(db.engine.url, until=stop.is_set, tick=0.1) as notifies:
        heard = await asyncio.wait_for(_drain(notifies), 10)
    assert heard == []


async def _drain(notifies: AsyncIterator[str]) -> list[str]:
    return [schema async for schema in notifies]


async def test_leaving_a_listener_early_closes_it(db: Database) -> None:
    """A consumer that stops reading mid-way (after one NOTIFY) leaves the block at once:
    psycopg's wait is closed first, or closing the connection would wait for its lock."""
    if db.is_sqlite:
        pytest.skip("NOTIFY is PostgreSQL's; on SQLite the event hub polls the table")

    async def first_then_leave() -> str:
        async with events.listening(db.engine.url, tick=5.0) as notifies:
            await asyncio.to_thread(write, db, "escalated")
            async for schema in notifies:
                return schema
        raise AssertionError("no notification")

    assert await asyncio.wait_for(first_then_leave(), 10)
