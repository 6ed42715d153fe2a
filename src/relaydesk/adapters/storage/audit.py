"""The audit log: append and read (no update, no delete: the table refuses both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from relaydesk.adapters.storage.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor: str | None
    action: str
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def append(
    conn: Connection,
    *,
    at: datetime,
    actor_id: int | None,
    actor: str | None,
    action: str,
    target: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    return int(
        conn.execute(
            insert(audit_log)
            .values(
                at=at,
                actor_id=actor_id,
                actor=actor,
                action=action,
                target=target,
                before=before,
                after=after,
            )
            .returning(audit_log.c.id)
        ).scalar_one()
    )


def entries(
    conn: Connection,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, filtered: an exact actor id and action, a target prefix (`customer:`
    or `conversation:12`), `since` <= at < `until`, ids below `before_id` (the next page)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor_id is not None:
        query = query.where(audit_log.c.actor_id == actor_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if target is not None:
        query = query.where(
            (audit_log.c.target == target) | audit_log.c.target.startswith(target, autoescape=True)
            if target.endswith(":")
            else audit_log.c.target == target
        )
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return [
        AuditEntry(
            id=int(row.id),
            at=row.at,
            actor_id=None if row.actor_id is None else int(row.actor_id),
            actor=row.actor,
            action=row.action,
            target=row.target,
            before=row.before,
            after=row.after,
        )
        for row in conn.execute(query)
    ]
