"""`adapters.storage.accounts` (and the one session query accounts need) over dicts, for
testing the account rules of `services.accounts` without a database. It behaves as the SQL
does where the rules can tell: emails are unique, a live token is neither revoked nor
expired and belongs to an active user, revoking counts what was still live.
(The SQL itself is tested on both databases in tests/integration/test_storage_accounts.py.)"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection

from relaydesk.adapters.storage.accounts import LiveToken, StoredUser

#: What the services get for a connection: the fake never uses it.
NO_DB = cast(Connection, None)


@dataclass(frozen=True, slots=True)
class FakeToken:
    id: int
    user_id: int
    token_hash: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class FakeAccountStore:
    def __init__(self) -> None:
        self.users: dict[int, StoredUser] = {}
        self.tokens: dict[int, FakeToken] = {}
        self.sessions: dict[int, int] = {}  #: console session id -> user id
        self.audit: list[dict[str, Any]] = []  #: audit entries, oldest first
        self._user_ids = itertools.count(1)
        self._token_ids = itertools.count(1)

    # --- users ---------------------------------------------------------------------

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
    ) -> int | None:
        if any(u.email == email for u in self.users.values()):
            return None
        new_id = next(self._user_ids)
        self.users[new_id] = StoredUser(
            id=new_id,
            email=email,
            name=name,
            role=role,
            active=True,
            skills=tuple(skills),
            languages=tuple(languages),
            capacity=capacity,
            presence="offline",
            password_hash=password_hash,
            created_at=now,
            last_assigned_at=None,
        )
        return new_id

    def user(self, conn: Connection, user_id: int) -> StoredUser | None:
        return self.users.get(user_id)

    def user_by_email(self, conn: Connection, email: str) -> StoredUser | None:
        return next((u for u in self.users.values() if u.email == email), None)

    def all_users(self, conn: Connection) -> list[StoredUser]:
        return sorted(self.users.values(), key=lambda u: (not u.active, u.name, u.id))

    def update_user(
        self,
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
        if user_id not in self.users:
            return
        given = {
            "name": name,
            "role": role,
            "skills": None if skills is None else tuple(skills),
            "languages": None if languages is None else tuple(languages),
            "capacity": capacity,
            "active": active,
            "presence": presence,
            "password_hash": password_hash,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        self.users[user_id] = replace(self.users[user_id], **changes)  # type: ignore[arg-type]

    def active_admins(self, conn: Connection) -> int:
        return sum(1 for u in self.users.values() if u.role == "admin" and u.active)

    # --- API tokens ----------------------------------------------------------------

    def insert_token(
        self,
        conn: Connection,
        *,
        user_id: int,
        token_hash: str,
        label: str,
        now: datetime,
        expires_at: datetime | None,
    ) -> int:
        new_id = next(self._token_ids)
        self.tokens[new_id] = FakeToken(new_id, user_id, token_hash, label, now, expires_at)
        return new_id

    def live_token(self, conn: Connection, token_hash: str, now: datetime) -> LiveToken | None:
        for t in self.tokens.values():
            owner = self.users[t.user_id]
            if (
                t.token_hash == token_hash
                and t.revoked_at is None
                and (t.expires_at is None or t.expires_at > now)
                and owner.active
            ):
                return LiveToken(t.id, t.expires_at, owner.id, owner.email, owner.name, owner.role)
        return None

    def mark_token_used(self, conn: Connection, token_id: int, now: datetime) -> None:
        self.tokens[token_id] = replace(self.tokens[token_id], last_used_at=now)

    def rehash_token(self, conn: Connection, token_id: int, token_hash: str) -> None:
        self.tokens[token_id] = replace(self.tokens[token_id], token_hash=token_hash)

    def revoke_user_tokens(self, conn: Connection, user_id: int, now: datetime) -> int:
        live = [t for t in self.tokens.values() if t.user_id == user_id and t.revoked_at is None]
        for t in live:
            self.tokens[t.id] = replace(t, revoked_at=now)
        return len(live)

    # --- console sessions (`adapters.storage.sessions.end_for_user`) ------------------

    def end_for_user(self, conn: Connection, user_id: int) -> int:
        ended = [sid for sid, owner in self.sessions.items() if owner == user_id]
        for sid in ended:
            del self.sessions[sid]
        return len(ended)

    # --- the audit log (`adapters.storage.audit.append`) --------------------------------

    def append(self, conn: Connection, **entry: Any) -> int:
        self.audit.append(entry)
        return len(self.audit)
