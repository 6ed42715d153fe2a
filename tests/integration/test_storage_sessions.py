"""The console sessions' storage adapter (`adapters.storage.sessions`) on SQLite and
PostgreSQL: a session found by its token's hash with its user, kept alive, ended one by
one, all of a user's, and purged once expired."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Connection, select

from relaydesk.adapters.storage import sessions
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.sessions import Ended, StoredSession
from relaydesk.adapters.storage.tables import console_sessions
from tests.integration.storage_rows import NOW, stored, user

IDLE = timedelta(hours=8)
LATER = NOW + timedelta(minutes=30)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def start(conn: Connection, user_id: int, token_hash: str, *, idle: timedelta = IDLE) -> int:
    return sessions.insert(
        conn,
        token_hash=token_hash,
        user_id=user_id,
        csrf_token=f"csrf-{token_hash}",
        now=NOW,
        expires_at=NOW + idle,
    )


def remaining(db: Database) -> list[int]:
    with db.read() as conn:
        return sorted(conn.execute(select(console_sessions.c.id)).scalars())


def test_a_session_is_found_by_hash_with_its_user(db: Database) -> None:
    someone = user(db, "Ana", email="ana@example.com", role="admin", presence="away")
    with db.write() as conn:
        session_id = start(conn, someone, "h1")
    with db.read() as conn:
        found = sessions.by_token_hash(conn, "h1")
        unknown = sessions.by_token_hash(conn, "h2")
    assert found == StoredSession(
        id=session_id,
        csrf_token="csrf-h1",
        expires_at=NOW + IDLE,
        last_seen_at=NOW,
        user_id=someone,
        email="ana@example.com",
        name="Ana",
        role="admin",
        active=True,
        presence="away",
    )
    assert unknown is None
    assert stored(db, console_sessions, session_id).created_at == NOW


def test_expired_sessions_and_deactivated_users_are_still_found(db: Database) -> None:
    """Whether they still sign anybody in is the service's rule."""
    gone = user(db, active=False)
    with db.write() as conn:
        start(conn, gone, "expired", idle=timedelta(0))
    with db.read() as conn:
        found = sessions.by_token_hash(conn, "expired")
    assert found is not None
    assert (found.active, found.expires_at) == (False, NOW)


def test_touch_moves_only_that_sessions_expiry(db: Database) -> None:
    someone = user(db)
    with db.write() as conn:
        kept, other = start(conn, someone, "a"), start(conn, someone, "b")
        sessions.touch(conn, kept, LATER, LATER + IDLE)
    row = stored(db, console_sessions, kept)
    assert (row.last_seen_at, row.expires_at, row.created_at) == (LATER, LATER + IDLE, NOW)
    untouched = stored(db, console_sessions, other)
    assert (untouched.last_seen_at, untouched.expires_at) == (NOW, NOW + IDLE)


def test_deleting_by_hash_ends_one_session_once(db: Database) -> None:
    someone = user(db)
    with db.write() as conn:
        ended, kept = start(conn, someone, "a"), start(conn, someone, "b")
        first = sessions.delete_by_token_hash(conn, "a")
        again = sessions.delete_by_token_hash(conn, "a")
        unknown = sessions.delete_by_token_hash(conn, "zzz")
    assert first == Ended(ended, someone)
    assert (again, unknown) == (None, None)
    assert remaining(db) == [kept]


def test_ending_a_users_sessions_leaves_the_others(db: Database) -> None:
    ana, bob = user(db), user(db)
    with db.write() as conn:
        start(conn, ana, "a1")
        start(conn, ana, "a2")
        bobs = start(conn, bob, "b1")
        ended = sessions.end_for_user(conn, ana)
        none_left = sessions.end_for_user(conn, ana)
    assert (ended, none_left) == (2, 0)
    assert remaining(db) == [bobs]


def test_purging_deletes_what_has_expired_by_now(db: Database) -> None:
    someone = user(db)
    with db.write() as conn:
        start(conn, someone, "past", idle=timedelta(minutes=10))
        start(conn, someone, "now", idle=timedelta(minutes=30))  # expires exactly at LATER
        live = start(conn, someone, "live", idle=timedelta(minutes=31))
        purged = sessions.purge_expired(conn, LATER)
        again = sessions.purge_expired(conn, LATER)
    assert (purged, again) == (2, 0)
    assert remaining(db) == [live]
