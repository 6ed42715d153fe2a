"""Stored brief versions (`brief_versions`) and the change log (`change_log`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from relaydesk.adapters.storage.tables import brief_versions, change_log, decisions


@dataclass(frozen=True, slots=True)
class BriefVersion:
    id: int
    version: str
    author: str | None
    message: str | None
    path: str
    source: str
    previous_version: str | None
    diff: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    id: int
    kind: str
    summary: str
    author: str | None
    brief_version: str | None
    detail: dict[str, Any]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "summary": self.summary,
            "author": self.author,
            "brief_version": self.brief_version,
            "detail": self.detail,
            "created_at": self.created_at.isoformat(),
        }


_LATEST = select(brief_versions).order_by(brief_versions.c.id.desc()).limit(1)


def latest(conn: Connection) -> BriefVersion | None:
    row = conn.execute(_LATEST).first()
    return None if row is None else BriefVersion(**row._mapping)


def matching(conn: Connection, prefix: str) -> list[BriefVersion]:
    """The versions whose hash starts with `prefix` (a whole hash matches one)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(brief_versions)
        .where(brief_versions.c.version.like(f"{escaped}%", escape="\\"))
        .order_by(brief_versions.c.id)
        .limit(2)
    )
    return [BriefVersion(**row._mapping) for row in conn.execute(query)]


def insert(conn: Connection, values: dict[str, Any]) -> bool:
    """Store a version; False when that content is stored already (another process)."""
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert_(brief_versions)
        .values(values)
        .on_conflict_do_nothing(index_elements=["version"])
        .returning(brief_versions.c.id)
    )
    return conn.execute(statement).first() is not None


def history(conn: Connection, limit: int) -> list[BriefVersion]:
    """The newest `limit` versions, newest first."""
    query = select(brief_versions).order_by(brief_versions.c.id.desc()).limit(limit)
    return [BriefVersion(**row._mapping) for row in conn.execute(query)]


def decision_counts(conn: Connection, versions: list[str]) -> dict[str, int]:
    """How many decisions each version made."""
    query = (
        select(decisions.c.policy_version, func.count())
        .where(decisions.c.policy_version.in_(versions))
        .group_by(decisions.c.policy_version)
    )
    return {str(v): int(n) for v, n in conn.execute(query)}


def append_change(
    conn: Connection,
    *,
    kind: str,
    summary: str,
    author: str | None,
    brief_version: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> int:
    values = {
        "kind": kind,
        "summary": summary,
        "author": author,
        "brief_version": brief_version,
        "detail": detail,
        "created_at": now,
    }
    return int(
        conn.execute(change_log.insert().values(values).returning(change_log.c.id)).scalar_one()
    )


def changes(conn: Connection, start: datetime, end: datetime) -> list[ChangeEntry]:
    """The change log's entries in `[start, end)`, oldest first."""
    query = (
        select(change_log)
        .where(change_log.c.created_at >= start, change_log.c.created_at < end)
        .order_by(change_log.c.created_at, change_log.c.id)
    )
    return [ChangeEntry(**row._mapping) for row in conn.execute(query)]


def recent_changes(conn: Connection, limit: int) -> list[ChangeEntry]:
    """The newest `limit` entries of the change log, newest first."""
    query = select(change_log).order_by(change_log.c.id.desc()).limit(limit)
    return [ChangeEntry(**row._mapping) for row in conn.execute(query)]
