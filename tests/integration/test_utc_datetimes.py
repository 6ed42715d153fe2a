"""`tables.UtcDateTime` reads back what was written as an aware UTC datetime, on both
databases; on SQLite its fast text parse gives exactly what the general path gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from relaydesk.adapters.storage.db import SQLITE_MMAP_BYTES, Database
from relaydesk.adapters.storage.tables import UtcDateTime

_meta = MetaData()
stamps = Table(
    "utc_stamps", _meta, Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
)

WRITTEN = [
    datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
    datetime(2026, 12, 6, 10, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 6, 12, 30, tzinfo=timezone(timedelta(hours=2))),  # stored as 10:30 UTC
    datetime(1970, 1, 1, tzinfo=UTC),
    None,
]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    _meta.create_all(database.engine)
    try:
        yield database
    finally:
        database.dispose()


def test_aware_datetimes_read_back_equal_and_in_utc(db: Database) -> None:
    with db.write() as conn:
        conn.execute(insert(stamps), [{"id": i, "at": at} for i, at in enumerate(WRITTEN)])
    with db.read() as conn:
        read = conn.execute(select(stamps.c.at).order_by(stamps.c.id)).scalars().all()
    assert read == WRITTEN
    assert all(at is None or at.tzinfo is UTC for at in read)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.write() as conn:
        conn.execute(insert(stamps), {"id": 1, "at": datetime(2026, 12, 6, 10, 0)})
    with db.read() as conn:
        assert conn.execute(select(stamps.c.id)).all() == []


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-06 10:00:00.000000",  # SQLAlchemy's own format
        "2026-12-06 10:00:00",  # CURRENT_TIMESTAMP, as the migrations' triggers write it
        "2026-12-06T10:00:00.123456",
        "2026-12-06",  # a bare date: 3.11's fromisoformat drops the appended offset
        "2026-12-06 10:00:00+02:00",  # text written with its own offset
    ],
)
def test_sqlite_fast_parse_matches_the_general_path(stored: str) -> None:
    dialect = sqlite.dialect()
    column_type = UtcDateTime().dialect_impl(dialect)  # as a statement's compilation has it
    fast = column_type.result_processor(dialect, None)
    general = TypeDecorator.result_processor(column_type, dialect, None)
    assert fast is not None and general is not None and fast is not general
    assert fast(stored) == general(stored)
    assert fast(stored).tzinfo is not None
    assert fast(None) is None


def test_sqlite_text_written_by_sql_reads_back_aware(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/stamps.sqlite")
    _meta.create_all(database.engine)
    try:
        with database.write() as conn:
            conn.execute(text("INSERT INTO utc_stamps (id, at) VALUES (1, CURRENT_TIMESTAMP)"))
        with database.read() as conn:
            (at,) = conn.execute(select(stamps.c.at)).scalars().all()
            mmap = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
        assert at.tzinfo is UTC
        assert abs(at - datetime.now(UTC)) < timedelta(minutes=5)
        assert mmap == SQLITE_MMAP_BYTES
    finally:
        database.dispose()
