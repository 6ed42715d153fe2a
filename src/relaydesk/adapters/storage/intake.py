"""The webhooks' intake on SQLite: a file of its own beside the database, one writer.

SQLite has one writer per file. When `serve` acknowledged a webhook by committing it to the
main database, the acknowledgement waited for whatever write the worker was in (deciding a
round, a send's record, the timers), and with the worker's threads taking turns on the GIL
even a small write held the lock for 10 to 20 ms. So `serve` on a SQLite file commits each
webhook's raw body here, and only here: nobody else writes this file while the web process
runs (the worker only reads it), so the acknowledgement waits for its own commit and
nothing else. The worker moves what arrived into the main database (`services.intake`) and
records how far it got in the main database's `intake_progress`, in the transaction that
stores the messages; the web process deletes what was moved (`purge`).

A file is known by the id in its `identity` table: progress is kept per id, so an intake
file deleted and made again is read from its start, not from the old file's mark.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import UtcDateTime, intake_progress

#: The intake file's own schema (not the main database's: no migrations, made on open).
intake_metadata = MetaData()

received = Table(
    "received",
    intake_metadata,
    Column("id", Integer, primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
    sqlite_autoincrement=True,  # an id is never used twice, even after a purge of the last
)

identity = Table("identity", intake_metadata, Column("id", String(36), primary_key=True))


@dataclass(frozen=True, slots=True)
class Received:
    """A webhook as acknowledged: its raw body (verified and parsed before it was stored)."""

    id: int
    received_at: datetime
    body: bytes


@dataclass(frozen=True, slots=True)
class Intake:
    """An open intake file and the id it is known by."""

    db: Database
    id: str
    path: str


def intake_path(db: Database) -> str | None:
    """Where the intake of `db` lives: beside a SQLite file; None in memory or on PostgreSQL
    (where webhooks are committed to the database itself: its writers do not exclude each
    other)."""
    database = db.engine.url.database
    if not db.is_sqlite or database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    return f"{database}-intake"


def open_intake(path: str, *, sqlite_synchronous: str = "NORMAL") -> Intake:
    """Open (and on first use make) the intake file at `path`."""
    db = Database(f"sqlite:///{path}", sqlite_synchronous=sqlite_synchronous)
    try:
        with db.write() as conn:
            intake_metadata.create_all(conn)
            known = conn.execute(select(identity.c.id)).scalars().all()
            if not known:  # a new file (the write lock makes this the only maker)
                known = [str(uuid.uuid4())]
                conn.execute(insert(identity).values(id=known[0]))
    except BaseException:
        db.dispose()
        raise
    if len(known) != 1:
        db.dispose()
        raise ValueError(
            f"the intake file {path} names {len(known)} identities; move it away (after the "
            "worker has moved what it holds) and start again"
        )
    return Intake(db, known[0], path)


# -- the intake file -------------------------------------------------------------------------


def append(conn: Connection, webhooks: Sequence[tuple[datetime, bytes]]) -> None:
    """Store acknowledged webhooks, in the order given: (received at, raw body)."""
    conn.execute(insert(received), [{"received_at": at, "body": body} for at, body in webhooks])


def after(conn: Connection, mark: int, limit: int) -> list[Received]:
    """The oldest `limit` webhooks stored after `mark`, oldest first."""
    rows = conn.execute(
        select(received.c.id, received.c.received_at, received.c.body)
        .where(received.c.id > mark)
        .order_by(received.c.id)
        .limit(limit)
    )
    return [Received(row.id, row.received_at, bytes(row.body)) for row in rows]


def waiting(conn: Connection, mark: int) -> tuple[int, datetime | None]:
    """How many webhooks wait after `mark`, and when the oldest of them arrived."""
    count, oldest = conn.execute(
        select(func.count(), func.min(received.c.received_at)).where(received.c.id > mark)
    ).one()
    return int(count), oldest


def purge(conn: Connection, upto: int) -> int:
    """Delete the webhooks moved (ids up to `upto`); how many."""
    return conn.execute(delete(received).where(received.c.id <= upto)).rowcount or 0


# -- the main database: how far each intake was moved -----------------------------------------


def moved_upto(conn: Connection, intake_id: str) -> int:
    """The id of the last webhook of intake `intake_id` moved into the database (0: none)."""
    value = conn.execute(
        select(intake_progress.c.moved_upto).where(intake_progress.c.intake_id == intake_id)
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def record_moved(conn: Connection, intake_id: str, after: int, upto: int, now: datetime) -> bool:
    """Record, in the transaction that stored them, that the webhooks after `after` up to
    `upto` were moved; False (nothing recorded) when the progress is no longer `after`:
    another worker moved them meanwhile, and this transaction must not commit."""
    values: dict[str, Any] = {"moved_upto": upto, "moved_at": now}
    changed = conn.execute(
        update(intake_progress)
        .where(intake_progress.c.intake_id == intake_id, intake_progress.c.moved_upto == after)
        .values(**values)
    ).rowcount
    if changed:
        return True
    if after or moved_upto(conn, intake_id):
        return False
    conn.execute(insert(intake_progress).values(intake_id=intake_id, **values))
    return True
