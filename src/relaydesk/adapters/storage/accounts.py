"""People who sign in (`users`) and their API tokens (`api_tokens`): stored, found, changed,
revoked. Only hashes are stored; hashing and every rule about them live in
`services.accounts` and `services.tokens`. Every function takes the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from relaydesk.adapters.storage.tables import api_tokens, users

_B = bindparam
_USER_BY_ID = select(users).where(users.c.id == _B("k_id"))
_USER_BY_EMAIL = select(users).where(users.c.email == _B("k_email"))
_ALL_USERS = select(users).order_by(users.c.active.desc(), users.c.name, users.c.id)
_ACTIVE_ADMINS = (
    select(func.count()).select_from(users).where(users.c.role == "admin", users.c.active.is_(True))
)
_INSERT_USER = {
    name: insert(users).on_conflict_do_nothing(index_elements=["email"]).returning(users.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_TOKENS = (
    select(
        api_tokens.c.id,
        api_tokens.c.user_id,
        users.c.email,
        api_tokens.c.label,
        api_tokens.c.created_at,
        api_tokens.c.last_used_at,
        api_tokens.c.expires_at,
        api_tokens.c.revoked_at,
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .order_by(api_tokens.c.id)
)
_LIVE_TOKEN = (
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
        api_tokens.c.token_hash == _B("k_hash"),
        api_tokens.c.revoked_at.is_(None),
        or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > _B("k_now")),
        users.c.active.is_(True),
    )
)
_TOKEN_USED = (
    update(api_tokens).where(api_tokens.c.id == _B("k_id")).values(last_used_at=_B("k_now"))
)
_REVOKE = update(api_tokens).where(api_tokens.c.revoked_at.is_(None)).values(revoked_at=_B("k_now"))


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A user as stored; `password_hash` is None for someone who cannot sign in."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    presence: str
    password_hash: str | None
    created_at: datetime
    last_assigned_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredToken:
    """An API token as stored (its hash left out), with its user's email."""

    id: int
    user_id: int
    email: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveToken:
    """A token that still acts (not revoked, not expired, its user active), with its user."""

    id: int
    expires_at: datetime | None
    user_id: int
    email: str
    name: str
    role: str


# --- users -----------------------------------------------------------------------------


def insert_user(
    conn: Connection,
    *,
    email: str,
    name: str,
    role: str,
    password_hash: str | None,
    skills: Sequence[str],
    languages: Sequence[str],
    capacity: int,
    now: datetime,
) -> int | None:
    """The new user's id; None when a user with this email exists (nothing is written)."""
    new_id = conn.execute(
        _INSERT_USER[conn.dialect.name],
        {
            "email": email,
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "skills": list(skills),
            "languages": list(languages),
            "capacity": capacity,
            "created_at": now,
        },
    ).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def user(conn: Connection, user_id: int) -> StoredUser | None:
    """The user with this id, active or not; None if there is none."""
    row = conn.execute(_USER_BY_ID, {"k_id": user_id}).first()
    return None if row is None else _user(row)


def user_by_email(conn: Connection, email: str) -> StoredUser | None:
    """The user with exactly this email (stored lower-case); None if there is none."""
    row = conn.execute(_USER_BY_EMAIL, {"k_email": email}).first()
    return None if row is None else _user(row)


def all_users(conn: Connection) -> list[StoredUser]:
    """Every user, active first, then by name (then id)."""
    return [_user(row) for row in conn.execute(_ALL_USERS)]


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
    presence: str | None = None,
    password_hash: str | None = None,
) -> None:
    """Write the fields given; None leaves a field as it is."""
    given: dict[str, Any] = {
        "name": name,
        "role": role,
        "skills": None if skills is None else list(skills),
        "languages": None if languages is None else list(languages),
        "capacity": capacity,
        "active": active,
        "presence": presence,
        "password_hash": password_hash,
    }
    values = {column: value for column, value in given.items() if value is not None}
    if values:
        conn.execute(update(users).where(users.c.id == user_id).values(values))


def active_admins(conn: Connection) -> int:
    """How many active users are admins."""
    return int(conn.execute(_ACTIVE_ADMINS).scalar_one())


# --- API tokens ------------------------------------------------------------------------


def insert_token(
    conn: Connection,
    *,
    user_id: int,
    token_hash: str,
    label: str,
    now: datetime,
    expires_at: datetime | None,
) -> int:
    """Store a new token's hash; its id."""
    return int(
        conn.execute(
            api_tokens.insert().returning(api_tokens.c.id),
            {
                "user_id": user_id,
                "token_hash": token_hash,
                "label": label,
                "created_at": now,
                "expires_at": expires_at,
            },
        ).scalar_one()
    )


def live_token(conn: Connection, token_hash: str, now: datetime) -> LiveToken | None:
    """The token with this hash if it still acts at `now` (not revoked, not expired, its
    user active); None otherwise."""
    row = conn.execute(_LIVE_TOKEN, {"k_hash": token_hash, "k_now": now}).first()
    if row is None:
        return None
    return LiveToken(
        id=int(row.id),
        expires_at=row.expires_at,
        user_id=int(row.user_id),
        email=row.email,
        name=row.name,
        role=row.role,
    )


def mark_token_used(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(_TOKEN_USED, {"k_id": token_id, "k_now": now})


def rehash_token(conn: Connection, token_id: int, token_hash: str) -> None:
    """Store a token under another hash (the keyed one, replacing an older unkeyed one)."""
    conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(token_hash=token_hash)
    )


def tokens(conn: Connection, user_id: int | None = None) -> list[StoredToken]:
    """Every token (of one user, when given), oldest first, revoked and expired included."""
    query = _TOKENS if user_id is None else _TOKENS.where(api_tokens.c.user_id == user_id)
    return [_token(row) for row in conn.execute(query)]


def token(conn: Connection, token_id: int) -> StoredToken | None:
    row = conn.execute(_TOKENS.where(api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def token_by_hash(conn: Connection, token_hash: str) -> StoredToken | None:
    row = conn.execute(_TOKENS.where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else _token(row)


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    """Revoke one token; False when it was revoked already (or there is none)."""
    done = conn.execute(_REVOKE.where(api_tokens.c.id == token_id), {"k_now": now})
    return bool(done.rowcount)


def revoke_user_tokens(conn: Connection, user_id: int, now: datetime) -> int:
    """Revoke every token of a user not revoked yet; how many there were."""
    return conn.execute(_REVOKE.where(api_tokens.c.user_id == user_id), {"k_now": now}).rowcount


def _user(row: Any) -> StoredUser:
    return StoredUser(
        id=int(row.id),
        email=row.email,
        name=row.name,
        role=row.role,
        active=bool(row.active),
        skills=tuple(row.skills or ()),
        languages=tuple(row.languages or ()),
        capacity=int(row.capacity),
        presence=row.presence,
        password_hash=row.password_hash,
        created_at=row.created_at,
        last_assigned_at=row.last_assigned_at,
    )


def _token(row: Any) -> StoredToken:
    return StoredToken(
        id=int(row.id),
        user_id=int(row.user_id),
        email=row.email,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
