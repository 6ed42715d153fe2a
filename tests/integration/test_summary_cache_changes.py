"""A warm `SummaryCache` reads only the conversations stamped since its last read
(migration 0016's `live_seq`), on SQLite and PostgreSQL: what the triggers stamp, that a
page then neither checks every row nor reads unchanged ones, and that the changes the
stamps must not miss (the customer's next conversation started, deleted or moved, a
conversation deleted) still show in the next read. The figures from the cache are
compared with the figures from facts, as in `test_metrics_summaries`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from relaydesk.adapters.storage import summaries as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, customers, messages
from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.services import insights, summaries
from relaydesk.services.demo_seed import seed
from tests.integration.test_metrics_summaries import NOW, from_facts, from_summaries


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def _stamp(db: Database, cid: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(conversations.c.live_seq).where(conversations.c.id == cid)
            ).scalar_one()
        )


def _mark(db: Database) -> int:
    with db.read(snapshot=True) as conn:
        return store.mark(conn)


def _conversation(customer: int, at: datetime) -> dict[str, Any]:
    """A resolved conversation (a customer has one open conversation at most)."""
    return {"customer_id": customer, "phone_number_id": "100000000000001",
            "status": "resolved", "resolved_at": at, "created_at": at,
            "updated_at": at}  # fmt: skip


def test_the_triggers_stamp_what_the_figures_read(db: Database) -> None:
    with db.write() as conn:
        customer = conn.execute(
            insert(customers).values(wa_id="15550001", created_at=NOW, updated_at=NOW)
        ).inserted_primary_key[0]
        first = conn.execute(
            insert(conversations).values(**_conversation(customer, NOW - timedelta(days=3)))
        ).inserted_primary_key[0]
    # On PostgreSQL a mark is the oldest transaction still running anywhere in the
    # cluster (other test workers' too): what was stamped before it may still be at or
    # after it (read again, harmlessly), so "nothing since the mark" is SQLite's check.
    exact = db.is_sqlite
    mark, before = _mark(db), _stamp(db, first)
    assert _stamp(db, first) < mark or not exact
    with db.write() as conn:  # the customer's next conversation: the first's next_at moves
        second = conn.execute(
            insert(conversations).values(**_conversation(customer, NOW - timedelta(days=1)))
        ).inserted_primary_key[0]
    assert _stamp(db, first) >= mark and _stamp(db, second) >= mark
    assert _stamp(db, first) != before
    for change in (
        update(conversations).where(conversations.c.id == first).values(csat_rating=3),
        insert(messages).values(  # a message: facts_rev moves
            conversation_id=first, direction="in", type="text", text="hi", payload={},
            sent_at=NOW, created_at=NOW),
        delete(conversations).where(conversations.c.id == second),  # first's next is gone
    ):  # fmt: skip
        mark, before = _mark(db), _stamp(db, first)
        with db.write() as conn:
            conn.execute(change)
        assert _stamp(db, first) >= mark, change
        assert _stamp(db, first) != before, change
    mark = _mark(db)
    with db.read(snapshot=True) as conn:
        assert store.changes(conn, NOW - timedelta(days=7), NOW, mark).rows == [] or not exact
    with db.write() as conn:
        conn.execute(update(conversations).where(conversations.c.id == first).values(queue="x"))
    with db.read(snapshot=True) as conn:
        found = store.changes(conn, NOW - timedelta(days=7), NOW, mark)
        rows, total = found.rows, found.total
        assert [row[0] for row in rows or []] == [first]
        assert total == 1 and found.id_sum == first
        earlier = store.changes(conn, NOW - timedelta(days=30), NOW - timedelta(days=7), mark)
        assert earlier.rows == []


def test_a_warm_page_reads_only_the_stamped_conversations(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    cache = summaries.SummaryCache()
    first = insights.summarised(db, brief, filters, NOW, cache)  # read whole
    calls: list[str] = []
    for name in ("live", "read", "read_ids", "changes"):
        real = getattr(store, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(store, name, counted)
    assert insights.summarised(db, brief, filters, NOW, cache) == first
    assert calls == ["changes"]  # no row checked, nothing read in full
    calls.clear()
    fact, live = first[0], first[1]
    with db.write() as conn:
        conn.execute(
            insert(messages).values(
                conversation_id=fact.id,
                direction="in",
                type="text",
                text="again",
                payload={},
                sent_at=NOW - timedelta(seconds=1),
                created_at=NOW - timedelta(seconds=1),
            )
        )
        conn.execute(
            update(conversations).where(conversations.c.id == live.id).values(feedback="needed")
        )  # fmt: skip
    again = insights.summarised(db, brief, filters, NOW, cache)
    assert calls == ["changes", "read_ids"]
    assert next(c for c in again if c.id == live.id).feedback == "needed"
    assert next(c for c in again if c.id == fact.id).messages == fact.messages + 1
    assert from_summaries(db, brief, filters, NOW, cache) == from_facts(db, brief, filters, NOW)


def _returning(db: Database, filters: insights.Filters) -> tuple[Any, Any]:
    """Two conversations of one customer in the period, the second the first's next."""
    convs = insights.facts(db, filters)
    by_id = {c.id: c for c in convs}
    for c in convs:
        later = [d for d in convs if d.customer_id == c.customer_id and d.created_at > c.created_at]
        if later and c.next_conversation_at == min(d.created_at for d in later):
            nxt = min(later, key=lambda d: d.created_at)
            return by_id[c.id], nxt
    raise AssertionError("the seed has no returning customer in the period")


