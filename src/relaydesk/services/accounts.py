"""Operator accounts and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from relaydesk.adapters.storage import credentials
from relaydesk.adapters.storage.tables import api_tokens, users

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")
TOKEN_PREFIX = "rdk_"  # noqa: S105 - a public prefix, not a secret
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12
MAX_CAPACITY = 100
MAX_LABEL = 200
_hasher = PasswordHasher()
#: Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("relaydesk-no-such-user")


class AccountError(ValueError):
    """A user or token request that cannot be done as asked; the message says why.
    `status` is the HTTP answer for the API."""

    status = 422


class UnknownUserError(AccountError):
    """There is no such user."""

    status = 404


class DuplicateUserError(AccountError):
    """A user with that email exists."""

    status = 409


class LastAdminError(AccountError):
    """The change would leave nobody able to manage users."""

    status = 409


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    role: Role
    #: when the API token this user acts through expires (None: never, or not a token)
    token_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """A user as administrators see them (never the password hash)."""

    id: int
    email: str
    name: str
    role: Role
    active: bool
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    presence: str
    has_password: bool
    created_at: datetime
    last_assigned_at: datetime | None


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
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"email {email!r} is not an address like agent@example.com")
    _check_name(name)
    checked_role = _check_role(role)
    _check_capacity(capacity)
    if password is not None:
        _check_password(password)
    try:
        new_id = conn.execute(
            users.insert()
            .values(
                email=email,
                name=name.strip(),
                role=role,
                password_hash=_hasher.hash(password) if password else None,
                skills=_skills(skills),
                languages=_languages(languages),
                capacity=capacity,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    except IntegrityError:
        raise DuplicateUserError(f"a user with email {email!r} already exists") from None
    return User(new_id, email, name.strip(), checked_role)


def create_token(
    conn: Connection,
    *,
    email: str,
    label: str,
    now: datetime,
    lifetime: timedelta | None = None,
) -> str:
    """A new bearer token for the user, refused after `lifetime` when one is given; only
    its hash is stored, so print it once."""
    row = conn.execute(
        select(users.c.id, users.c.active).where(users.c.email == email.strip().lower())
    ).first()
    if row is None:
        raise AccountError(
            f"no user with email {email!r}; create one with `relaydesk users create`"
        )
    if not row.active:
        raise AccountError(f"user {email!r} is deactivated")
    _check_label(label)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        api_tokens.insert().values(
            user_id=row.id,
            token_hash=token_hash(token),
            label=label.strip(),
            created_at=now,
            expires_at=None if lifetime is None else now + lifetime,
        )
    )
    return token


def authenticate_token(conn: Connection, token: str, now: datetime) -> User | None:
    """The active user a live (not revoked, not expired) token acts as, recording its use;
    None for any other token."""
    row = _live_token(conn, token, now)
    if row is None:
        return None
    conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return User(row.user_id, row.email, row.name, row.role, row.expires_at)


def token_user(conn: Connection, token: str, now: datetime) -> User | None:
    """As `authenticate_token`, reading only: whether a token still acts as someone."""
    row = _live_token(conn, token, now)
    return None if row is None else User(row.user_id, row.email, row.name, row.role)


def _live_token(conn: Connection, token: str, now: datetime) -> Any | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    return conn.execute(
        select(
            api_tokens.c.id,
            api_tokens.c.expires_at,
            users.c.id.label("user_id"),
            users.c.email,
            users.c.name,
            users.c.role,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(
            api_tokens.c.token_hash == token_hash(token),
            api_tokens.c.revoked_at.is_(None),
            or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
            users.c.active.is_(True),
        )
    ).first()


def token_hash(token: str) -> str:
    """What is stored of a token. Tokens carry 256 random bits, so an unkeyed fast hash
    cannot be reversed (argon2 is for passwords)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def list_users(conn: Connection) -> list[Account]:
    """Every user, active first, then by name."""
    rows = conn.execute(select(users).order_by(users.c.active.desc(), users.c.name, users.c.id))
    return [_account(row) for row in rows]


def get_user(conn: Connection, user_id: int) -> Account:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise UnknownUserError(f"no user with id {user_id}; `relaydesk users list` shows them")
    return _account(row)


def find_user(conn: Connection, email: str) -> Account:
    email = email.strip().lower()
    row = conn.execute(select(users).where(users.c.email == email)).first()
    if row is None:
        raise UnknownUserError(f"no user with email {email!r}; `relaydesk users list` shows them")
    return _account(row)


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
) -> Account:
    """Change what is given (None leaves a field as it is) and return the user.

    Deactivating someone also takes them offline, so routing stops giving them work, and
    revokes their API tokens, so reactivating them revives none. A new password or a
    deactivation ends their console sessions. The last active admin can be neither demoted
    nor deactivated: nobody could manage users.
    """
    current = get_user(conn, user_id)
    values: dict[str, object] = {}
    if name is not None:
        _check_name(name)
        values["name"] = name.strip()
    if role is not None:
        _check_role(role)
        values["role"] = role
    if skills is not None:
        values["skills"] = _skills(skills)
    if languages is not None:
        values["languages"] = _languages(languages)
    if capacity is not None:
        _check_capacity(capacity)
        values["capacity"] = capacity
    if password is not None:
        _check_password(password)
        values["password_hash"] = _hasher.hash(password)
    if active is not None:
        values["active"] = active
        if not active:
            values["presence"] = "offline"
    losing_admin = (
        current.role == "admin"
        and current.active
        and ((role is not None and role != "admin") or active is False)
    )
    if losing_admin and _active_admins(conn) <= 1:
        raise LastAdminError(
            f"{current.email} is the last active admin; make someone else admin first"
        )
    if values:
        conn.execute(update(users).where(users.c.id == user_id).values(values))
    if password is not None or active is False:
        credentials.end_user_sessions(conn, user_id)
        if active is False:
            credentials.revoke_user_tokens(conn, user_id, now)
    return get_user(conn, user_id)


def verify_password(conn: Connection, email: str, password: str, now: datetime) -> User | None:
    """The active user with this email and password, or None (unknown email, wrong
    password, deactivated, no password set). Takes as long whichever it is, and upgrades
    the stored hash when the hasher's parameters have changed since."""
    row = conn.execute(
        select(
            users.c.id,
            users.c.email,
            users.c.name,
            users.c.role,
            users.c.active,
            users.c.password_hash,
        ).where(users.c.email == email.strip().lower())
    ).first()
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or not row.active:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(
            update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password))
        )
    return User(row.id, row.email, row.name, row.role)


def _active_admins(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(users)
            .where(users.c.role == "admin", users.c.active.is_(True))
        ).scalar_one()
    )


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        active=bool(row.active),
        skills=tuple(row.skills or ()),
        languages=tuple(row.languages or ()),
        capacity=row.capacity,
        presence=row.presence,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        last_assigned_at=row.last_assigned_at,
    )


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
