"""Operator accounts and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection

from relaydesk.adapters.storage import accounts as accounts_store
from relaydesk.adapters.storage import audit as audit_store
from relaydesk.adapters.storage import sessions as sessions_store
from relaydesk.adapters.storage.accounts import LiveToken, StoredUser
from relaydesk.domain.permissions import Role
from relaydesk.services import audit

# Re-exported: callers use accounts.User, accounts.AccountError and the rest.
from relaydesk.services.account_model import Account as Account
from relaydesk.services.account_model import AccountError as AccountError
from relaydesk.services.account_model import AccountStore as AccountStore
from relaydesk.services.account_model import DuplicateUserError as DuplicateUserError
from relaydesk.services.account_model import LastAdminError as LastAdminError
from relaydesk.services.account_model import SessionEnder as SessionEnder
from relaydesk.services.account_model import UnknownUserError as UnknownUserError
from relaydesk.services.account_model import User as User

log = structlog.get_logger(__name__)
ROLES: tuple[Role, ...] = tuple(Role)
TOKEN_PREFIX = "rdk_"  # noqa: S105 - a public prefix, not a secret
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12
MAX_CAPACITY = 100
MAX_LABEL = 200
_hasher = PasswordHasher()
#: Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("relaydesk-no-such-user")


def create_user(
    conn: Connection,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    now: datetime,
    skills: Sequence[str] = (),
    languages: Sequence[str] = (),
    capacity: int = 5,
    store: AccountStore = accounts_store,
    actor: audit.Actor | None = None,
    audit_log: audit.AuditStore = audit_store,
) -> User:
    """A new user (audited as `user.created`, by `actor`; None: the command line)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"email {email!r} is not an address like agent@example.com")
    _check_name(name)
    checked_role = _check_role(role)
    _check_capacity(capacity)
    if password is not None:
        _check_password(password)
    new_id = store.insert_user(
        conn,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=_hasher.hash(password) if password else None,
        skills=_skills(skills),
        languages=_languages(languages),
        capacity=capacity,
        now=now,
    )
    if new_id is None:
        raise DuplicateUserError(f"a user with email {email!r} already exists")
    audit.record(
        conn,
        "user.created",
        now=now,
        actor=actor,
        target=f"user:{new_id}",
        after={"email": email, "role": checked_role, "has_password": password is not None},
        store=audit_log,
    )
    return User(new_id, email, name.strip(), checked_role)


def create_token(
    conn: Connection,
    *,
    email: str,
    label: str,
    now: datetime,
    key: str,
    lifetime: timedelta | None = None,
    store: AccountStore = accounts_store,
    actor: audit.Actor | None = None,
    audit_log: audit.AuditStore = audit_store,
) -> str:
    """A new bearer token for the user, refused after `lifetime` when one is given; only
    its hash is stored, so print it once."""
    owner = store.user_by_email(conn, email.strip().lower())
    if owner is None:
        raise AccountError(
            f"no user with email {email!r}; create one with `relaydesk users create`"
        )
    if not owner.active:
        raise AccountError(f"user {email!r} is deactivated")
    _check_label(label)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = None if lifetime is None else now + lifetime
    token_id = store.insert_token(
        conn,
        user_id=owner.id,
        token_hash=token_hash(token, key),
        label=label.strip(),
        now=now,
        expires_at=expires_at,
    )
    audit.record(
        conn,
        "token.created",
        now=now,
        actor=actor,
        target=f"token:{token_id}",
        after={
            "user_id": owner.id,
            "label": label.strip(),
            "expires_at": None if expires_at is None else expires_at.isoformat(),
        },
        store=audit_log,
    )
    return token


