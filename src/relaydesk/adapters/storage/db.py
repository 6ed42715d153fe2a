"""Engines and transactions: SQLite (WAL, one writer at a time) or PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's busy handler alone takes turns
    fcntl = None  # type: ignore[assignment]


#: How much of a SQLite file its connections map into memory (address space, not RAM:
#: pages are shared with the OS cache).
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


class FairLock:
    """A lock handed to waiters in arrival order. `threading.Lock` lets the thread that
    just released it take it straight back, so a busy webhook writer could starve the
    outbox worker on SQLite; here each writer waits its turn."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the previous holder: the lock is now ours

    def __exit__(self, *_: object) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


class WriterFile:
    """The write turn across processes on one SQLite file: an exclusive `flock` on a file
    beside the database, taken after the in-process `FairLock`. SQLite's own busy handler
    sleeps between retries (up to 100 ms), so a process writing in a tight loop (`serve`
    acknowledging webhooks) kept the lock from a `relaydesk worker` on the same file for
    seconds; a process blocked in `flock` is woken as soon as the lock is released.

    `flock` is not first come, first served: a worker committing slice after slice takes
    the lock straight back while the woken acknowledgement is still being scheduled. So an
    urgent writer (the webhooks' insert) holds a shared lock on a second file, the gate,
    while it waits for its turn, and every other writer passes the gate (exclusive, at
    once released) before it queues: while an acknowledgement waits, no other writer
    starts. The gate is held only while waiting, not while writing, so the others get their
    turn between two acknowledgements."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._gate = os.open(f"{path}.gate", os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, *, urgent: bool = False) -> None:
        if urgent:
            fcntl.flock(self._gate, fcntl.LOCK_SH)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            finally:
                fcntl.flock(self._gate, fcntl.LOCK_UN)
            return
        fcntl.flock(self._gate, fcntl.LOCK_EX)  # no urgent writer waiting
        fcntl.flock(self._gate, fcntl.LOCK_UN)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        self.acquire(urgent=urgent)
        try:
            yield
        finally:
            self.release()

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._gate)


#: SQLite has one writer, and a webhook's acknowledgement waits for it: the worker's long
#: jobs (deciding a round, the timers) commit every this many seconds of work, so the
#: acknowledgement never waits longer than about one slice. (PostgreSQL's writers do not
#: exclude each other; there they keep one transaction.)
WRITE_SLICE = 0.004

#: Where `serve` acknowledges webhooks into an intake file of their own (SQLite on a
#: file), no acknowledgement waits for this database's writer: only the console's actions
#: and the worker's other jobs do. There the decision stage commits every this many
#: seconds of work, about as long as the intake's move of one batch holds the lock. With
#: 4 ms it decided two or three messages per turn and then waited out a whole move
#: (docs/benchmarks.md, "The decision stage's turn at the writer").
INTAKE_WRITE_SLICE = 0.1

#: Execution option marking a `Database.read()` connection (see `_on_begin`).
_READ_ONLY = "relaydesk_read_only"


class Database:
    """Owns the engine. `write()` is one transaction; on SQLite writers are serialised in
    process (SQLite allows one writer; waiting on a lock beats its sleep-and-retry busy loop).
    `read()` is one read-only transaction that never waits for a writer on either database."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", echo: bool = False) -> None:
        self.url = url
        self.engine = _create_engine(url, sqlite_synchronous=sqlite_synchronous, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = FairLock() if self.is_sqlite else None
        self._writer_file = _writer_file(self.engine) if self.is_sqlite else None

    @contextmanager
    def write(self, *, urgent: bool = False) -> Iterator[Connection]:
        """One write transaction. `urgent` (the webhooks' insert, which a request waits on):
        on SQLite, writers of other processes on the same file let it go first."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        if self._writer_file is None:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
            return
        with (
            self._write_lock,
            self._writer_file.turn(urgent=urgent),
            self.engine.begin() as conn,
        ):
            yield conn

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A transaction for reading, rolled back at the end. On SQLite it is a deferred
        `BEGIN` with `PRAGMA query_only`: it takes no write lock, so it neither waits for a
        writer nor holds one up (WAL gives it a snapshot of the last commit), and a write
        through it fails ("attempt to write a readonly database") instead of being lost.
        On PostgreSQL, an ordinary transaction (MVCC readers never wait for writers), READ
        COMMITTED; with `snapshot`, REPEATABLE READ: every statement sees the same commit,
        as on SQLite (for reads whose statements must agree with each other)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(**{_READ_ONLY: True})
            elif snapshot:
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._writer_file is not None:
            self._writer_file.close()
            self._writer_file = None


def _writer_file(engine: Engine) -> WriterFile | None:
    """The cross-process write turn for a SQLite file (none in memory, or without fcntl)."""
    database = engine.url.database
    if fcntl is None or database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    return WriterFile(f"{database}-writer.lock")


def _create_engine(url: str, *, sqlite_synchronous: str, echo: bool) -> Engine:
    # hide_parameters: a database error's message must not carry the bound values (a
    # customer's number, a note) into logs; the SQL text alone says what failed.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=20,
        )
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if parsed.database in (None, "", ":memory:"):
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, echo=echo, hide_parameters=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash or
        # power loss can lose the last transactions. RELAYDESK_SQLITE_SYNCHRONOUS=FULL trades
        # throughput for that too.
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Reads from the memory-mapped file instead of copying pages through read():
        # one week of Insights rows reads ~1.25x faster (docs/benchmarks.md).
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A read (`Database.read`): deferred, so it takes no lock until it reads, and then
        # only a WAL snapshot. Anything else is a write: IMMEDIATE takes the write lock up
        # front, so two writers never deadlock on upgrade. query_only follows, set only
        # when it changes (the pool hands a connection to readers and writers in turn).
        read_only = bool(conn.get_execution_options().get(_READ_ONLY))
        if conn.info.get(_READ_ONLY, False) is not read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            conn.info[_READ_ONLY] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
