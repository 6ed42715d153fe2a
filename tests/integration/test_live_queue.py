"""The live queue a handoff reads (`services.handoff.LiveQueue`): its position is the one
routing order gives over every waiting conversation (what it read before, one row each),
on both databases, while a handoff no longer reads the queue's rows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, update

from relaydesk.adapters.storage import handoff as queries
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, customers
from relaydesk.brief import EXAMPLE_BRIEF
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import PRIORITIES, Brief
from relaydesk.domain import handoff
from relaydesk.domain.conversation import window_expires_at
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.policy import HandoffDraft
from relaydesk.domain.routing import Waiting
from relaydesk.services.handoff import IN_FLIGHT, QUEUE_TTL, LiveQueue

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=3)


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()


def add(
    conn: Connection,
    cid: int,
    *,
    status: str = "queued",
    queue: str = "general",
    priority: str | None = "P3",
    queued_at: datetime | None = None,
    last_inbound_at: datetime | None = None,
) -> None:
    conn.execute(customers.insert().values(id=cid, created_at=LONG_AGO, updated_at=LONG_AGO))
    conn.execute(
        conversations.insert().values(
            id=cid,
            customer_id=cid,
            phone_number_id="1",
            status=status,
            queue=queue,
            priority=priority,
            queued_at=queued_at,
            last_inbound_at=last_inbound_at,
            created_at=LONG_AGO + timedelta(minutes=cid % 97),
            updated_at=LONG_AGO,
        )
    )


def draft(priority: str, queue: str = "general") -> HandoffDraft:
    return HandoffDraft(queue, priority, (), DialogueState())


def reference(
    conn: Connection, cid: int, priority: str, window_from: datetime, now: datetime
) -> int:
    """The position as the live queue worked it out before: every waiting row, in order."""
    ahead = [
        Waiting(
            conversation_id=row.id,
            queue="general",
            priority=row.priority if row.priority in PRIORITIES else priority,  # type: ignore[arg-type]
            queued_at=row.queued_at,
            window_closes_at=window_expires_at(row.last_inbound_at),
        )
        for row in queries.queued_in(conn, "general")
        if row.id != cid
    ]
    joining = Waiting(
        cid, "general", priority, now, window_closes_at=window_expires_at(window_from)
    )  # type: ignore[arg-type]
    return handoff.position_in_queue(ahead, joining, now)


def random_queue(conn: Connection, rng: random.Random, count: int) -> None:
    """Conversations of every kind the order cares about: all priorities (and none, or
    one routing does not know), windows closing soon, closed or unknown, queued long ago,
    just now or with no queued_at; and some that are not waiting in this queue."""
    for cid in range(1, count + 1):
        queued_at = rng.choice(
            [
                None,
                NOW - timedelta(minutes=rng.randint(1, 3000)),
                NOW - timedelta(seconds=rng.randint(0, 8)),
                NOW + timedelta(seconds=rng.randint(0, 20)),
            ]
        )
        last_inbound_at = rng.choice(
            [
                None,
                NOW - timedelta(minutes=rng.randint(0, 1500)),
                NOW - timedelta(hours=22) + timedelta(seconds=rng.randint(-30, 30)),
                NOW - timedelta(hours=24) + timedelta(seconds=rng.randint(-30, 30)),
            ]
        )
        add(
            conn,
            cid,
            status=rng.choice(["queued"] * 6 + ["assigned", "bot", "resolved"]),
            queue=rng.choice(["general"] * 4 + ["billing"]),
            priority=rng.choice([*PRIORITIES, None, "X9"]),
            queued_at=queued_at,
            last_inbound_at=last_inbound_at,
        )


def test_the_position_is_routing_order_over_every_waiting_row(db: Database, brief: Brief) -> None:
    rng = random.Random(8)
    with db.write() as conn:
        random_queue(conn, rng, 300)
    shared = LiveQueue(brief)
    with db.write() as conn:
        for i in range(60):
            cid, priority = 1000 + i, rng.choice(PRIORITIES)
            now = NOW + timedelta(seconds=rng.randint(0, 9))
            window_from = now - rng.choice(
                [timedelta(0), timedelta(hours=22, minutes=30), timedelta(hours=23, minutes=59)]
            )
            expected = reference(conn, cid, priority, window_from, now)
            fresh = LiveQueue(brief).snapshot(conn, cid, draft(priority), window_from, now)
            reused = shared.snapshot(conn, cid, draft(priority), window_from, now)
            assert (fresh.position, reused.position) == (expected, expected), i
            # the caller queues it (finish_inbound); the shared tally recorded it already
            add(conn, cid, priority=priority, queued_at=now, last_inbound_at=window_from)


def test_queue_rows_split_the_queue_without_losing_one(db: Database) -> None:
    with db.write() as conn:
        random_queue(conn, random.Random(3), 200)
    with db.read() as conn:
        rows = queries.queue_rows(
            conn,
            "general",
            queued_before=NOW - IN_FLIGHT,
            closed_by=NOW - IN_FLIGHT - timedelta(hours=24),
            open_after=NOW + QUEUE_TTL - timedelta(hours=22),
        )
        every = queries.queued_in(conn, "general")
    assert sum(rows.settled.values()) + len(rows.others) == len(every)
    assert {r.id for r in rows.others} <= {r.id for r in every}
    assert rows.settled and rows.others  # this queue has both kinds


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_handoff_within_the_ttl_reads_no_queue_row(db: Database, brief: Brief) -> None:
    with db.write() as conn:
        for cid in range(1, 501):
            add(conn, cid, queued_at=NOW - timedelta(minutes=cid), last_inbound_at=NOW)
    queue = LiveQueue(brief)
    with db.write() as conn:
        assert queue.snapshot(conn, 1001, draft("P3"), NOW, NOW).position == 500
        with statements(db) as seen:
            later = NOW + timedelta(seconds=1)
            second = queue.snapshot(conn, 1002, draft("P3"), later, later)
        assert second.position == 501  # the first joiner was recorded as it joined
        assert len(seen) == 1 and "users" in seen[0]  # the online agents, nothing else


def test_a_join_that_never_committed_is_forgotten_at_the_next_read(
    db: Database, brief: Brief
) -> None:
    queue = LiveQueue(brief)
    with db.write() as conn:
        add(conn, 1, queued_at=NOW - timedelta(minutes=5), last_inbound_at=NOW)
    with db.read() as conn:  # a transaction that rolls back: 7 never joins
        assert queue.snapshot(conn, 7, draft("P3"), NOW, NOW).position == 1
    with db.write() as conn:
        soon = NOW + timedelta(seconds=2)
        assert queue.snapshot(conn, 8, draft("P3"), soon, soon).position == 2
        conn.execute(update(conversations).where(conversations.c.id == 1).values(status="assigned"))
    # read again after the ttl: 1 was assigned meanwhile, 7 and 8 were never stored
    later = NOW + QUEUE_TTL + IN_FLIGHT + timedelta(seconds=1)
    with db.read() as conn:
        assert queue.snapshot(conn, 9, draft("P3"), later, later).position == 0


def test_the_tally_is_read_from_the_index_alone_on_sqlite(tmp_path: Any, brief: Brief) -> None:
    db = Database(f"sqlite:///{tmp_path / 'relaydesk.sqlite'}")
    try:
        upgrade(db.engine)
        captured: list[tuple[str, Any]] = []

        def record(*args: Any) -> None:
            captured.append((args[2], args[3]))

        with db.read() as conn:
            event.listen(db.engine, "before_cursor_execute", record)
            try:
                queries.queue_rows(
                    conn, "general", queued_before=NOW, closed_by=NOW, open_after=NOW
                )
            finally:
                event.remove(db.engine, "before_cursor_execute", record)
            plans = [
                " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", p))
                for sql, p in captured
                if sql.startswith("SELECT")  # not the BEGIN of the read
            ]
    finally:
        db.dispose()
    assert len(plans) == 2
    assert "USING COVERING INDEX ix_conversations_queued" in plans[0]  # the counts
    assert "USING INDEX ix_conversations_queued" in plans[1]  # the few one by one