def authenticate_token(
    conn: Connection,
    token: str,
    now: datetime,
    *,
    key: str,
    store: AccountStore = accounts_store,
) -> User | None:
    """The active user a live (not revoked, not expired) token acts as, recording its use;
    None for any other token. A token stored under the unkeyed hash of older versions is
    stored under the keyed one at its first use."""
    live = _live_token(conn, token, now, key, store, rehash=True)
    if live is None:
        return None
    store.mark_token_used(conn, live.id, now)
    return User(live.user_id, live.email, live.name, _stored_role(live.role), live.expires_at)


def token_user(
    conn: Connection,
    token: str,
    now: datetime,
    *,
    key: str,
    store: AccountStore = accounts_store,
) -> User | None:
    """As `authenticate_token`, reading only: whether a token still acts as someone."""
    live = _live_token(conn, token, now, key, store, rehash=False)
    if live is None:
        return None
    return User(live.user_id, live.email, live.name, _stored_role(live.role))


def _live_token(
    conn: Connection, token: str, now: datetime, key: str, store: AccountStore, *, rehash: bool
) -> LiveToken | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    keyed = token_hash(token, key)
    live = store.live_token(conn, keyed, now)
    if live is not None:
        return live
    live = store.live_token(conn, legacy_token_hash(token), now)
    if live is not None and rehash:
        store.rehash_token(conn, live.id, keyed)
        log.info("api_token_rehashed", token_id=live.id)
    return live


def token_hash(token: str, key: str) -> str:
    """What is stored of a token: its HMAC-SHA256 under `RELAYDESK_SECRET_KEY`, so that a
    copy of the table cannot be checked against guessed or leaked tokens without the key.
    (Tokens carry 256 random bits: a fast keyed hash is enough; argon2 is for passwords.)"""
    return keyed_hash(key, "api-token", token)


def legacy_token_hash(token: str) -> str:
    """The unkeyed SHA-256 that versions before the keyed hash stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def keyed_hash(key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under `key`, separated by `purpose` (hex, 64 characters)."""
    message = purpose.encode() + b"\0" + value.encode("utf-8", "surrogatepass")
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def list_users(conn: Connection, *, store: AccountStore = accounts_store) -> list[Account]:
    """Every user, active first, then by name."""
    return [_account(stored) for stored in store.all_users(conn)]


def get_user(conn: Connection, user_id: int, *, store: AccountStore = accounts_store) -> Account:
    stored = store.user(conn, user_id)
    if stored is None:
        raise UnknownUserError(f"no user with id {user_id}; `relaydesk users list` shows them")
    return _account(stored)


def find_user(conn: Connection, email: str, *, store: AccountStore = accounts_store) -> Account:
    email = email.strip().lower()
    stored = store.user_by_email(conn, email)
    if stored is None:
        raise UnknownUserError(f"no user with email {email!r}; `relaydesk users list` shows them")
    return _account(stored)


def update_user(
    conn: Connection,
    user_id: int,
    *,
    name: str | None = None,
    role: str | None = None,
    skills: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    capacity: int | None = None,
    active: bool | None = None,
    password: str | None = None,
    now: datetime,
    store: AccountStore = accounts_store,
    sessions: SessionEnder = sessions_store,
    actor: audit.Actor | None = None,
    audit_log: audit.AuditStore = audit_store,
) -> Account:
    """Change what is given (None leaves a field as it is) and return the user.

    Deactivating someone also takes them offline, so routing stops giving them work, and
    revokes their API tokens, so reactivating them revives none. A new password or a
    deactivation ends their console sessions. The last active admin can be neither demoted
    nor deactivated: nobody could manage users.
    """
    current = get_user(conn, user_id, store=store)
    if name is not None:
        _check_name(name)
    if role is not None:
        _check_role(role)
    if capacity is not None:
        _check_capacity(capacity)
    if password is not None:
        _check_password(password)
    losing_admin = (
        current.role == "admin"
        and current.active
        and ((role is not None and role != "admin") or active is False)
    )
    if losing_admin and store.active_admins(conn) <= 1:
        raise LastAdminError(
            f"{current.email} is the last active admin; make someone else admin first"
        )
    store.update_user(
        conn,
        user_id,
        name=None if name is None else name.strip(),
        role=role,
        skills=None if skills is None else _skills(skills),
        languages=None if languages is None else _languages(languages),
        capacity=capacity,
        active=active,
        presence="offline" if active is False else None,
        password_hash=None if password is None else _hasher.hash(password),
    )
    if password is not None or active is False:
        sessions.end_for_user(conn, user_id)
        if active is False:
            store.revoke_user_tokens(conn, user_id, now)
    updated = get_user(conn, user_id, store=store)
    before, after = _audited(current), _audited(updated)
    changed = sorted(k for k in after if before[k] != after[k])
    if password is not None:
        changed.append("password")  # never its value, nor its hash
    if changed:
        audit.record(
            conn,
            "user.role_changed" if "role" in changed else "user.updated",
            now=now,
            actor=actor,
            target=f"user:{user_id}",
            before={k: before[k] for k in changed if k in before},
            after={k: after.get(k, "changed") for k in changed},
            store=audit_log,
        )
    return updated


