"""Console sessions (`console_sessions`): started, found by the hash of their cookie token
with their user, kept alive, ended. The token itself is never stored; the rules (idle
expiry, CSRF) live in `services.sessions`. Every function takes the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update

from relaydesk.adapters.storage.tables import console_sessions, users

_B = bindparam
_INSERT = console_sessions.insert().returning(console_sessions.c.id)
_BY_HASH = (
    select(
        console_sessions.c.id,
        console_sessions.c.csrf_token,
        console_sessions.c.expires_at,
        console_sessions.c.last_seen_at,
        users.c.id.label("user_id"),
        users.c.email,
        users.c.name,
        users.c.role,
        users.c.active,
        users.c.presence,
    )
    .join(users, users.c.id == console_sessions.c.user_id)
    .where(console_sessions.c.token_hash == _B("k_hash"))
)
_TOUCH = (
    update(console_sessions)
    .where(console_sessions.c.id == _B("k_id"))
    .values(last_seen_at=_B("k_now"), expires_at=_B("k_expires"))
)
_DELETE_BY_HASH = (
    delete(console_sessions)
    .where(console_sessions.c.token_hash == _B("k_hash"))
    .returning(console_sessions.c.id, console_sessions.c.user_id)
)
_DELETE_OF_USER = delete(console_sessions).where(console_sessions.c.user_id == _B("k_user"))
_DELETE_EXPIRED = delete(console_sessions).where(console_sessions.c.expires_at <= _B("k_now"))


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session with what the console needs of its user (active or not: the caller
    decides what a deactivated user's session means)."""

    id: int
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    user_id: int
    email: str
    name: str
    role: str
    active: bool
    presence: str


@dataclass(frozen=True, slots=True)
class Ended:
    """A session that was deleted."""

    id: int
    user_id: int


def insert(
    conn: Connection,
    *,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Store a new session, last seen now; its id."""
    return int(
        conn.execute(
            _INSERT,
            {
                "token_hash": token_hash,
                "user_id": user_id,
                "csrf_token": csrf_token,
                "created_at": now,
                "expires_at": expires_at,
                "last_seen_at": now,
            },
        ).scalar_one()
    )


def by_token_hash(conn: Connection, token_hash: str) -> StoredSession | None:
    """The session whose cookie token has this hash, expired or not; None if there is none."""
    row = conn.execute(_BY_HASH, {"k_hash": token_hash}).first()
    if row is None:
        return None
    return StoredSession(
        id=int(row.id),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        last_seen_at=row.last_seen_at,
        user_id=int(row.user_id),
        email=row.email,
        name=row.name,
        role=row.role,
        active=bool(row.active),
        presence=row.presence,
    )


def touch(conn: Connection, session_id: int, now: datetime, expires_at: datetime) -> None:
    """The session was seen now and lasts until `expires_at`."""
    conn.execute(_TOUCH, {"k_id": session_id, "k_now": now, "k_expires": expires_at})


def delete_by_token_hash(conn: Connection, token_hash: str) -> Ended | None:
    """Delete the session whose cookie token has this hash; None when there was none."""
    row = conn.execute(_DELETE_BY_HASH, {"k_hash": token_hash}).first()
    return None if row is None else Ended(int(row.id), int(row.user_id))


def end_for_user(conn: Connection, user_id: int) -> int:
    """Delete every session of a user; how many there were."""
    return conn.execute(_DELETE_OF_USER, {"k_user": user_id}).rowcount


def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete the sessions expired at `now`; how many there were."""
    return conn.execute(_DELETE_EXPIRED, {"k_now": now}).rowcount