def _agrees(db: Database, brief: Any, filters: insights.Filters, cache: Any) -> bool:
    """The cache gives the figures from facts, and each conversation's next one."""
    nexts = {c.id: c.next_conversation_at for c in insights.facts(db, filters)}
    held = insights.summarised(db, brief, filters, NOW, cache)
    return {c.id: c.next_conversation_at for c in held} == nexts and from_summaries(
        db, brief, filters, NOW, cache
    ) == from_facts(db, brief, filters, NOW)


def test_the_changes_a_stamp_must_not_miss_show_in_the_next_read(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=400, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=14), NOW)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    cache = summaries.SummaryCache()
    assert _agrees(db, brief, filters, cache)
    earlier, later = _returning(db, filters)
    with db.write() as conn:  # a next conversation between the two: the earlier's moves
        conn.execute(
            insert(conversations).values(
                **_conversation(earlier.customer_id, earlier.created_at + timedelta(minutes=1))
            )
        )
    assert _agrees(db, brief, filters, cache)
    earlier, later = _returning(db, filters)
    with db.write() as conn:  # the next conversation moved to another customer
        other = conn.execute(
            insert(customers).values(wa_id="15550002", created_at=NOW, updated_at=NOW)
        ).inserted_primary_key[0]
        conn.execute(
            update(conversations).where(conversations.c.id == later.id).values(customer_id=other)
        )
    assert _agrees(db, brief, filters, cache)
    earlier, later = _returning(db, filters)
    with db.write() as conn:  # the customer's next conversation erased
        conn.execute(delete(conversations).where(conversations.c.id == later.id))
    assert _agrees(db, brief, filters, cache)
    assert _agrees(db, brief, filters, None)


def test_a_cache_that_dropped_conversations_checks_every_row_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    week = len(insights.facts(db, filters))
    cache = summaries.SummaryCache(capacity=week + 5)  # one week, not two
    assert from_summaries(db, brief, filters, NOW, cache) == from_facts(db, brief, filters, NOW)
    checked: list[int] = []
    live = store.live

    def counted(conn: Any, start: datetime, end: datetime) -> Any:
        rows = live(conn, start, end)
        checked.append(len(rows))
        return rows

    monkeypatch.setattr(store, "live", counted)
    assert from_summaries(db, brief, filters, NOW, cache) == from_facts(db, brief, filters, NOW)
    assert checked  # the previous week pushed some of this one out: rows checked again


def _customer(conn: Any, wa_id: str) -> int:
    return int(
        conn.execute(
            insert(customers).values(wa_id=wa_id, created_at=NOW, updated_at=NOW)
        ).inserted_primary_key[0]
    )


def _short(convs: Any) -> list[tuple[int, Any, Any]]:
    return [(c.id, c.csat_rating, c.feedback) for c in convs]


def test_deleting_the_latest_stamped_conversation_hides_no_later_change(db: Database) -> None:
    """The stamps never go back: the conversation stamped last (another period's) is
    deleted, then one of the period changes; the next read shows the change."""
    brief = load_brief(EXAMPLE_BRIEF)
    start, end = NOW - timedelta(days=7), NOW
    with db.write() as conn:
        mine = conn.execute(
            insert(conversations).values(
                **_conversation(_customer(conn, "1"), NOW - timedelta(days=3))
            )
        ).inserted_primary_key[0]
        elsewhere = conn.execute(
            insert(conversations).values(
                **_conversation(_customer(conn, "2"), NOW - timedelta(days=40))
            )
        ).inserted_primary_key[0]
        conn.execute(update(conversations).where(conversations.c.id == elsewhere).values(queue="x"))
    cache = summaries.SummaryCache()
    for _ in range(2):  # read whole, then by its changes
        summaries.read(db, brief, start, end, NOW, cache)
    with db.write() as conn:
        conn.execute(delete(conversations).where(conversations.c.id == elsewhere))
        conn.execute(
            update(conversations)
            .where(conversations.c.id == mine)
            .values(csat_rating=1, feedback="needed")
        )
    cached = summaries.read(db, brief, start, end, NOW, cache)
    assert (
        _short(cached)
        == _short(summaries.read(db, brief, start, end, NOW))
        == [(mine, 1, "needed")]
    )


def test_a_failed_page_and_a_deleted_conversation_leave_no_ghost(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deleted conversation is forgotten; a page that fails before keeping what it
    read leaves the period to be checked again; the pages after read only changes."""
    brief = load_brief(EXAMPLE_BRIEF)
    start, end = NOW - timedelta(days=7), NOW

    def new(conn: Any, n: int) -> int:
        at = NOW - timedelta(days=3, hours=-n)
        return int(
            conn.execute(
                insert(conversations).values(**_conversation(_customer(conn, str(n)), at))
            ).inserted_primary_key[0]
        )

    with db.write() as conn:
        first, *_ = [new(conn, n) for n in range(3)]
    cache = summaries.SummaryCache()
    for _ in range(2):
        summaries.read(db, brief, start, end, NOW, cache)
    with db.write() as conn:
        conn.execute(delete(conversations).where(conversations.c.id == first))
    summaries.read(db, brief, start, end, NOW, cache)  # the count disagrees: every row checked
    with db.write() as conn:
        added = new(conn, 10)

    def fails(*_: Any) -> Any:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(summaries.facts_store, "load_ids", fails)
        with pytest.raises(RuntimeError):
            summaries.read(db, brief, start, end, NOW, cache)
    cached = summaries.read(db, brief, start, end, NOW, cache)
    expected = [c.id for c in summaries.read(db, brief, start, end, NOW)]
    assert [c.id for c in cached] == expected
    assert first not in expected and added in expected
    calls: list[str] = []
    for name in ("live", "read", "changes"):
        real = getattr(summaries.store, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(summaries.store, name, counted)
    assert [c.id for c in summaries.read(db, brief, start, end, NOW, cache)] == expected
    assert calls == ["changes"]  # no ghost left to make the count disagree
