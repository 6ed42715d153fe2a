"""Warming the Insights' summary cache at start (`insights.warm`, `summaries.warm`, and
`create_app(warm_insights=True)`, which `relaydesk serve` uses), on SQLite and
PostgreSQL: the console's default period and the one its scorecard compares with are read
ahead of the first page, which then reads nothing in full; a period the cache cannot hold
is left out; a page that comes during a whole read waits for it instead of reading the
period a second time; a failure is logged and changes nothing."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy.exc import OperationalError

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.bootstrap import build
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF, Settings
from relaydesk.services import insights, summaries
from relaydesk.services.demo_seed import seed

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
PAGE = (("scorecard", None), ("cohorts", "source"), ("cohorts", "intent"),
        ("sla", "queue"), ("sla", "agent"), ("failures", None))  # fmt: skip


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


class FullReads:
    """Counts what `SummaryCache` reads in full (by period and by ids). With `gate`, the
    first read of that period sets `reading` and waits for `release` first."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, gate: tuple[datetime, datetime] | None = None
    ) -> None:
        self.periods: list[tuple[datetime, datetime]] = []
        self.ids: list[int] = []
        self.reading, self.release = threading.Event(), threading.Event()
        by_period, by_ids = summaries.store.read, summaries.store.read_ids

        def period(conn: Any, start: datetime, end: datetime) -> Any:
            self.periods.append((start, end))
            if (start, end) == gate and not self.reading.is_set():
                self.reading.set()
                assert self.release.wait(30)
            return by_period(conn, start, end)

        def ids(conn: Any, wanted: Any) -> Any:
            self.ids.extend(wanted)
            return by_ids(conn, wanted)

        monkeypatch.setattr(summaries.store, "read", period)
        monkeypatch.setattr(summaries.store, "read_ids", ids)


def default_and_before(brief: Brief) -> tuple[insights.Filters, insights.Filters]:
    current = insights.console_default(brief.timezone, NOW)
    before = current.before()
    assert before is not None
    return current, before


def test_the_console_default_is_the_last_seven_days_today_included(brief: Brief) -> None:
    current = insights.console_default(brief.timezone, NOW)
    local = NOW.astimezone(brief.timezone)
    assert current.end == datetime.combine(
        local.date() + timedelta(days=1), datetime.min.time(), brief.timezone
    )
    assert current.end - current.start == timedelta(days=7)
    assert current.start <= NOW < current.end


def test_after_warming_the_default_page_reads_nothing_in_full(
    db: Database, brief: Brief, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=3)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    current, before = default_and_before(brief)
    expected = {(n, by): insights.table(db, brief, n, current, NOW, by=by) for n, by in PAGE}
    cache = summaries.SummaryCache()
    reads = FullReads(monkeypatch)

    warmed = insights.warm(db, brief, cache, NOW)

    in_both = len(insights.facts(db, current)) + len(insights.facts(db, before))
    assert warmed == in_both == len(cache) > 100
    assert reads.periods == [(before.start, before.end), (current.start, current.end)]
    reads.periods.clear()
    page = insights.Tables(db, brief, current, NOW + timedelta(minutes=1), cache)
    later = {(n, by): page.rows(n, by=by) for n, by in PAGE}
    assert (reads.periods, reads.ids) == ([], [])  # checked by the narrow rows only
    assert later == {
        (n, by): insights.table(db, brief, n, current, NOW + timedelta(minutes=1), by=by)
        for n, by in PAGE
    }
    assert later.keys() == expected.keys()


def test_warming_leaves_out_what_the_cache_cannot_hold(
    db: Database, brief: Brief, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=3)
    current, before = default_and_before(brief)
    week = len(insights.facts(db, current))
    assert week > 50 and len(insights.facts(db, before)) > 50
    reads = FullReads(monkeypatch)

    room_for_one = summaries.SummaryCache(capacity=week + 10)
    assert insights.warm(db, brief, room_for_one, NOW) == week
    assert reads.periods == [(current.start, current.end)]  # the wanted one; not the other
    assert len(room_for_one) == week

    reads.periods.clear()
    too_small = summaries.SummaryCache(capacity=week - 1)
    assert insights.warm(db, brief, too_small, NOW) == 0
    assert reads.periods == [] and len(too_small) == 0  # nothing read to be thrown away


