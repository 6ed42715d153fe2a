"""API tokens as people manage them: lifetimes such as "30d", listing, revoking.

Creating and checking a token live in `accounts` (`create_token`, `authenticate_token`);
deactivating a user revokes all of theirs there too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection

from relaydesk.adapters.storage import accounts as store
from relaydesk.adapters.storage.accounts import StoredToken
from relaydesk.services import accounts, audit
from relaydesk.services.accounts import AccountError

TokenState = Literal["active", "expired", "revoked"]
MAX_LIFETIME = timedelta(days=3650)
_LIFETIME = re.compile(r"^\s*(\d{1,7})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class UnknownTokenError(AccountError):
    """There is no such token (or it is someone else's)."""

    status = 404


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as people see it (never the token or its hash)."""

    id: int
    user_id: int
    email: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> TokenState:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def parse_lifetime(text: str) -> timedelta:
    """A token lifetime as typed: a whole number and a unit, m(inutes), h(ours), d(ays)
    or w(eeks), e.g. "30d"; at most 10 years."""
    found = _LIFETIME.match(text)
    if found is None:
        raise AccountError(
            f"expiry {text!r} is not a duration like 90m, 12h, 30d or 8w "
            "(a whole number and m, h, d or w)"
        )
    lifetime = timedelta(**{_UNITS[found[2]]: int(found[1])})
    if lifetime <= timedelta(0):
        raise AccountError(f"expiry {text!r} is zero; give a positive duration such as 30d")
    if lifetime > MAX_LIFETIME:
        raise AccountError(
            f"expiry {text!r} is longer than {MAX_LIFETIME.days} days; "
            "choose a shorter one, or none for a token that lasts until revoked"
        )
    return lifetime


def issue(
    conn: Connection,
    *,
    email: str,
    label: str,
    now: datetime,
    key: str,
    lifetime: timedelta | None = None,
    actor: audit.Actor | None = None,
) -> tuple[str, TokenInfo]:
    """A new token for the user with this email, and what is stored about it (audited as
    `token.created` by `actor`; None: the command line)."""
    token = accounts.create_token(
        conn, email=email, label=label, now=now, key=key, lifetime=lifetime, actor=actor
    )
    row = store.token_by_hash(conn, accounts.token_hash(token, key))
    if row is None:  # pragma: no cover - inserted just now, in this transaction
        raise RuntimeError("the new token's row is missing")
    return token, _info(row)


def list_tokens(conn: Connection, *, user_id: int | None = None) -> list[TokenInfo]:
    """Every token, or one user's, oldest first (revoked and expired ones included)."""
    return [_info(row) for row in store.tokens(conn, user_id)]


def get_token(conn: Connection, token_id: int, *, owner_id: int | None = None) -> TokenInfo:
    """One token; with `owner_id`, only when it is that user's (others' are not found)."""
    row = store.token(conn, token_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise UnknownTokenError(
            f"no token with id {token_id}; `relaydesk tokens list` or GET /api/v1/tokens shows them"
        )
    return _info(row)


def revoke(
    conn: Connection,
    token_id: int,
    now: datetime,
    *,
    owner_id: int | None = None,
    actor: audit.Actor | None = None,
) -> tuple[TokenInfo, bool]:
    """Revoke a token at once; the token, and False when it was revoked already. Audited
    as `token.revoked` by `actor` (None: the command line)."""
    get_token(conn, token_id, owner_id=owner_id)
    revoked = store.revoke_token(conn, token_id, now)
    info = get_token(conn, token_id)
    if revoked:
        audit.record(
            conn,
            "token.revoked",
            now=now,
            actor=actor,
            target=f"token:{token_id}",
            before={"revoked": False},
            after={"revoked": True, "user_id": info.user_id},
        )
    return info, revoked


def _info(stored: StoredToken) -> TokenInfo:
    return TokenInfo(
        id=stored.id,
        user_id=stored.user_id,
        email=stored.email,
        label=stored.label,
        created_at=stored.created_at,
        last_used_at=stored.last_used_at,
        expires_at=stored.expires_at,
        revoked_at=stored.revoked_at,
    )
