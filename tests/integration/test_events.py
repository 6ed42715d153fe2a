"""The event hub on both databases: events written beside a change reach subscribers once
the change commits (never when it rolls back), across processes (a second `Database`
stands in for another server process; on PostgreSQL through LISTEN/NOTIFY), and a
reconnecting subscriber resumes after its Last-Event-ID."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import cast

import pytest

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.services.events import Event, EventHub, EventKind, record

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def write(db: Database, kind: EventKind, **detail: str) -> None:
    with db.write() as conn:
        record(conn, kind, now=NOW, detail=detail)


async def next_events(
    stream: AsyncIterator[Event], count: int, timeout: float = 5.0
) -> list[Event]:
    async def take() -> list[Event]:
        return [await anext(stream) for _ in range(count)]

    return await asyncio.wait_for(take(), timeout)


async def listening(hub: EventHub) -> None:
    """On PostgreSQL, until the hub LISTENs (a NOTIFY before that is not heard)."""
    if hub._db.is_sqlite:
        return
    for _ in range(200):
        if hub.listening:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the hub did not LISTEN within 10 s")


async def test_a_committed_event_reaches_every_subscriber(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05)
    try:
        first, second = await hub.subscribe(), await hub.subscribe()
        # Subscribed when `subscribe` returns: written before anyone reads, still delivered.
        await asyncio.to_thread(write, db, EventKind.ESCALATED, queue="orders")
        waiting = asyncio.gather(next_events(first, 1), next_events(second, 1))
        (one,), (two,) = await waiting
        assert one == two
        assert one.kind == "escalated"
        assert one.detail == {"queue": "orders"}
    finally:
        await hub.stop()


async def test_a_rolled_back_change_emits_nothing(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05)
    try:
        stream = await hub.subscribe()
        pending = asyncio.ensure_future(next_events(stream, 1))

        def fail() -> None:
            with db.write() as conn:
                record(conn, EventKind.ASSIGNED, now=NOW)
                raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            await asyncio.to_thread(fail)
        await asyncio.to_thread(write, db, EventKind.RESOLVED)
        (event,) = await pending
        assert event.kind == "resolved"
    finally:
        await hub.stop()


async def test_another_process_write_arrives_live(db: Database, database_url: str) -> None:
    """On PostgreSQL the poll is set to a minute, so only NOTIFY can deliver in time."""
    other = Database(database_url)
    hub = EventHub(db, poll_interval=0.05 if db.is_sqlite else 60.0)
    try:
        stream = await hub.subscribe()
        pending = asyncio.ensure_future(next_events(stream, 2, timeout=10.0))
        await listening(hub)
        await asyncio.to_thread(write, other, EventKind.ESCALATED, queue="billing")
        await asyncio.to_thread(write, other, EventKind.ASSIGNED)
        events = await pending
        assert [e.kind for e in events] == ["escalated", "assigned"]
        if not db.is_sqlite:
            assert hub.notifications >= 1
    finally:
        await hub.stop()
        other.dispose()


async def test_a_reconnecting_subscriber_resumes_after_its_last_event(db: Database) -> None:
    for kind in (EventKind.ESCALATED, EventKind.ASSIGNED, EventKind.NOTE):
        write(db, kind)
    hub = EventHub(db, poll_interval=0.05)
    try:
        await hub.start()
        first_id = await asyncio.to_thread(_first_id, db)
        resumed = await hub.subscribe(after=first_id)
        events = await next_events(resumed, 2)
        assert [e.kind for e in events] == ["assigned", "note"]
    finally:
        await hub.stop()


def _first_id(db: Database) -> int:
    from sqlalchemy import func, select

    from relaydesk.adapters.storage.tables import events

    with db.read() as conn:
        return int(conn.execute(select(func.min(events.c.id))).scalar_one())


async def test_a_slow_subscriber_is_dropped_not_the_hub(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05, max_backlog=3)
    try:
        slow = await hub.subscribe()  # registered, and never read until the end
        fast = await hub.subscribe()
        for _ in range(5):  # the fast one keeps up, event by event
            await asyncio.to_thread(write, db, EventKind.MESSAGE_IN)
            await next_events(fast, 1)
        # The slow stream gets what was queued before it fell behind, then ends instead of
        # holding the hub up; its browser would resume by Last-Event-ID.
        assert [e.kind async for e in slow] == ["message_in"] * 3
        assert hub.subscribers == 1
    finally:
        await hub.stop()


async def test_a_closed_subscription_is_no_longer_offered_events(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05)
    try:
        kept, closed = await hub.subscribe(), await hub.subscribe()
        assert hub.subscribers == 2
        await closed.aclose()
        assert hub.subscribers == 1
        await asyncio.to_thread(write, db, EventKind.NOTE)
        assert [e.kind for e in await next_events(kept, 1)] == ["note"]
        assert [e async for e in closed] == []
    finally:
        await hub.stop()


async def test_stopping_the_hub_ends_every_subscription_promptly(db: Database) -> None:
    """On PostgreSQL the LISTEN loop stops at its next tick instead of being cancelled
    (cancelling psycopg's wait for NOTIFY once hung a run), well within the 10 s the hub
    would wait before cancelling it anyway."""
    hub = EventHub(db, poll_interval=0.05)
    stream = await hub.subscribe()
    await listening(hub)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await hub.stop()
    assert loop.time() - started < 5
    assert not hub.running
    assert [e async for e in stream] == []


async def test_an_sse_stream_is_subscribed_once_it_says_connected(db: Database) -> None:
    """A script that writes right after `: connected` must see its event: the stream
    subscribes before it says so, not at its first read."""
    from relaydesk.app.http.sse import _stream

    async def everyone() -> Callable[[Event], bool]:
        return lambda event: True

    hub = EventHub(db, poll_interval=0.05)
    stream = cast(AsyncGenerator[str], _stream(hub, None, everyone, heartbeat=5.0))
    try:
        assert ": connected" in await anext(stream)
        await asyncio.to_thread(write, db, EventKind.ESCALATED)
        assert "event: escalated" in await asyncio.wait_for(anext(stream), 5)
    finally:
        await stream.aclose()
        await hub.stop()


async def test_an_event_committed_after_a_later_numbered_one_still_arrives(
    db: Database,
) -> None:
    """PostgreSQL draws an event's id at insert: a transaction holding the lower id that
    commits after a later one must not fall behind the hub's cursor."""
    if db.is_sqlite:
        pytest.skip("SQLite's writers commit one at a time, in id order")
    hub = EventHub(db, poll_interval=0.05)
    drawn, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with db.write() as conn:
            record(conn, EventKind.NOTE, now=NOW)  # draws the lower id, commits last
            drawn.set()
            assert release.wait(20)

    writer = threading.Thread(target=slow_writer)
    try:
        stream = await hub.subscribe()
        writer.start()
        assert await asyncio.to_thread(drawn.wait, 10)
        await asyncio.to_thread(write, db, EventKind.ESCALATED)
        (first,) = await next_events(stream, 1)
        assert first.kind == "escalated"  # the cursor is past the note's id now
        release.set()
        await asyncio.to_thread(writer.join, 10)
        (late,) = await next_events(stream, 1)
        assert (late.kind, late.id < first.id) == ("note", True)
        resumed = await hub.subscribe(after=late.id - 1)  # a backlog holding it: once
        await asyncio.to_thread(write, db, EventKind.RESOLVED)
        assert [e.kind for e in await next_events(resumed, 3)] == [
            "note",
            "escalated",
            "resolved",
        ]
    finally:
        release.set()
        writer.join(10)
        await hub.stop()


async def test_a_resumed_backlog_longer_than_a_page_is_read_whole(db: Database) -> None:
    for _ in range(620):  # more than one read's 500
        write(db, EventKind.MESSAGE_IN)
    hub = EventHub(db, poll_interval=0.05)
    try:
        await hub.start()
        first_id = await asyncio.to_thread(_first_id, db)
        resumed = await hub.subscribe(after=first_id)
        await asyncio.to_thread(write, db, EventKind.RESOLVED)
        events = await next_events(resumed, 620)
        assert len({e.id for e in events}) == 620
        assert events[-1].kind == "resolved"
    finally:
        await hub.stop()