def test_a_page_during_the_warming_waits_for_it_instead_of_reading_twice(
    db: Database, brief: Brief, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    current, before = default_and_before(brief)
    expected = insights.summarised(db, brief, current, NOW)
    cache = summaries.SummaryCache()
    reads = FullReads(monkeypatch, gate=(current.start, current.end))
    got: list[Any] = []

    warming = threading.Thread(target=insights.warm, args=(db, brief, cache, NOW))
    warming.start()
    assert reads.reading.wait(30)  # the warming is reading the current period whole
    page = threading.Thread(
        target=lambda: got.append(insights.summarised(db, brief, current, NOW, cache))
    )
    page.start()
    time.sleep(0.3)  # the page has come to the read (without the wait: it reads too)
    reads.release.set()
    page.join(30)
    warming.join(30)

    assert got == [expected]
    assert reads.periods == [(before.start, before.end), (current.start, current.end)]
    assert reads.ids == []  # the page found everything held


async def test_serve_warms_the_cache_at_start_and_a_failure_changes_nothing(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    from relaydesk.app.http.main import create_app

    container = build(make_settings(), base_url="http://testserver", migrate=True)
    now = datetime.now(UTC)
    seed(container.db, container.brief, conversations_wanted=120, now=now, weeks=2)
    app = create_app(container, warm_insights=True, clock=lambda: now)
    with structlog.testing.capture_logs() as logs:
        async with app.router.lifespan_context(app):
            for _ in range(200):
                if any(e["event"] == "insights_cache_warmed" for e in logs):
                    break
                await _sleep(0.05)
    warmed = next(e for e in logs if e["event"] == "insights_cache_warmed")
    assert warmed["conversations"] == len(container.insights_cache) > 20

    def down(*_: Any) -> int:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(insights, "warm", down)
    again = build(make_settings(), base_url="http://testserver", migrate=False)
    app = create_app(again, warm_insights=True, clock=lambda: now)
    with structlog.testing.capture_logs() as logs:
        async with app.router.lifespan_context(app):
            await _sleep(0.2)
    assert {"event": "insights_cache_warm_failed", "error": "OperationalError",
            "log_level": "warning"} in logs  # fmt: skip
    assert len(again.insights_cache) == 0

    plain = build(make_settings(), base_url="http://testserver", migrate=False)
    app = create_app(plain, clock=lambda: now)
    async with app.router.lifespan_context(app):
        await _sleep(0.2)
    assert len(plain.insights_cache) == 0  # only serve warms


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def test_serve_freezes_the_warmed_summaries_and_unfreezes_at_shutdown(
    make_settings: Callable[..., Settings],
) -> None:
    """`freeze_gc` (serve's): after the warming, full collections skip what is alive
    (the warmed summaries among it); nothing stays frozen after the app stops (a test
    process makes many apps). Without it nothing is frozen."""
    from relaydesk.app.http.main import create_app

    now = datetime.now(UTC)
    for freeze in (False, True):
        container = build(make_settings(), base_url="http://testserver", migrate=True)
        if not freeze:
            seed(container.db, container.brief, conversations_wanted=60, now=now, weeks=1)
        app = create_app(container, warm_insights=True, freeze_gc=freeze, clock=lambda: now)
        assert gc.get_freeze_count() == 0
        with structlog.testing.capture_logs() as logs:
            async with app.router.lifespan_context(app):
                for _ in range(200):
                    if any(e["event"] == "insights_cache_warmed" for e in logs):
                        break
                    await _sleep(0.05)
                await _sleep(0.05)  # the freeze comes right after the log line
                assert len(container.insights_cache) > 20
                assert (gc.get_freeze_count() > 1000) is freeze
        assert gc.get_freeze_count() == 0
