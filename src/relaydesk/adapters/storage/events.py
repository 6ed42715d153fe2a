"""The event log (`events`): rows written beside the change they describe, read in id
order, and on PostgreSQL a NOTIFY on `CHANNEL` that is delivered when the writing
transaction commits (`listening` waits for it). The NOTIFY carries the writer's schema,
so deployments that share a database in separate schemas do not wake each other.
psycopg is imported only by the listener, so a process that never listens does not
load it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import URL, Connection, bindparam, func, select, text

from relaydesk.adapters.storage.tables import events

CHANNEL = "relaydesk_events"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', current_schema())")
_INSERT = events.insert()
_AFTER = (
    select(events)
    .where(events.c.id > bindparam("k_after"))
    .order_by(events.c.id)
    .limit(bindparam("k_limit"))
)
_BY_IDS = (
    select(events).where(events.c.id.in_(bindparam("k_ids", expanding=True))).order_by(events.c.id)
)
_LAST_ID = select(func.coalesce(func.max(events.c.id), 0))


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    conversation_id: int | None
    actor_id: int | None
    detail: dict[str, Any]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "actor_id": self.actor_id,
            "detail": self.detail,
            "created_at": self.created_at.isoformat(),
        }


def insert(
    conn: Connection,
    kind: str,
    *,
    now: datetime,
    conversation_id: int | None,
    actor_id: int | None,
    detail: Mapping[str, Any],
) -> None:
    """Write one event in the caller's transaction; on PostgreSQL also notify `CHANNEL`
    (delivered to listeners when the transaction commits, dropped if it rolls back)."""
    conn.execute(
        _INSERT,
        {
            "conversation_id": conversation_id,
            "kind": kind,
            "actor_id": actor_id,
            "detail": dict(detail),
            "created_at": now,
        },
    )
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)


def after(conn: Connection, event_id: int, limit: int) -> list[Event]:
    """The first `limit` events with ids above `event_id`, in id order."""
    return _events(conn.execute(_AFTER, {"k_after": event_id, "k_limit": limit}))


def by_ids(conn: Connection, ids: Sequence[int]) -> list[Event]:
    """The events `ids` that exist (committed), in id order."""
    return _events(conn.execute(_BY_IDS, {"k_ids": list(ids)})) if ids else []


def _events(rows: Iterable[Any]) -> list[Event]:
    return [
        Event(
            id=int(row.id),
            kind=row.kind,
            conversation_id=row.conversation_id,
            actor_id=row.actor_id,
            detail=row.detail or {},
            created_at=row.created_at,
        )
        for row in rows
    ]


def last_id(conn: Connection) -> int:
    """The newest event's id; 0 when there is none."""
    return int(conn.execute(_LAST_ID).scalar_one())


def _never() -> bool:
    return False


@contextlib.asynccontextmanager
async def listening(
    url: URL, *, until: Callable[[], bool] = _never, tick: float = 1.0
) -> AsyncIterator[AsyncIterator[str]]:
    """A PostgreSQL connection of its own to the database at `url` (autocommit) that
    LISTENs on `CHANNEL`; inside, iterate what it yields: the schema name, once per
    committed event in this database's schema (other schemas' NOTIFYs are skipped).

    The iteration ends when `until()` is true, checked at least every `tick` seconds, or
    when the connection fails. Stop it that way rather than by cancelling: cancelling
    psycopg's `notifies()` while it waits has hung a test run. A NOTIFY that arrives
    between two ticks is kept by psycopg and yielded by the next."""
    import psycopg  # only a listening process loads the driver's async side

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (await conn.execute("SELECT current_schema()")).fetchone()
        schema = str(row[0] or "") if row else ""  # a NULL payload arrives as ''
        await conn.execute(f"LISTEN {CHANNEL}")

        async def heard() -> AsyncGenerator[str]:
            while not until():
                async with contextlib.aclosing(conn.notifies(timeout=tick)) as notes:
                    async for note in notes:
                        if note.payload == schema:
                            yield schema

        # Both generators are closed on the way out, also when the consumer stops early:
        # psycopg's `notifies()` holds the connection's lock while it is open, and closing
        # the connection would wait for that lock.
        async with contextlib.aclosing(heard()) as notifications:
            yield notifications
