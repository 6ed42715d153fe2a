"""Brief versions and the change log: every brief a process loads is stored once per
content, with who changed it, why and the diff against the version before; each stored
version is an entry of the change log, which other changes (rollout phases, promotions,
rollbacks) are appended to with `append`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import brief_versions as store
from relaydesk.adapters.storage.brief_versions import BriefVersion, ChangeEntry
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import VERSION_CHARS, content_version
from relaydesk.services import audit

__all__ = ["BriefVersion", "ChangeEntry", "Recorded", "UnknownVersionError", "append", "diff",
           "line_counts", "record_brief", "resolve"]  # fmt: skip

log = structlog.get_logger(__name__)
#: The longest author and kind the log keeps (the columns' sizes).
MAX_AUTHOR = 200
MAX_KIND = 32
_HEX = re.compile(r"[0-9a-f]+")


class UnknownVersionError(LookupError):
    """A brief version that is not stored, or a prefix of more than one."""


@dataclass(frozen=True, slots=True)
class Recorded:
    version: str
    created: bool  #: False: this content was stored before (its first author is kept)
    previous: str | None


def unified(before: str, after: str, before_name: str, after_name: str) -> str:
    """The unified diff (3 lines of context) from one source to another; empty if equal."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=before_name,
        tofile=after_name,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def line_counts(diff_text: str) -> tuple[int, int]:
    lines = diff_text.splitlines()
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    return added, removed


def record_brief(
    db: Database,
    source: bytes,
    path: Path | str,
    *,
    author: str | None,
    message: str | None,
    now: datetime,
) -> Recorded:
    """Store the brief read from `source` as a version unless that content is stored
    already; a new version also enters the change log."""
    version = content_version(source)
    text = source.decode("utf-8", errors="replace")
    author = _clean(author, MAX_AUTHOR)
    message = _clean(message, None)
    with db.write() as conn:
        known = store.matching(conn, version)
        if known:
            return Recorded(version, False, known[0].previous_version)
        previous = store.latest(conn)
        diff_text = (
            ""
            if previous is None
            else unified(previous.source, text, f"brief {previous.version}", f"brief {version}")
        )
        created = store.insert(
            conn,
            {
                "version": version,
                "author": author,
                "message": message,
                "path": str(path),
                "source": text,
                "previous_version": previous.version if previous else None,
                "diff": diff_text,
                "created_at": now,
            },
        )
        if created:
            added, removed = line_counts(diff_text)
            summary = message or (
                f"brief {version} loaded from {path}"
                + ("" if previous is None else f" (+{added} -{removed} lines)")
            )
            detail = {
                "previous": previous.version if previous else None,
                "added": added,
                "removed": removed,
            }
            audit.record(
                conn,
                "brief.changed",
                now=now,
                target=f"brief:{version}",
                before={"version": detail["previous"]},
                after={"version": version, "author": author, "path": str(path)},
            )
            store.append_change(
                conn,
                kind="brief",
                summary=summary,
                author=author,
                brief_version=version,
                detail=detail,
                now=now,
            )
    if created:
        log.info("brief_version_stored", version=version, previous=detail["previous"])
    return Recorded(version, created, previous.version if previous else None)


def append(
    conn: Connection,
    kind: str,
    summary: str,
    *,
    now: datetime,
    author: str | None = None,
    brief_version: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append a change (e.g. kind "rollout": a phase change, a promotion, a rollback) to
    the change log, in the caller's transaction; returns its id."""
    kind, summary = kind.strip(), summary.strip()
    if not kind or len(kind) > MAX_KIND:
        raise ValueError(f"change kind {kind!r}: give a word of 1 to {MAX_KIND} characters")
    if not summary:
        raise ValueError("change summary is empty: say what changed and why")
    return store.append_change(
        conn,
        kind=kind,
        summary=summary,
        author=_clean(author, MAX_AUTHOR),
        brief_version=brief_version,
        detail=detail or {},
        now=now,
    )


def resolve(conn: Connection, prefix: str) -> BriefVersion:
    """The stored version named by `prefix` (its hash or the start of it); one that cannot
    be the start of a hash (not hex, longer than a hash) is refused before any query."""
    wanted = prefix.strip().lower()
    if len(wanted) > VERSION_CHARS or not _HEX.fullmatch(wanted):
        raise UnknownVersionError(
            f"brief version {_shown(prefix)} is not a version hash: give 4 to {VERSION_CHARS} "
            "of its hex characters (0-9, a-f) as `relaydesk brief log` shows them"
        )
    found = store.matching(conn, wanted) if len(wanted) >= 4 else []
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise UnknownVersionError(
            f"brief version {prefix!r} matches more than one; give more of its hash"
        )
    raise UnknownVersionError(
        f"brief version {prefix!r} is not stored; `relaydesk brief log` lists the versions "
        "(give at least 4 characters of a hash)"
    )


def diff(conn: Connection, a: str, b: str) -> str:
    """The unified diff from stored version `a` to stored version `b`."""
    first, second = resolve(conn, a), resolve(conn, b)
    return unified(first.source, second.source, f"brief {first.version}", f"brief {second.version}")


def _shown(value: str) -> str:
    """`value` quoted for a message, its start only when it is long."""
    return repr(value) if len(value) <= 40 else f"{value[:40]!r}... ({len(value)} characters)"


def _clean(value: str | None, limit: int | None) -> str | None:
    value = (value or "").strip()
    if limit is not None and len(value) > limit:
        raise ValueError(
            f"author {value[:40]!r}... is {len(value)} characters; give at most {limit}"
        )
    return value or None
