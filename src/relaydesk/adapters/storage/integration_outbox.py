"""Queries of the integration outbox: write-backs to CRMs and webhooks.

`enqueue` runs in the transaction of the event it copies (integration "*"); `fan_out`
turns those rows into one per configured integration; `claim` leases the next row of each
(integration, conversation) that is due, never one whose predecessor is still pending, so
each integration sees a conversation's events in order. Every function takes the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from relaydesk.adapters.storage.tables import integration_outbox as box

ANY = "*"  #: not yet fanned out
PENDING, DONE, DEAD = "pending", "done", "dead"
_ERROR_MAX = 300


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    seq: int
    integration: str
    event_type: str
    conversation_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int  #: made before this claim
    due_at: datetime
    created_at: datetime
    last_error: str | None
    finished_at: datetime | None


def enqueue(
    conn: Connection,
    event_type: str,
    *,
    conversation_id: int | None,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        insert(box).values(
            seq=0,
            integration=ANY,
            event_type=event_type,
            conversation_id=conversation_id,
            payload=dict(payload),
            status=PENDING,
            attempts=0,
            due_at=now,
            created_at=now,
        )
    )


def message_failed(
    conn: Connection,
    conversation_id: int | None,
    message_id: int,
    error_code: int | None,
    now: datetime | None = None,
) -> None:
    """A WhatsApp message given up on (by the outbox, or a `failed` status webhook)."""
    at = now or datetime.now(UTC)
    enqueue(
        conn,
        "message.failed",
        conversation_id=conversation_id,
        payload={
            "conversation_id": conversation_id,
            "occurred_at": at.isoformat(),
            "message_id": message_id,
            "error_code": error_code,
        },
        now=at,
    )


def fan_out(
    conn: Connection, targets: Mapping[str, Sequence[str]], now: datetime, *, limit: int = 500
) -> int:
    """Copy up to `limit` new rows to each integration in `targets` (name -> the event types
    it takes), oldest first, and delete them; returns how many rows were taken."""
    query = select(box).where(box.c.integration == ANY).order_by(box.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    if not rows:
        return 0
    copies = [
        {
            "seq": row.id,
            "integration": name,
            "event_type": row.event_type,
            "conversation_id": row.conversation_id,
            "payload": row.payload,
            "status": PENDING,
            "attempts": 0,
            "due_at": now,
            "created_at": row.created_at,
        }
        for row in rows
        for name, types in targets.items()
        if row.event_type in types
    ]
    if copies:
        conn.execute(insert(box), copies)
    conn.execute(delete(box).where(box.c.id.in_([row.id for row in rows])))
    return len(rows)


def has_new(conn: Connection) -> bool:
    """Whether some event waits to be fanned out."""
    return (
        conn.execute(select(box.c.id).where(box.c.integration == ANY).limit(1)).first() is not None
    )


def claim(
    conn: Connection,
    now: datetime,
    *,
    lease_until: datetime,
    integrations: Sequence[str],
    limit: int = 50,
) -> list[Row]:
    """Lease the due rows that are first in line in their (integration, conversation)."""
    earlier = aliased(box)
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.integration == box.c.integration,
            earlier.c.conversation_id == box.c.conversation_id,
            earlier.c.status == PENDING,
            earlier.c.seq < box.c.seq,
        )
        .exists()
    )
    query = (
        select(box)
        .where(
            box.c.status == PENDING,
            box.c.integration.in_(list(integrations)),
            box.c.due_at <= now,
            or_(box.c.leased_until.is_(None), box.c.leased_until <= now),
            ~blocked,
        )
        .order_by(box.c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=box)
    rows = [_row(r) for r in conn.execute(query)]
    if rows:
        conn.execute(
            update(box)
            .where(box.c.id.in_([r.id for r in rows]))
            .values(leased_until=lease_until, attempts=box.c.attempts + 1)
        )
    return rows


def done(conn: Connection, row_id: int, now: datetime) -> None:
    conn.execute(
        update(box)
        .where(box.c.id == row_id)
        .values(status=DONE, finished_at=now, leased_until=None, last_error=None)
    )


def retry(conn: Connection, row_id: int, due_at: datetime, error: str) -> None:
    conn.execute(
        update(box)
        .where(box.c.id == row_id)
        .values(due_at=due_at, leased_until=None, last_error=error[:_ERROR_MAX])
    )


def dead(conn: Connection, row_id: int, now: datetime, error: str) -> None:
    conn.execute(
        update(box)
        .where(box.c.id == row_id)
        .values(status=DEAD, finished_at=now, leased_until=None, last_error=error[:_ERROR_MAX])
    )


def dead_letters(conn: Connection, *, limit: int = 200) -> list[Row]:
    query = select(box).where(box.c.status == DEAD).order_by(box.c.id.desc()).limit(limit)
    return [_row(r) for r in conn.execute(query)]


def revive(conn: Connection, row_id: int, now: datetime) -> bool:
    """Put a dead letter back in line, due now with a fresh count; False if it is not one."""
    result = conn.execute(
        update(box)
        .where(box.c.id == row_id, box.c.status == DEAD)
        .values(status=PENDING, due_at=now, attempts=0, finished_at=None, leased_until=None)
    )
    return result.rowcount == 1


def get(conn: Connection, row_id: int) -> Row | None:
    found = conn.execute(select(box).where(box.c.id == row_id)).first()
    return _row(found) if found is not None else None


def for_conversation(conn: Connection, integration: str, conversation_id: int) -> list[Row]:
    query = (
        select(box)
        .where(and_(box.c.integration == integration, box.c.conversation_id == conversation_id))
        .order_by(box.c.seq)
    )
    return [_row(r) for r in conn.execute(query)]


def depth(conn: Connection) -> dict[tuple[str, str], int]:
    """Rows per (integration, status), for the metrics."""
    query = select(box.c.integration, box.c.status, func.count()).group_by(
        box.c.integration, box.c.status
    )
    return {(str(i), str(s)): int(n) for i, s, n in conn.execute(query)}


def _row(r: Any) -> Row:
    return Row(
        id=int(r.id),
        seq=int(r.seq),
        integration=str(r.integration),
        event_type=str(r.event_type),
        conversation_id=r.conversation_id,
        payload=dict(r.payload or {}),
        status=str(r.status),
        attempts=int(r.attempts),
        due_at=r.due_at,
        created_at=r.created_at,
        last_error=r.last_error,
        finished_at=r.finished_at,
    )
