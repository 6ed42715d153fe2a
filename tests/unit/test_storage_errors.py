"""Which failed writes are retried, which mean the database is down, which are permanent."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from relaydesk.adapters.storage.errors import Failure, RaceLost, classify


class PgError(Exception):
    """Stands in for a psycopg error: only its SQLSTATE matters here."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(kind: type[DBAPIError], orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    return kind("INSERT ...", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (wrapped(OperationalError, PgError("40P01")), Failure.TRANSIENT),  # deadlock
        (wrapped(OperationalError, PgError("40001")), Failure.TRANSIENT),  # serialization
        (wrapped(OperationalError, PgError("08006")), Failure.UNAVAILABLE),  # connection lost
        (wrapped(OperationalError, PgError("57P01")), Failure.UNAVAILABLE),  # admin shutdown
        (wrapped(OperationalError, PgError("53100")), Failure.UNAVAILABLE),  # disk full
        (wrapped(OperationalError, PgError("55P03")), Failure.UNAVAILABLE),  # lock timeout
        (wrapped(OperationalError, PgError(None)), Failure.UNAVAILABLE),  # connection refused
        (wrapped(InterfaceError, PgError(None)), Failure.UNAVAILABLE),
        (wrapped(DBAPIError, PgError("XX000"), invalidated=True), Failure.UNAVAILABLE),
        (wrapped(IntegrityError, PgError("23505")), Failure.PERMANENT),  # unique key
        (wrapped(DataError, PgError("22021")), Failure.PERMANENT),  # NUL in text
        (wrapped(DataError, PgError("22003")), Failure.PERMANENT),  # 2**63 out of range
        (wrapped(OperationalError, PgError("54000")), Failure.PERMANENT),  # program limit
        (
            wrapped(OperationalError, sqlite3.OperationalError("database is locked")),
            Failure.UNAVAILABLE,
        ),
        (wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE failed")), Failure.PERMANENT),
        (wrapped(ProgrammingError, sqlite3.ProgrammingError("bind")), Failure.PERMANENT),
        (PoolTimeoutError("QueuePool limit reached"), Failure.UNAVAILABLE),
        (RaceLost("customer upsert lost a race three times"), Failure.TRANSIENT),
        (UnicodeEncodeError("utf-8", "\ud83d", 0, 1, "surrogates not allowed"), Failure.PERMANENT),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), Failure.PERMANENT),
        (ValueError("sender has neither wa_id nor user_id"), Failure.PERMANENT),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_failures_are_classified(error: BaseException, expected: Failure) -> None:
    assert classify(error) is expected
