"""Console sessions on SQLite and PostgreSQL: only the token's hash is stored, idle expiry
slides with activity, deactivated users and wrong CSRF tokens are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import console_sessions
from relaydesk.services import accounts, sessions
from tests.conftest import SECRET_KEY

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    with database.write() as conn:
        accounts.create_user(
            conn, email="ana@example.com", name="Ana", role="agent", password=PASSWORD, now=NOW
        )
    yield database
    database.dispose()


def sign_in(db: Database, password: str = PASSWORD) -> sessions.NewSession | None:
    with db.write() as conn:
        return sessions.login(conn, "Ana@Example.com ", password, NOW, key=SECRET_KEY)


def look(db: Database, token: str, now: datetime) -> sessions.ConsoleSession | str | None:
    with db.read() as conn:
        return sessions.lookup(conn, token, now, key=SECRET_KEY)


def test_login_stores_only_the_hash_of_the_token(db: Database) -> None:
    new = sign_in(db)
    assert new is not None
    assert new.session.user.email == "ana@example.com"
    assert new.session.expires_at == NOW + sessions.SESSION_IDLE
    with db.read() as conn:
        row = conn.execute(select(console_sessions)).one()
    assert row.token_hash == sessions.token_hash(new.token, SECRET_KEY) != new.token
    found = look(db, new.token, NOW + timedelta(minutes=5))
    assert isinstance(found, sessions.ConsoleSession)
    assert found.csrf_token == new.session.csrf_token


def test_a_wrong_password_makes_no_session(db: Database) -> None:
    assert sign_in(db, "wrong password!") is None
    with db.read() as conn:
        assert conn.execute(select(console_sessions)).all() == []


def test_idle_expiry_slides_with_activity(db: Database) -> None:
    new = sign_in(db)
    assert new is not None
    later = NOW + timedelta(hours=7)
    found = look(db, new.token, later)
    assert isinstance(found, sessions.ConsoleSession)
    assert found.due_for_keep_alive(later)
    with db.write() as conn:
        sessions.keep_alive(conn, found, later)
    assert isinstance(look(db, new.token, later + timedelta(hours=7)), sessions.ConsoleSession)
    expired = later + timedelta(hours=8)
    assert look(db, new.token, expired) == sessions.EXPIRED
    assert look(db, new.token, expired) == sessions.EXPIRED  # every request is told alike
    with db.write() as conn:
        assert sessions.purge_expired(conn, expired) == 1
    assert look(db, new.token, later) is None


def test_a_deactivated_user_has_no_session(db: Database) -> None:
    new = sign_in(db)
    assert new is not None
    with db.write() as conn:
        accounts.update_user(conn, new.session.user.id, active=False, now=NOW)
    assert look(db, new.token, NOW) is None


def test_logout_and_end_all(db: Database) -> None:
    first, second = sign_in(db), sign_in(db)
    assert first is not None and second is not None
    with db.write() as conn:
        assert sessions.logout(conn, first.token, NOW, key=SECRET_KEY)
        assert not sessions.logout(conn, first.token, NOW, key=SECRET_KEY)
        assert sessions.end_all(conn, second.session.user.id) == 1
    assert look(db, second.token, NOW) is None


@pytest.mark.parametrize("supplied", [None, "", "nope", "x" * 43])
def test_csrf_tokens_must_match_exactly(db: Database, supplied: str | None) -> None:
    new = sign_in(db)
    assert new is not None
    assert not sessions.csrf_ok(new.session, supplied)
    assert sessions.csrf_ok(new.session, new.session.csrf_token)
