"""What the account rules are made of: their errors, the user as the app and as
administrators see them, and the storage they read and write (`AccountStore`, implemented
by `adapters.storage.accounts`; tests pass an in-memory fake)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from relaydesk.adapters.storage.accounts import LiveToken, StoredUser
from relaydesk.domain.permissions import Role


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


class AccountStore(Protocol):
    """What the account rules read and write (`adapters.storage.accounts`; tests pass an
    in-memory fake)."""

    def insert_user(
        self,
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
    ) -> int | None: ...

    def user(self, conn: Connection, user_id: int) -> StoredUser | None: ...

    def user_by_email(self, conn: Connection, email: str) -> StoredUser | None: ...

    def all_users(self, conn: Connection) -> list[StoredUser]: ...

    def update_user(
        self,
        conn: Connection,
        user_id: int,
        *,
        name: str | None = ...,
        role: str | None = ...,
        skills: Sequence[str] | None = ...,
        languages: Sequence[str] | None = ...,
        capacity: int | None = ...,
        active: bool | None = ...,
        presence: str | None = ...,
        password_hash: str | None = ...,
    ) -> None: ...

    def active_admins(self, conn: Connection) -> int: ...

    def insert_token(
        self,
        conn: Connection,
        *,
        user_id: int,
        token_hash: str,
        label: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> int: ...

    def live_token(self, conn: Connection, token_hash: str, now: datetime) -> LiveToken | None: ...

    def mark_token_used(self, conn: Connection, token_id: int, now: datetime) -> None: ...

    def rehash_token(self, conn: Connection, token_id: int, token_hash: str) -> None: ...

    def revoke_user_tokens(self, conn: Connection, user_id: int, now: datetime) -> int: ...


class SessionEnder(Protocol):
    """Ends a user's console sessions (`adapters.storage.sessions`)."""

    def end_for_user(self, conn: Connection, user_id: int) -> int: ...
