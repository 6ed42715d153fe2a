"""Queries of the sign-in throttle (`login_attempts`): per-account serialisation, recent
attempts, recording and forgetting them."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, delete, select, text

from relaydesk.adapters.storage.tables import login_attempts


def lock_account_key(conn: Connection, account_key: str) -> None:
    """Serialise attempts on one account key until the transaction ends. SQLite's write
    transaction (BEGIN IMMEDIATE) already excludes every other writer, in any process; on
    PostgreSQL a transaction-scoped advisory lock on 32 bits of the key's hash does, in a
    key space of the schema's own (advisory locks are database-wide)."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(account_key.encode()).digest()
        lock = int.from_bytes(digest[:4], "big", signed=True)
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock("
                "hashtext('relaydesk.throttle:' || current_schema()), CAST(:lock AS integer))"
            ),
            {"lock": lock},
        )


def recent_attempts(conn: Connection, account_key: str, since: datetime) -> list[datetime]:
    """When the key's attempts after `since` were made, oldest first."""
    rows = conn.execute(
        select(login_attempts.c.at)
        .where(login_attempts.c.account_key == account_key, login_attempts.c.at > since)
        .order_by(login_attempts.c.at)
    )
    return [row.at for row in rows]


def add_attempt(conn: Connection, account_key: str, at: datetime) -> None:
    conn.execute(login_attempts.insert().values(account_key=account_key, at=at))


def forget_account_key(conn: Connection, account_key: str) -> None:
    conn.execute(delete(login_attempts).where(login_attempts.c.account_key == account_key))


def forget_before(conn: Connection, before: datetime) -> int:
    """Delete attempts made at or before `before` (they no longer count for anyone)."""
    return conn.execute(delete(login_attempts).where(login_attempts.c.at <= before)).rowcount
