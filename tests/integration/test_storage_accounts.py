"""The accounts' storage adapter (`adapters.storage.accounts`) on SQLite and PostgreSQL:
users stored, found, listed and changed; API tokens stored, found by hash while they
still act, marked used and revoked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select

from relaydesk.adapters.storage import accounts
from relaydesk.adapters.storage.accounts import LiveToken, StoredToken, StoredUser
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import api_tokens, users
from tests.integration.storage_rows import NOW, stored, user

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def add_user(
    conn: Connection,
    email: str,
    *,
    name: str = "",
    role: str = "agent",
    password_hash: str | None = None,
    skills: Sequence[str] = ("billing",),
) -> int | None:
    return accounts.insert_user(
        conn,
        email=email,
        name=name or email.split("@")[0].capitalize(),
        role=role,
        password_hash=password_hash,
        skills=skills,
        languages=["en"],
        capacity=5,
        now=NOW,
    )


def add_token(
    conn: Connection, user_id: int, token_hash: str, *, expires_at: datetime | None = None
) -> int:
    return accounts.insert_token(
        conn,
        user_id=user_id,
        token_hash=token_hash,
        label=f"label {token_hash}",
        now=NOW,
        expires_at=expires_at,
    )


# --- users -----------------------------------------------------------------------------


def test_a_user_is_stored_and_read_back(db: Database) -> None:
    with db.write() as conn:
        new_id = add_user(
            conn, "ana@example.com", role="admin", password_hash="h", skills=["a", "b"]
        )
    assert new_id is not None
    with db.read() as conn:
        by_id = accounts.user(conn, new_id)
        by_email = accounts.user_by_email(conn, "ana@example.com")
    assert by_id == StoredUser(
        id=new_id,
        email="ana@example.com",
        name="Ana",
        role="admin",
        active=True,
        skills=("a", "b"),
        languages=("en",),
        capacity=5,
        presence="offline",
        password_hash="h",
        created_at=NOW,
        last_assigned_at=None,
    )
    assert by_email == by_id


def test_a_taken_email_writes_nothing_and_leaves_the_transaction_usable(db: Database) -> None:
    with db.write() as conn:
        first = add_user(conn, "ana@example.com")
        again = add_user(conn, "ana@example.com", name="Other")
        other = add_user(conn, "bob@example.com")
    assert first is not None and other is not None
    assert again is None
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 2
        kept = accounts.user(conn, first)
    assert kept is not None and kept.name == "Ana"


def test_unknown_users_are_none_and_emails_match_exactly(db: Database) -> None:
    """Normalising an email is the service's rule; the adapter compares as stored."""
    someone = user(db, email="ana@example.com")
    with db.read() as conn:
        assert accounts.user(conn, someone + 100) is None
        assert accounts.user_by_email(conn, "nobody@example.com") is None
        assert accounts.user_by_email(conn, "Ana@Example.com") is None
        assert accounts.user_by_email(conn, "ana@example.com") is not None


def test_missing_skills_and_languages_read_as_empty(db: Database) -> None:
    someone = user(db, skills=None, languages=None)
    with db.read() as conn:
        found = accounts.user(conn, someone)
    assert found is not None
    assert (found.skills, found.languages) == ((), ())


def test_all_users_are_active_first_then_by_name_then_id(db: Database) -> None:
    zoe = user(db, "Zoe")
    ana_gone = user(db, "Ana", active=False)
    bob_first, bob_second = user(db, "Bob"), user(db, "Bob")
    amy = user(db, "Amy")
    with db.read() as conn:
        listed = [u.id for u in accounts.all_users(conn)]
    assert listed == [amy, bob_first, bob_second, zoe, ana_gone]


def test_update_writes_only_the_fields_given(db: Database) -> None:
    someone = user(db, "Ana", presence="online", capacity=3, password_hash="old")
    other = user(db, "Bob")
    with db.write() as conn:
        accounts.update_user(conn, someone, name="Ana B", skills=["x"], languages=[])
    after = stored(db, users, someone)
    assert (after.name, after.skills, after.languages) == ("Ana B", ["x"], [])
    assert (after.role, after.capacity, after.presence, after.active) == (
        "agent",
        3,
        "online",
        True,
    )
    assert after.password_hash == "old"
    assert stored(db, users, other).name == "Bob"


def test_update_sets_activity_presence_role_capacity_and_hash(db: Database) -> None:
    someone = user(db, presence="online")
    with db.write() as conn:
        accounts.update_user(
            conn,
            someone,
            role="supervisor",
            capacity=0,
            active=False,
            presence="offline",
            password_hash="new",
        )
    after = stored(db, users, someone)
    assert (after.role, after.capacity, after.active, after.presence, after.password_hash) == (
        "supervisor",
        0,
        False,
        "offline",
        "new",
    )


def test_an_update_with_nothing_given_changes_nothing(db: Database) -> None:
    someone = user(db)
    before = stored(db, users, someone)
    with db.write() as conn:
        accounts.update_user(conn, someone)
        accounts.update_user(conn, someone + 100, name="Nobody")  # no such user: no row
    assert stored(db, users, someone) == before