def _audited(account: Account) -> dict[str, object]:
    """What the audit log keeps of a user's state (never the password)."""
    return {
        "name": account.name,
        "role": account.role,
        "active": account.active,
        "skills": list(account.skills),
        "languages": list(account.languages),
        "capacity": account.capacity,
    }


def verify_password(
    conn: Connection,
    email: str,
    password: str,
    now: datetime,
    *,
    store: AccountStore = accounts_store,
) -> User | None:
    """The active user with this email and password, or None (unknown email, wrong
    password, deactivated, no password set). Takes as long whichever it is, and upgrades
    the stored hash when the hasher's parameters have changed since."""
    found = store.user_by_email(conn, email.strip().lower())
    stored = found.password_hash if found is not None and found.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if found is None or stored is None or not found.active:
        return None
    if _hasher.check_needs_rehash(stored):
        store.update_user(conn, found.id, password_hash=_hasher.hash(password))
    return User(found.id, found.email, found.name, _stored_role(found.role))


def _account(stored: StoredUser) -> Account:
    return Account(
        id=stored.id,
        email=stored.email,
        name=stored.name,
        role=_stored_role(stored.role),
        active=stored.active,
        skills=stored.skills,
        languages=stored.languages,
        capacity=stored.capacity,
        presence=stored.presence,
        has_password=stored.password_hash is not None,
        created_at=stored.created_at,
        last_assigned_at=stored.last_assigned_at,
    )


def _stored_role(role: str) -> Role:
    """A role as stored: only `create_user` and `update_user` write one, and they check it."""
    return Role(role)


def _check_name(name: str) -> None:
    if not name.strip():
        raise AccountError("name is empty; give the person's display name")
    if len(name.strip()) > 200:
        raise AccountError(f"name is {len(name.strip())} characters; keep it to 200")


def _check_label(label: str) -> None:
    if len(label.strip()) > MAX_LABEL:
        raise AccountError(f"label is {len(label.strip())} characters; keep it to {MAX_LABEL}")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in label):
        raise AccountError(
            "label contains control characters or a broken character (a lone surrogate); "
            "use plain text"
        )


def _check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise AccountError(f"role {role!r} is not one of: {', '.join(ROLES)}")


def _check_capacity(capacity: int) -> None:
    if not 0 <= capacity <= MAX_CAPACITY:
        raise AccountError(
            f"capacity {capacity} is not 0 to {MAX_CAPACITY} concurrent conversations"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"password is shorter than {MIN_PASSWORD} characters; choose a longer one"
        )


def _skills(skills: Sequence[str]) -> list[str]:
    return sorted({s.strip() for s in skills if s.strip()})


def _languages(languages: Sequence[str]) -> list[str]:
    return sorted({lang.strip().lower() for lang in languages if lang.strip()})
