"""`Database.read()` never waits for a writer: console reads, API reads and the event poll
must not queue behind the webhook path. On both databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from relaydesk.adapters.storage.db import Database

#: Far longer than a read takes, far shorter than SQLite's busy timeout (30 s): a read that
#: waited for the writer's lock would still be waiting when this runs out.
PATIENCE = 5.0


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    with counter_db(database_url) as database:
        yield database


@contextmanager
def counter_db(url: str) -> Iterator[Database]:
    """A database with one table, `counter`, holding one row of value 1."""
    database = Database(url)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        conn.execute(text("INSERT INTO counter (id, value) VALUES (1, 1)"))
    try:
        yield database
    finally:
        database.dispose()


def value(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one())


class HeldWrite:
    """A write transaction in its own thread, open (value set to 2, not committed) until
    `commit()`."""

    def __init__(self, db: Database) -> None:
        self.holding, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(db,), daemon=True)
        self.thread.start()
        assert self.holding.wait(PATIENCE), "the writer never got its transaction"

    def _run(self, db: Database) -> None:
        try:
            with db.write() as conn:
                conn.execute(text("UPDATE counter SET value = 2 WHERE id = 1"))
                self.holding.set()
                if not self.release.wait(PATIENCE * 4):
                    raise TimeoutError("the test never released the writer")
        except BaseException as exc:  # reported by commit()
            self.error = exc

    def commit(self) -> None:
        self.release.set()
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def test_a_read_completes_while_a_write_transaction_is_open(db: Database) -> None:
    writer = HeldWrite(db)
    try:
        seen: list[int] = []
        reader = threading.Thread(target=lambda: seen.append(value(db)), daemon=True)
        reader.start()
        reader.join(PATIENCE)
        assert not reader.is_alive(), "the read waited for the writer's commit"
        assert not writer.release.is_set()  # the writer was still open throughout
        assert seen == [1]  # the last committed state, not the writer's uncommitted 2
    finally:
        writer.commit()
    assert value(db) == 2  # a read after the commit sees it


def test_a_write_commits_while_a_read_transaction_is_open(db: Database) -> None:
    with db.read() as conn:
        before = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
        done = threading.Event()

        def write() -> None:
            with db.write() as w:
                w.execute(text("UPDATE counter SET value = 3 WHERE id = 1"))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        assert done.wait(PATIENCE), "the write waited for the open read"
        again = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
    assert (before, value(db)) == (1, 3)
    if db.is_sqlite:  # one snapshot for the whole read (PostgreSQL: READ COMMITTED)
        assert again == 1


def test_a_snapshot_read_sees_one_commit_throughout_on_both_databases(db: Database) -> None:
    """`read(snapshot=True)`: the statements of one read agree (REPEATABLE READ on
    PostgreSQL); the connection goes back to the pool as it was (READ COMMITTED there)."""
    with db.read(snapshot=True) as conn:
        before = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
        with db.write() as w:
            w.execute(text("UPDATE counter SET value = 3 WHERE id = 1"))
        again = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
    assert (before, again, value(db)) == (1, 1, 3)
    if not db.is_sqlite:
        for _ in range(3):  # whichever pooled connection it gets: READ COMMITTED again
            with db.read() as conn:
                conn.execute(text("SELECT 1"))
                level = conn.execute(text("SHOW transaction_isolation")).scalar_one()
            assert level == "read committed"


def test_writes_through_read_fail_on_sqlite_and_leave_writes_working(tmp_path: Path) -> None:
    with counter_db(f"sqlite:///{tmp_path / 'relaydesk.sqlite'}") as db:
        with pytest.raises(OperationalError, match="readonly"), db.read() as conn:
            conn.execute(text("UPDATE counter SET value = 5 WHERE id = 1"))
        for expected in (2, 3, 4):  # the pool gives one connection to readers and writers
            with db.write() as conn:
                conn.execute(text("UPDATE counter SET value = value + 1 WHERE id = 1"))
            assert value(db) == expected


def test_ping_takes_no_write_lock(db: Database) -> None:
    writer = HeldWrite(db)
    try:
        pinged = threading.Thread(target=db.ping, daemon=True)
        pinged.start()
        pinged.join(PATIENCE)
        assert not pinged.is_alive(), "ping waited for the writer"
    finally:
        writer.commit()
