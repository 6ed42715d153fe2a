"""The account rules of `services.accounts` over an in-memory store (tests/unit/fake_accounts):
what a new user's email, name, role, capacity, skills and password must be; who may hold a
token; that the last active admin stays; what deactivating someone or changing their
password ends; and how passwords are checked."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from relaydesk.services import accounts
from relaydesk.services.accounts import (
    TOKEN_PREFIX,
    AccountError,
    DuplicateUserError,
    LastAdminError,
    UnknownUserError,
    User,
)
from tests.conftest import SECRET_KEY
from tests.unit.fake_accounts import NO_DB, FakeAccountStore

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def store() -> FakeAccountStore:
    return FakeAccountStore()


def make(
    store: FakeAccountStore,
    email: str,
    role: str = "agent",
    password: str | None = None,
    **values: object,
) -> int:
    user = accounts.create_user(
        NO_DB,
        email=email,
        name=email.split("@")[0].capitalize(),
        role=role,
        password=password,
        now=NOW,
        store=store,
        audit_log=store,
        **values,  # type: ignore[arg-type]
    )
    return user.id


def update(store: FakeAccountStore, user_id: int, **changes: object) -> accounts.Account:
    return accounts.update_user(
        NO_DB,
        user_id,
        now=NOW,
        store=store,
        audit_log=store,
        sessions=store,
        **changes,  # type: ignore[arg-type]
    )


class TestCreateUser:
    def test_the_email_is_trimmed_and_lower_cased(self, store: FakeAccountStore) -> None:
        user = accounts.create_user(
            NO_DB,
            email="  Ana@Example.COM ",
            name=" Ana ",
            role="supervisor",
            password=None,
            now=NOW,
            store=store,
            audit_log=store,
        )
        assert user == User(user.id, "ana@example.com", "Ana", "supervisor")
        assert store.users[user.id].email == "ana@example.com"

    def test_skills_and_languages_are_trimmed_deduplicated_and_sorted(
        self, store: FakeAccountStore
    ) -> None:
        user_id = make(
            store,
            "ana@example.com",
            skills=[" refunds", "orders", "refunds", "  "],
            languages=["ES", "en", " es "],
        )
        account = accounts.get_user(NO_DB, user_id, store=store)
        assert (account.skills, account.languages) == (("orders", "refunds"), ("en", "es"))

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"email": "ana.example.com"}, "'ana.example.com' is not an address like"),
            ({"email": "ana@example"}, "'ana@example' is not an address like"),
            ({"name": "   "}, "name is empty"),
            ({"name": "x" * 201}, "name is 201 characters; keep it to 200"),
            ({"role": "root"}, "role 'root' is not one of: agent, supervisor, admin"),
            ({"capacity": 101}, "capacity 101 is not 0 to 100"),
            ({"capacity": -1}, "capacity -1 is not 0 to 100"),
            ({"password": "eleven char"}, "shorter than 12 characters"),
        ],
    )
    def test_bad_values_are_refused_and_nothing_is_stored(
        self, store: FakeAccountStore, values: dict[str, object], message: str
    ) -> None:
        given: dict[str, object] = {
            "email": "ana@example.com",
            "name": "Ana",
            "role": "agent",
            "password": None,
        } | values
        with pytest.raises(AccountError, match=message) as refused:
            accounts.create_user(NO_DB, now=NOW, store=store, audit_log=store, **given)  # type: ignore[arg-type]
        assert refused.value.status == 422
        assert store.users == {}

    def test_a_taken_email_is_refused_whatever_its_case(self, store: FakeAccountStore) -> None:
        make(store, "ana@example.com")
        taken = re.escape("'ana@example.com' already exists")
        with pytest.raises(DuplicateUserError, match=taken) as dup:
            make(store, "ANA@example.com ")
        assert dup.value.status == 409
        assert len(store.users) == 1

    def test_only_the_passwords_hash_is_stored(self, store: FakeAccountStore) -> None:
        with_password = make(store, "ana@example.com", password=PASSWORD)
        without = make(store, "bob@example.com")
        stored = store.users[with_password].password_hash
        assert stored is not None and stored.startswith("$argon2")
        assert PASSWORD not in stored
        assert accounts.get_user(NO_DB, with_password, store=store).has_password
        assert not accounts.get_user(NO_DB, without, store=store).has_password


class TestTokens:
    def test_a_token_is_stored_as_its_keyed_hash_with_its_expiry(
        self, store: FakeAccountStore
    ) -> None:
        user_id = make(store, "ana@example.com")
        token = accounts.create_token(
            NO_DB,
            email=" ANA@example.com",
            label=" laptop ",
            now=NOW,
            lifetime=timedelta(days=30),
            store=store,
            audit_log=store,
            key=SECRET_KEY,
        )
        (stored,) = store.tokens.values()
        assert token.startswith(TOKEN_PREFIX)
        keyed = hmac.new(SECRET_KEY.encode(), b"api-token\0" + token.encode(), hashlib.sha256)
        assert stored.token_hash == keyed.hexdigest()
        assert stored.token_hash != hashlib.sha256(token.encode()).hexdigest()
        assert (stored.user_id, stored.label, stored.expires_at) == (
            user_id,
            "laptop",
            NOW + timedelta(days=30),
        )

    @pytest.mark.parametrize(
        ("email", "label", "message"),
        [
            ("ghost@example.com", "", "no user with email 'ghost@example.com'; create one"),
            ("gone@example.com", "", "user 'gone@example.com' is deactivated"),
            ("ana@example.com", "x" * 201, "label is 201 characters; keep it to 200"),
            ("ana@example.com", "tab\there", "label contains control characters"),
            ("ana@example.com", "broken \ud800", "a lone surrogate"),
        ],
    )
    def test_who_may_get_a_token_and_with_what_label(
        self, store: FakeAccountStore, email: str, label: str, message: str
    ) -> None:
        make(store, "ana@example.com")
        update(store, make(store, "gone@example.com"), active=False)
        with pytest.raises(AccountError, match=message):
            accounts.create_token(
                NO_DB,
                email=email,
                label=label,
                now=NOW,
                store=store,
                audit_log=store,
                key=SECRET_KEY,
            )
        assert store.tokens == {}

    def test_a_live_token_acts_as_its_user_and_is_marked_used(
        self, store: FakeAccountStore
    ) -> None:
        user_id = make(store, "ana@example.com", role="admin")
        expires = NOW + timedelta(hours=1)
        token = accounts.create_token(
            NO_DB,
            email="ana@example.com",
            label="",
            now=NOW,
            lifetime=expires - NOW,
            store=store,
            audit_log=store,
            key=SECRET_KEY,
        )
        later = NOW + timedelta(minutes=5)
        peeked = accounts.token_user(NO_DB, token, later, store=store, key=SECRET_KEY)
        assert [t.last_used_at for t in store.tokens.values()] == [None]  # reading only
        acting = accounts.authenticate_token(NO_DB, token, later, store=store, key=SECRET_KEY)
        assert peeked == User(user_id, "ana@example.com", "Ana", "admin")
        assert acting == User(user_id, "ana@example.com", "Ana", "admin", expires)
        assert [t.last_used_at for t in store.tokens.values()] == [later]
        assert (
            accounts.authenticate_token(NO_DB, token, expires, store=store, key=SECRET_KEY) is None
        )

    def test_anything_but_a_live_token_is_no_one(self, store: FakeAccountStore) -> None:
        user_id = make(store, "ana@example.com")
        token = accounts.create_token(
            NO_DB,
            email="ana@example.com",
            label="",
            now=NOW,
            store=store,
            audit_log=store,
            key=SECRET_KEY,
        )
        unprefixed = token.removeprefix(TOKEN_PREFIX)
        (stored,) = store.tokens.values()
        # even stored, a token without the prefix is not looked up
        other = stored.id + 1
        store.tokens[other] = replace(
            stored, id=other, token_hash=accounts.token_hash(unprefixed, SECRET_KEY)
        )
        assert (
            accounts.authenticate_token(NO_DB, unprefixed, NOW, store=store, key=SECRET_KEY) is None
        )
        assert (
            accounts.authenticate_token(
                NO_DB, TOKEN_PREFIX + "guess", NOW, store=store, key=SECRET_KEY
            )
            is None
        )
        update(store, user_id, active=False)
        assert accounts.authenticate_token(NO_DB, token, NOW, store=store, key=SECRET_KEY) is None
        assert accounts.token_user(NO_DB, token, NOW, store=store, key=SECRET_KEY) is None


class TestUpdateUser:
    def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(
        self, store: FakeAccountStore
    ) -> None:
        root = make(store, "root@example.com", role="admin")
        former = make(store, "former@example.com", role="admin")
        update(store, former, active=False)  # an inactive admin manages nobody
        before = dict(store.users)
        with pytest.raises(LastAdminError, match=re.escape("root@example.com is the last active")):
            update(store, root, role="supervisor")
        with pytest.raises(LastAdminError) as refused:
            update(store, root, active=False)
        assert refused.value.status == 409
        assert store.users == before

    def test_the_last_admin_may_change_anything_else(self, store: FakeAccountStore) -> None:
        root = make(store, "root@example.com", role="admin")
        changed = update(store, root, role="admin", name="Root", capacity=0, active=True)
        assert (changed.role, changed.name, changed.capacity, changed.active) == (
            "admin",
            "Root",
            0,
            True,
        )

    def test_with_a_second_active_admin_either_may_step_down(self, store: FakeAccountStore) -> None:
        root = make(store, "root@example.com", role="admin")
        second = make(store, "second@example.com", role="admin")
        assert update(store, root, role="agent").role == "agent"
        with pytest.raises(LastAdminError):
            update(store, second, active=False)

    def test_only_admins_are_protected(self, store: FakeAccountStore) -> None:
        """Supervisors do not manage users: the last one may go."""
        make(store, "root@example.com", role="admin")
        boss = make(store, "boss@example.com", role="supervisor")
        assert update(store, boss, role="agent").role == "agent"
        assert update(store, boss, active=False).active is False

    def test_deactivating_takes_offline_revokes_tokens_and_ends_sessions(
        self, store: FakeAccountStore
    ) -> None:
        ana, bob = make(store, "ana@example.com"), make(store, "bob@example.com")
        store.users[ana] = replace(store.users[ana], presence="online")
        for email in ("ana@example.com", "ana@example.com", "bob@example.com"):
            accounts.create_token(
                NO_DB, email=email, label="", now=NOW, store=store, audit_log=store, key=SECRET_KEY
            )
        store.sessions = {1: ana, 2: ana, 3: bob}
        gone = update(store, ana, active=False)
        assert (gone.active, gone.presence) == (False, "offline")
        assert [t.revoked_at for t in store.tokens.values()] == [NOW, NOW, None]
        assert store.sessions == {3: bob}

    def test_a_new_password_ends_sessions_but_keeps_tokens(self, store: FakeAccountStore) -> None:
        ana = make(store, "ana@example.com")
        accounts.create_token(
            NO_DB,
            email="ana@example.com",
            label="",
            now=NOW,
            store=store,
            audit_log=store,
            key=SECRET_KEY,
        )
        store.sessions = {1: ana}
        update(store, ana, password="another long secret")
        assert store.sessions == {}
        assert [t.revoked_at for t in store.tokens.values()] == [None]
        assert accounts.verify_password(
            NO_DB, "ana@example.com", "another long secret", NOW, store=store
        )

    def test_other_changes_end_nothing(self, store: FakeAccountStore) -> None:
        ana = make(store, "ana@example.com")
        store.sessions = {1: ana}
        update(store, ana, name="Ana B", skills=["Refunds"], languages=["PT"], capacity=2)
        assert store.sessions == {1: ana}
        account = accounts.get_user(NO_DB, ana, store=store)
        assert (account.name, account.skills, account.languages, account.capacity) == (
            "Ana B",
            ("Refunds",),
            ("pt",),
            2,
        )

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"role": "boss"}, "role 'boss' is not one of"),
            ({"capacity": 500}, "capacity 500 is not 0 to 100"),
            ({"name": ""}, "name is empty"),
            ({"password": "short", "name": "New"}, "shorter than 12 characters"),
        ],
    )
    def test_bad_values_change_nothing(
        self, store: FakeAccountStore, changes: dict[str, object], message: str
    ) -> None:
        ana = make(store, "ana@example.com")
        store.sessions = {1: ana}
        before = dict(store.users)
        with pytest.raises(AccountError, match=message):
            update(store, ana, **changes)
        assert (store.users, store.sessions) == (before, {1: ana})

    def test_an_unknown_user(self, store: FakeAccountStore) -> None:
        with pytest.raises(UnknownUserError, match="no user with id 7") as refused:
            update(store, 7, capacity=1)
        assert refused.value.status == 404
        with pytest.raises(UnknownUserError, match=re.escape("no user with email 'x@example.com'")):
            accounts.find_user(NO_DB, " X@example.com", store=store)


class TestVerifyPassword:
    def test_the_right_password_for_the_email_as_typed(self, store: FakeAccountStore) -> None:
        ana = make(store, "ana@example.com", password=PASSWORD)
        user = accounts.verify_password(NO_DB, " Ana@Example.com", PASSWORD, NOW, store=store)
        assert user == User(ana, "ana@example.com", "Ana", "agent")

    def test_every_failure_is_none(self, store: FakeAccountStore) -> None:
        make(store, "ana@example.com", password=PASSWORD)
        make(store, "nopass@example.com")
        update(store, make(store, "gone@example.com", password=PASSWORD), active=False)
        for email, password in [
            ("ana@example.com", "wrong password!"),
            ("ghost@example.com", PASSWORD),
            ("nopass@example.com", ""),
            ("gone@example.com", PASSWORD),
        ]:
            assert accounts.verify_password(NO_DB, email, password, NOW, store=store) is None

    def test_an_outdated_hash_is_upgraded(self, store: FakeAccountStore) -> None:
        ana = make(store, "ana@example.com")
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
        store.users[ana] = replace(store.users[ana], password_hash=weak)
        assert accounts.verify_password(NO_DB, "ana@example.com", PASSWORD, NOW, store=store)
        upgraded = store.users[ana].password_hash
        assert upgraded is not None and upgraded != weak
        assert not PasswordHasher().check_needs_rehash(upgraded)


def test_a_token_stored_unkeyed_still_works_and_is_rehashed_at_its_first_use(
    store: FakeAccountStore,
) -> None:
    make(store, "ana@example.com")
    token = accounts.create_token(
        NO_DB,
        email="ana@example.com",
        label="",
        now=NOW,
        store=store,
        audit_log=store,
        key=SECRET_KEY,
    )
    (stored,) = store.tokens.values()
    legacy = hashlib.sha256(token.encode()).hexdigest()  # what older versions stored
    store.tokens[stored.id] = replace(stored, token_hash=legacy)

    assert accounts.token_user(NO_DB, token, NOW, store=store, key=SECRET_KEY) is not None
    assert store.tokens[stored.id].token_hash == legacy  # reading only
    assert accounts.authenticate_token(NO_DB, token, NOW, store=store, key=SECRET_KEY)
    assert store.tokens[stored.id].token_hash == accounts.token_hash(token, SECRET_KEY)
    assert accounts.authenticate_token(NO_DB, token, NOW, store=store, key=SECRET_KEY)
    # under another key the keyed hash names nothing
    assert accounts.authenticate_token(NO_DB, token, NOW, store=store, key="another-key") is None