def test_active_admins_counts_only_active_admins(db: Database) -> None:
    with db.read() as conn:
        assert accounts.active_admins(conn) == 0
    user(db, role="admin")
    user(db, role="admin", active=False)
    user(db, role="supervisor")
    user(db, role="admin")
    with db.read() as conn:
        assert accounts.active_admins(conn) == 2


# --- API tokens ------------------------------------------------------------------------


def test_a_token_is_stored_by_hash_with_its_users_email(db: Database) -> None:
    someone = user(db, email="ana@example.com")
    with db.write() as conn:
        token_id = add_token(conn, someone, "a" * 64, expires_at=LATER)
    with db.read() as conn:
        found = accounts.token_by_hash(conn, "a" * 64)
        by_id = accounts.token(conn, token_id)
        unknown = (accounts.token_by_hash(conn, "b" * 64), accounts.token(conn, token_id + 9))
    assert found == StoredToken(
        id=token_id,
        user_id=someone,
        email="ana@example.com",
        label="label " + "a" * 64,
        created_at=NOW,
        last_used_at=None,
        expires_at=LATER,
        revoked_at=None,
    )
    assert by_id == found
    assert unknown == (None, None)


def test_tokens_are_listed_oldest_first_for_everyone_or_one_user(db: Database) -> None:
    ana, bob = user(db), user(db)
    with db.write() as conn:
        first = add_token(conn, ana, "1")
        second = add_token(conn, bob, "2")
        third = add_token(conn, ana, "3")
        accounts.revoke_token(conn, first, NOW)
    with db.read() as conn:
        everyone = [t.id for t in accounts.tokens(conn)]
        anas = [t.id for t in accounts.tokens(conn, ana)]
        nobodys = accounts.tokens(conn, bob + 100)
    assert everyone == [first, second, third]
    assert anas == [first, third]  # a revoked token is still listed
    assert nobodys == []


def test_a_live_token_acts_until_revoked_or_expired(db: Database) -> None:
    someone = user(db, "Ana", email="ana@example.com", role="supervisor")
    with db.write() as conn:
        forever = add_token(conn, someone, "forever")
        expiring = add_token(conn, someone, "expiring", expires_at=LATER)
        revoked = add_token(conn, someone, "revoked")
        accounts.revoke_token(conn, revoked, NOW)
    with db.read() as conn:
        live = accounts.live_token(conn, "forever", NOW)
        before_expiry = accounts.live_token(conn, "expiring", LATER - timedelta(seconds=1))
        at_expiry = accounts.live_token(conn, "expiring", LATER)
        gone = accounts.live_token(conn, "revoked", NOW)
        unknown = accounts.live_token(conn, "unknown", NOW)
    assert live == LiveToken(forever, None, someone, "ana@example.com", "Ana", "supervisor")
    assert before_expiry is not None and before_expiry.id == expiring
    assert before_expiry.expires_at == LATER
    assert (at_expiry, gone, unknown) == (None, None, None)


def test_a_deactivated_users_tokens_do_not_act(db: Database) -> None:
    someone = user(db, active=False)
    with db.write() as conn:
        add_token(conn, someone, "h")
    with db.read() as conn:
        assert accounts.live_token(conn, "h", NOW) is None
        assert accounts.token_by_hash(conn, "h") is not None


def test_marking_a_token_used_touches_only_that_token(db: Database) -> None:
    someone = user(db)
    with db.write() as conn:
        used, idle = add_token(conn, someone, "used"), add_token(conn, someone, "idle")
        accounts.mark_token_used(conn, used, NOW)
        accounts.mark_token_used(conn, used, LATER)
    assert stored(db, api_tokens, used).last_used_at == LATER
    assert stored(db, api_tokens, idle).last_used_at is None


def test_revoking_a_token_once(db: Database) -> None:
    someone = user(db)
    with db.write() as conn:
        token_id = add_token(conn, someone, "h")
        first = accounts.revoke_token(conn, token_id, NOW)
        second = accounts.revoke_token(conn, token_id, LATER)
        unknown = accounts.revoke_token(conn, token_id + 9, NOW)
    assert (first, second, unknown) == (True, False, False)
    assert stored(db, api_tokens, token_id).revoked_at == NOW  # the first revocation stays


def test_revoking_a_users_tokens_counts_those_still_live(db: Database) -> None:
    ana, bob = user(db), user(db)
    with db.write() as conn:
        add_token(conn, ana, "1")
        add_token(conn, ana, "2", expires_at=NOW - timedelta(days=1))  # expired, not revoked
        accounts.revoke_token(conn, add_token(conn, ana, "3"), NOW)
        bobs = add_token(conn, bob, "4")
        revoked = accounts.revoke_user_tokens(conn, ana, LATER)
        none_left = accounts.revoke_user_tokens(conn, ana, LATER)
    assert (revoked, none_left) == (2, 0)
    assert stored(db, api_tokens, bobs).revoked_at is None
    with db.read() as conn:
        assert {t.revoked_at for t in accounts.tokens(conn, ana)} == {NOW, LATER}
