"""SQLite writers of several processes on one file take turns through `<file>-writer.lock`;
an urgent writer (the webhooks' insert, which a request waits on) goes before the writers
that queue while it waits. Each `Database` below opens its own lock files, as a process
does, so three of them in threads stand for three processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from relaydesk.adapters.storage.db import Database

PATIENCE = 10.0


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'writers.sqlite'}"
    db = Database(url)
    with db.write() as conn:
        conn.execute(text("CREATE TABLE turns (id INTEGER PRIMARY KEY, who TEXT)"))
    db.dispose()
    yield url


def writer(url: str, who: str, *, urgent: bool = False) -> threading.Thread:
    def run() -> None:
        db = Database(url)
        try:
            with db.write(urgent=urgent) as conn:
                conn.execute(text("INSERT INTO turns (who) VALUES (:who)"), {"who": who})
        finally:
            db.dispose()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def turns(url: str) -> list[str]:
    db = Database(url)
    try:
        with db.read() as conn:
            return list(conn.execute(text("SELECT who FROM turns ORDER BY id")).scalars())
    finally:
        db.dispose()


BUSY = """
import sys, time
from sqlalchemy import text
from relaydesk.adapters.storage.db import Database
db = Database(sys.argv[1])
for n in range(100_000):
    with db.write() as conn:  # slice after slice, 10 ms of CPU each, back to back
        conn.execute(text("INSERT INTO turns (who) VALUES ('slice')"))
        start = time.perf_counter()
        while time.perf_counter() - start < 0.01:
            pass
"""


def test_an_urgent_writer_waits_at_most_one_slice_of_another_process(url: str) -> None:
    """Another process commits slice after slice and takes the lock straight back on
    release (without the gate an acknowledgement waited up to 185 ms, 12+ slices, here);
    an urgent writer waiting meanwhile gets the next turn."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY, url])
    db = Database(url)
    try:
        wait_for_rows(db, 5)
        ahead = []
        for _ in range(10):
            with db.read() as conn:
                before = conn.execute(text("SELECT max(id) FROM turns")).scalar_one()
            with db.write(urgent=True) as conn:
                mine = conn.execute(text("INSERT INTO turns (who) VALUES ('ack')")).lastrowid
            ahead.append(mine - before - 1)  # the busy process's slices that went first
            time.sleep(0.013)
    finally:
        busy.kill()
        busy.wait()
        db.dispose()
    assert max(ahead) <= 2, ahead


def wait_for_rows(db: Database, count: int) -> None:
    deadline = time.monotonic() + 60  # the other interpreter imports SQLAlchemy first
    while time.monotonic() < deadline:
        with db.read() as conn:
            if conn.execute(text("SELECT count(*) FROM turns")).scalar_one() >= count:
                return
        time.sleep(0.05)
    raise AssertionError("the busy writer never wrote")


def test_without_an_urgent_writer_the_others_are_not_held_up(url: str) -> None:
    done = [writer(url, f"w{i}") for i in range(5)]
    for thread in done:
        thread.join(PATIENCE)
    assert sorted(turns(url)) == [f"w{i}" for i in range(5)]
