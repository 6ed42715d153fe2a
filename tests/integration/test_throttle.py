"""The sign-in throttle on both databases: attempts counted atomically under parallel
load, the window, a success clearing the count, and old attempts forgotten."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import login_attempts
from relaydesk.services.throttle import LoginThrottle, account_key

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = account_key("ana@example.com", "test-secret")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def admit(db: Database, throttle: LoginThrottle, now: datetime, key: str = KEY) -> timedelta | None:
    with db.write() as conn:
        return throttle.admit(conn, key, now)


def count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(login_attempts)).scalar_one())


def test_parallel_attempts_admit_exactly_the_limit(db: Database, database_url: str) -> None:
    second = Database(database_url)  # another engine: as another process would
    throttle = LoginThrottle(limit=5)
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            waits = list(pool.map(lambda n: admit((db, second)[n % 2], throttle, T0), range(60)))
    finally:
        second.dispose()
    assert sum(wait is None for wait in waits) == 5
    assert {wait for wait in waits if wait is not None} == {timedelta(minutes=15)}
    assert count(db) == 5


def test_the_window_and_a_success(db: Database) -> None:
    throttle = LoginThrottle(limit=2, window=timedelta(minutes=10))
    assert admit(db, throttle, T0) is None
    assert admit(db, throttle, T0 + timedelta(minutes=1)) is None
    assert admit(db, throttle, T0 + timedelta(minutes=4)) == timedelta(minutes=6)
    assert admit(db, throttle, T0 + timedelta(minutes=4), key="other") is None  # per account
    assert admit(db, throttle, T0 + timedelta(minutes=10)) is None  # the first aged out
    with db.write() as conn:
        throttle.succeeded(conn, KEY)
    later = T0 + timedelta(minutes=10)
    assert [admit(db, throttle, later) for _ in range(3)] == [None, None, timedelta(minutes=10)]


def test_attempts_older_than_the_window_are_forgotten(db: Database) -> None:
    throttle = LoginThrottle(limit=5, window=timedelta(minutes=15))
    for n in range(20):
        admit(db, throttle, T0, key=f"k{n}")
    assert count(db) == 20
    admit(db, throttle, T0 + timedelta(minutes=15), key="later")
    assert count(db) == 1
