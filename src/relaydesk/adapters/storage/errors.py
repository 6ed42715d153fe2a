"""What a failed write means: retry it, wait for the database, or skip what was written.

A webhook must be answered 5xx (WhatsApp redelivers it) only when a retry can succeed: the
database is unreachable or out of resources, or the transaction lost a deadlock or
serialisation race. A value the database refuses (a unique key, a NUL byte, a lone
surrogate, a number too large) fails the same way on every redelivery, so it is permanent.
"""

from __future__ import annotations

import enum

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class Failure(enum.StrEnum):
    TRANSIENT = "transient"  #: lost a race; run the same transaction again
    UNAVAILABLE = "unavailable"  #: the database is down or out of resources; answer 503
    PERMANENT = "permanent"  #: this content can never be stored; skip it


class RaceLost(RuntimeError):
    """A write lost a race with concurrent writers more often than it retries in place;
    running the transaction again resolves it."""


_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
# connection exception, insufficient resources, operator intervention (shutdown, cancel),
# system error; and lock_not_available.
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_UNAVAILABLE_SQLSTATES = frozenset({"55P03"})


def classify(error: BaseException) -> Failure:
    """Whether a write that raised `error` may succeed if tried again."""
    if isinstance(error, PoolTimeoutError | DisconnectionError):
        return Failure.UNAVAILABLE
    if isinstance(error, RaceLost):
        return Failure.TRANSIENT
    if not isinstance(error, DBAPIError):
        return Failure.PERMANENT  # e.g. UnicodeEncodeError, OverflowError while binding
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return Failure.TRANSIENT
    if error.connection_invalidated:
        return Failure.UNAVAILABLE
    if sqlstate is not None:
        unavailable = sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_SQLSTATES
        return Failure.UNAVAILABLE if unavailable else Failure.PERMANENT
    # No SQLSTATE: a client-side connection failure, or SQLite (locked, I/O error, full).
    if isinstance(error, OperationalError | InterfaceError):
        return Failure.UNAVAILABLE
    return Failure.PERMANENT
