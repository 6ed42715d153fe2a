"""Console sign-in: server-side sessions with a per-session CSRF token.

The browser holds a random token in an HttpOnly cookie; the database holds only its
HMAC-SHA256 under `RELAYDESK_SECRET_KEY` (`console_sessions.token_hash`), so a leaked table
does not sign anybody in, nor tells whether a cookie is a live session, without the key.
A session ends after `SESSION_IDLE` without a request, on sign-out, or when the user's
password changes or they are deactivated (by `accounts.update_user`, whatever asked).
Every state-changing request must carry the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import accounts as accounts_store
from relaydesk.adapters.storage import sessions as store
from relaydesk.domain.permissions import Role
from relaydesk.services import accounts, audit
from relaydesk.services.accounts import User

log = structlog.get_logger(__name__)

#: Idle time after which a console session ends and the person signs in again.
SESSION_IDLE = timedelta(hours=8)
#: A session's expiry is pushed forward at most this often (not on every request).
_KEEP_ALIVE_EVERY = timedelta(minutes=1)

Expired = Literal["expired"]
EXPIRED: Expired = "expired"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    id: int
    user: User
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    presence: str = "offline"  #: the user's, when the session was read

    def due_for_keep_alive(self, now: datetime) -> bool:
        return now - self.last_seen_at >= _KEEP_ALIVE_EVERY


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  #: goes into the cookie; never stored
    session: ConsoleSession


def login(
    conn: Connection,
    email: str,
    password: str,
    now: datetime,
    *,
    key: str,
    idle: timedelta = SESSION_IDLE,
) -> NewSession | None:
    """A new session for the person with this email and password, or None when either
    is wrong (the caller must not say which)."""
    user = accounts.verify_password(conn, email, password, now)
    if user is None:
        log.info("console_login_failed")
        known = accounts_store.user_by_email(conn, email.strip().lower())
        # the target is the account tried, when there is one; an unknown address typed is
        # not kept (it may be a password typed in the wrong field)
        audit.record(
            conn,
            "sign_in.failed",
            now=now,
            target=None if known is None else f"user:{known.id}",
            after={"via": "console"},
        )
        return None
    purge_expired(conn, now)
    new = start(conn, user, now, key=key, idle=idle)
    audit.record(
        conn,
        "sign_in",
        now=now,
        actor=user,
        target=f"user:{user.id}",
        after={"via": "console", "session_id": new.session.id},
    )
    log.info("console_login", user_id=user.id, role=user.role, session_id=new.session.id)
    return new


def start(
    conn: Connection, user: User, now: datetime, *, key: str, idle: timedelta = SESSION_IDLE
) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + idle
    session_id = store.insert(
        conn,
        token_hash=token_hash(token, key),
        user_id=user.id,
        csrf_token=csrf,
        now=now,
        expires_at=expires,
    )
    return NewSession(token, ConsoleSession(session_id, user, csrf, expires, now))


def lookup(
    conn: Connection, token: str, now: datetime, *, key: str
) -> ConsoleSession | Expired | None:
    """The session behind a cookie token, EXPIRED when it timed out, or None when there
    is no such session or its user was deactivated. Reads only: see `keep_alive`; expired
    rows are deleted by `purge_expired` at the next sign-in."""
    if not token:
        return None
    found = store.by_token_hash(conn, token_hash(token, key))
    if found is None or not found.active:
        return None
    if found.expires_at <= now:
        return EXPIRED
    user = User(found.user_id, found.email, found.name, Role(found.role))
    return ConsoleSession(
        found.id, user, found.csrf_token, found.expires_at, found.last_seen_at, found.presence
    )


def keep_alive(
    conn: Connection, session: ConsoleSession, now: datetime, *, idle: timedelta = SESSION_IDLE
) -> None:
    """Push the session's idle expiry forward from now."""
    store.touch(conn, session.id, now, now + idle)


def logout(conn: Connection, token: str, now: datetime, *, key: str) -> bool:
    """End the session behind this cookie token; False when there was none."""
    found = store.delete_by_token_hash(conn, token_hash(token, key))
    if found is None:
        return False
    user = accounts_store.user(conn, found.user_id)
    audit.record(
        conn,
        "sign_out",
        now=now,
        actor=user,
        target=f"user:{found.user_id}",
        after={"session_id": found.id},
    )
    log.info("console_logout", user_id=found.user_id, session_id=found.id)
    return True


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of a user (`accounts.update_user` does, after a password change
    or deactivation)."""
    return store.end_for_user(conn, user_id)


def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete the sessions that have expired (at each sign-in); how many there were."""
    return store.purge_expired(conn, now)


def csrf_ok(session: ConsoleSession, supplied: str | None) -> bool:
    """Whether a request carries this session's CSRF token (compared in constant time)."""
    if not supplied:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), supplied.encode())


def token_hash(token: str, key: str) -> str:
    """What is stored of a session token: its HMAC-SHA256 under `RELAYDESK_SECRET_KEY`
    (the token carries 256 random bits, so a fast keyed hash is enough)."""
    return accounts.keyed_hash(key, "console-session", token)
