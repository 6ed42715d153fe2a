"""The event hub on both databases: events written beside a change reach subscribers once
the change commits (never when it rolls back), across processes (a second `Database`
stands in for another server process; on PostgreSQL through LISTEN/NOTIFY), and a
reconnecting subscriber resumes after its Last-Event-ID."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

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


async def test_a_committed_event_reaches_every_subscriber(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05)
    try:
        first, second = hub.subscribe(), hub.subscribe()
        waiting = asyncio.gather(next_events(first, 1), next_events(second, 1))
        await asyncio.sleep(0.2)  # both subscribed
        await asyncio.to_thread(write, db, EventKind.ESCALATED, queue="orders")
        (one,), (two,) = await waiting
        assert one == two
        assert one.kind == "escalated"
        assert one.detail == {"queue": "orders"}
    finally:
        await hub.stop()


async def test_a_rolled_back_change_emits_nothing(db: Database) -> None:
    hub = EventHub(db, poll_interval=0.05)
    try:
        stream = hub.subscribe()
        pending = asyncio.ensure_future(next_events(stream, 1))
        await asyncio.sleep(0.2)

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
        stream = hub.subscribe()
        pending = asyncio.ensure_future(next_events(stream, 2, timeout=10.0))
        await asyncio.sleep(0.5)  # subscribed, and on PostgreSQL listening
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
        resumed = hub.subscribe(after=first_id)
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
        slow = hub.subscribe()
        fast = hub.subscribe()
        started = asyncio.ensure_future(anext(slow))  # registers, then never reads again
        await asyncio.sleep(0.2)
        for _ in range(5):  # the fast one keeps up, event by event
            await asyncio.to_thread(write, db, EventKind.MESSAGE_IN)
            await next_events(fast, 1)
        await started
        # The slow stream gets what was queued before it fell behind, then ends instead of
        # holding the hub up; its browser would resume by Last-Event-ID.
        assert [e.kind async for e in slow] == ["message_in"] * 3
        assert hub.subscribers == 1
    finally:
        await hub.stop()
