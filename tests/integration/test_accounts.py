"""Accounts on both databases: listing, updating and password checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, select, update

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import users
from relaydesk.services import accounts
from relaydesk.services.accounts import AccountError, LastAdminError, UnknownUserError

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def conn(database_url: str) -> Iterator[Connection]:
    db = Database(database_url)
    upgrade(db.engine)
    try:
        with db.write() as connection:
            yield connection
    finally:
        db.dispose()


def make(conn: Connection, email: str, role: str = "agent", password: str | None = None) -> int:
    user = accounts.create_user(
        conn,
        email=email,
        name=email.split("@")[0],
        role=role,
        password=password,
        now=NOW,
        skills=["orders"],
        languages=["en"],
    )
    return user.id


class TestListAndUpdate:
    def test_lists_active_people_first_without_their_hashes(self, conn: Connection) -> None:
        gone = make(conn, "zed@example.com", password=PASSWORD)
        make(conn, "amy@example.com")
        accounts.update_user(conn, gone, active=False, now=NOW)
        listed = accounts.list_users(conn)
        assert [(a.email, a.active) for a in listed] == [
            ("amy@example.com", True),
            ("zed@example.com", False),
        ]
        assert listed[1].has_password
        assert not hasattr(listed[1], "password_hash")

    def test_changes_only_the_fields_given(self, conn: Connection) -> None:
        user_id = make(conn, "amy@example.com")
        updated = accounts.update_user(
            conn,
            user_id,
            skills=[" refunds", "orders", "refunds"],
            languages=["ES", "en"],
            capacity=7,
            now=NOW,
        )
        assert (updated.name, updated.role) == ("amy", "agent")
        assert (updated.skills, updated.languages, updated.capacity) == (
            ("orders", "refunds"),
            ("en", "es"),
            7,
        )

    def test_deactivating_takes_the_person_offline(self, conn: Connection) -> None:
        user_id = make(conn, "amy@example.com")
        conn.execute(update(users).where(users.c.id == user_id).values(presence="online"))
        gone = accounts.update_user(conn, user_id, active=False, now=NOW)
        assert (gone.active, gone.presence) == (False, "offline")

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"role": "boss"}, "role 'boss' is not one of: agent, supervisor, admin"),
            ({"capacity": -1}, "capacity -1 is not 0 to 100"),
            ({"name": "  "}, "name is empty"),
            ({"password": "short"}, "shorter than 12 characters"),
        ],
    )
    def test_bad_values_change_nothing(
        self, conn: Connection, changes: dict[str, object], message: str
    ) -> None:
        user_id = make(conn, "amy@example.com")
        before = accounts.get_user(conn, user_id)
        with pytest.raises(AccountError, match=message) as refused:
            accounts.update_user(conn, user_id, now=NOW, **changes)  # type: ignore[arg-type]
        assert refused.value.status == 422
        assert accounts.get_user(conn, user_id) == before

    def test_unknown_user(self, conn: Connection) -> None:
        with pytest.raises(UnknownUserError, match="no user with id 99") as refused:
            accounts.update_user(conn, 99, capacity=1, now=NOW)
        assert refused.value.status == 404

    def test_the_last_admin_stays(self, conn: Connection) -> None:
        root = make(conn, "root@example.com", role="admin")
        with pytest.raises(LastAdminError, match="last active admin"):
            accounts.update_user(conn, root, role="agent", now=NOW)
        with pytest.raises(LastAdminError):
            accounts.update_user(conn, root, active=False, now=NOW)
        make(conn, "second@example.com", role="admin")
        assert accounts.update_user(conn, root, role="agent", now=NOW).role == "agent"


class TestVerifyPassword:
    def test_the_right_password_gives_the_user(self, conn: Connection) -> None:
        user_id = make(conn, "amy@example.com", password=PASSWORD)
        user = accounts.verify_password(conn, " Amy@Example.com ", PASSWORD, NOW)
        assert user is not None
        assert (user.id, user.role) == (user_id, "agent")

    def test_every_failure_is_none(self, conn: Connection) -> None:
        make(conn, "amy@example.com", password=PASSWORD)
        nopass = make(conn, "bob@example.com")
        gone = make(conn, "cy@example.com", password=PASSWORD)
        accounts.update_user(conn, gone, active=False, now=NOW)
        assert accounts.verify_password(conn, "amy@example.com", "wrong password!", NOW) is None
        assert accounts.verify_password(conn, "ghost@example.com", PASSWORD, NOW) is None
        assert accounts.verify_password(conn, "bob@example.com", "", NOW) is None
        assert accounts.get_user(conn, nopass).has_password is False
        assert accounts.verify_password(conn, "cy@example.com", PASSWORD, NOW) is None

    def test_an_old_hash_is_upgraded_on_login(self, conn: Connection) -> None:
        user_id = make(conn, "amy@example.com")
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=weak))
        assert accounts.verify_password(conn, "amy@example.com", PASSWORD, NOW) is not None
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == user_id))
        new_hash = stored.scalar_one()
        assert new_hash != weak
        assert not PasswordHasher().check_needs_rehash(new_hash)
        assert accounts.verify_password(conn, "amy@example.com", PASSWORD, NOW) is not None

    def test_a_new_password_replaces_the_old(self, conn: Connection) -> None:
        user_id = make(conn, "amy@example.com", password=PASSWORD)
        accounts.update_user(conn, user_id, password="another long secret", now=NOW)
        assert accounts.verify_password(conn, "amy@example.com", PASSWORD, NOW) is None
        assert accounts.verify_password(conn, "amy@example.com", "another long secret", NOW)
