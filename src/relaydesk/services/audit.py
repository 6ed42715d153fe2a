"""The audit log: every sign-in and sign-out, user, token and role change, agent action and
erasure, with its actor, time, target and the state before and after.

Services call `record(conn, ...)` inside the transaction that makes the change, so an entry
exists exactly when the change was committed. Entries name targets by id (`conversation:12`,
`user:3`, `token:7`, `customer:5`) and never hold message text or customer identities:
erasing a customer leaves the log as it is, and the log itself is append-only (the database
refuses UPDATE and DELETE on it).

Other services (brief changes, rollouts) record with the same function, e.g.
`audit.record(conn, "brief.changed", now=now, actor=user, target="brief",
before={"version": old}, after={"version": new})`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from relaydesk.adapters.storage import audit as audit_store
from relaydesk.adapters.storage.audit import AuditEntry

__all__ = [
    "ACTIONS",
    "Actor",
    "AuditEntry",
    "AuditFilter",
    "AuditStore",
    "entries",
    "record",
    "to_csv",
]

#: The actions recorded today (others may be added by the services that need them).
ACTIONS: tuple[str, ...] = (
    "sign_in",
    "sign_in.failed",
    "sign_out",
    "user.created",
    "user.updated",
    "user.role_changed",
    "token.created",
    "token.revoked",
    "conversation.replied",
    "conversation.transferred",
    "conversation.escalated",
    "conversation.resolved",
    "conversation.feedback",
    "conversation.failure_tags",
    "customer.exported",
    "customer.erased",
    "brief.changed",
    "rollout.changed",
    "integration.retried",
)
MAX_PAGE = 500


class Actor(Protocol):
    """Who did it: a user (`accounts.User`, a console session's user, a token's user)."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...


class AuditStore(Protocol):
    """Where entries go (`adapters.storage.audit`; rule tests pass an in-memory fake)."""

    def append(
        self,
        conn: Connection,
        *,
        at: datetime,
        actor_id: int | None,
        actor: str | None,
        action: str,
        target: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> int: ...


def record(
    conn: Connection,
    action: str,
    *,
    now: datetime,
    actor: Actor | None = None,
    target: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    store: AuditStore = audit_store,
) -> int:
    """Append an entry (in the caller's transaction); its id. `actor` None: the system or
    an anonymous caller (a failed sign-in). `before`/`after` must be JSON values."""
    if not action or len(action) > 64:
        raise ValueError(f"audit action {action!r}: give a name of 1 to 64 characters")
    return store.append(
        conn,
        at=now,
        actor_id=None if actor is None else actor.id,
        actor=None if actor is None else actor.email,
        action=action,
        target=target,
        before=before,
        after=after,
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    target: str | None = None  #: exact, or a prefix ending in ':' (`customer:`)
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def entries(conn: Connection, where: AuditFilter) -> list[AuditEntry]:
    """Newest first, at most `where.limit` (capped at MAX_PAGE)."""
    if not 1 <= where.limit <= MAX_PAGE:
        raise ValueError(f"limit {where.limit}: give 1 to {MAX_PAGE}")
    return audit_store.entries(
        conn,
        actor_id=where.actor_id,
        action=where.action,
        target=where.target,
        since=where.since,
        until=where.until,
        before_id=where.before_id,
        limit=where.limit,
    )


CSV_HEADER = ("id", "at", "actor_id", "actor", "action", "target", "before", "after")


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    # a cell a spreadsheet would run as a formula is quoted as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: Iterable[AuditEntry]) -> str:
    """The entries as CSV (header first; before/after as JSON)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in rows:
        data = as_dict(entry)
        writer.writerow([_cell(data[name]) for name in CSV_HEADER])
    return out.getvalue()
