"""Queries that list, revoke and end a user's credentials: API tokens and console sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, select, update

from relaydesk.adapters.storage.tables import api_tokens, console_sessions, users


def _tokens() -> Select[Any]:
    return (
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


def token_rows(conn: Connection, user_id: int | None = None) -> list[Any]:
    """Every token (of one user, when given), oldest first, with its user's email."""
    query = _tokens()
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    return list(conn.execute(query))


def token_row(conn: Connection, token_id: int) -> Any | None:
    return conn.execute(_tokens().where(api_tokens.c.id == token_id)).first()


def token_row_by_hash(conn: Connection, token_hash: str) -> Any | None:
    return conn.execute(_tokens().where(api_tokens.c.token_hash == token_hash)).first()


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    """Revoke one token; False when it was revoked already."""
    done = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)


def revoke_user_tokens(conn: Connection, user_id: int, now: datetime) -> int:
    """Revoke every live token of a user; how many there were."""
    return conn.execute(
        update(api_tokens)
        .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount


def end_user_sessions(conn: Connection, user_id: int) -> int:
    """Delete every console session of a user; how many there were."""
    return conn.execute(
        delete(console_sessions).where(console_sessions.c.user_id == user_id)
    ).rowcount
