"""Operator accounts and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from relaydesk.adapters.storage.tables import api_tokens, users

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "admin")
TOKEN_PREFIX = "rdk_"  # noqa: S105 - a public prefix, not a secret
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A user or token request that cannot be done as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    role: Role


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
    if not name.strip():
        raise AccountError("name is empty; give the person's display name")
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of: {', '.join(ROLES)}")
    if not 0 <= capacity <= 100:
        raise AccountError(f"capacity {capacity} is not 0 to 100 concurrent conversations")
    if password is not None and len(password) < 12:
        raise AccountError("password is shorter than 12 characters; choose a longer one")
    try:
        new_id = conn.execute(
            users.insert()
            .values(
                email=email,
                name=name.strip(),
                role=role,
                password_hash=_hasher.hash(password) if password else None,
                skills=sorted({s.strip() for s in skills if s.strip()}),
                languages=sorted({lang.strip().lower() for lang in languages if lang.strip()}),
                capacity=capacity,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    except IntegrityError:
        raise AccountError(f"a user with email {email!r} already exists") from None
    return User(new_id, email, name.strip(), role)


def create_token(conn: Connection, *, email: str, label: str, now: datetime) -> str:
    """A new bearer token for the user; only its hash is stored, so print it once."""
    row = conn.execute(
        select(users.c.id, users.c.active).where(users.c.email == email.strip().lower())
    ).first()
    if row is None:
        raise AccountError(
            f"no user with email {email!r}; create one with `relaydesk users create`"
        )
    if not row.active:
        raise AccountError(f"user {email!r} is deactivated")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        api_tokens.insert().values(
            user_id=row.id, token_hash=_token_hash(token), label=label, created_at=now
        )
    )
    return token


def authenticate_token(conn: Connection, token: str, now: datetime) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(
            api_tokens.c.id, users.c.id.label("user_id"), users.c.email, users.c.name, users.c.role
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(
            api_tokens.c.token_hash == _token_hash(token),
            api_tokens.c.revoked_at.is_(None),
            users.c.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=now))
    return User(row.user_id, row.email, row.name, row.role)


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (argon2 is for passwords).
    return hashlib.sha256(token.encode()).hexdigest()
