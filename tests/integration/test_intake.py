"""The webhooks' intake on SQLite: serve acknowledges a webhook once its raw body is
committed to the intake file; the worker moves it into the database exactly once, in order,
and keeps it there while the database is down; serve deletes what was moved. The intake's
progress, kept in the main database, is tested on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from relaydesk.adapters.storage import intake as store
from relaydesk.adapters.storage import repository
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import decisions, messages, pending_decisions, raw_webhooks
from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.bootstrap import Container, build
from relaydesk.config import Settings
from relaydesk.services.intake import IntakeMover, IntakeWriter
from relaydesk.testing import GraphServer
from tests.conftest import APP_SECRET, text_webhook

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Intake:
    """The app as `serve` runs it on a SQLite file: webhooks committed to the intake file."""

    def __init__(self, container: Container, client: httpx.AsyncClient, writer: IntakeWriter):
        self.container = container
        self.client = client
        self.writer = writer
        assert container.mover is not None
        self.mover: IntakeMover = container.mover

    async def post(self, body: bytes) -> httpx.Response:
        return await self.client.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": sign(body, APP_SECRET)},
        )

    def count(self, table: Any) -> int:
        with self.container.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def in_intake(self) -> int:
        assert self.container.intake is not None
        with self.container.intake.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(store.received)).scalar_one())

    def moved_upto(self) -> int:
        assert self.container.intake is not None
        with self.container.db.read() as conn:
            return store.moved_upto(conn, self.container.intake.id)


@pytest.fixture
def sqlite_settings(tmp_path: Path, graph: GraphServer) -> Settings:
    from relaydesk.config import load_settings
    from tests.conftest import ACCESS_TOKEN, SECRET_KEY

    return load_settings(
        {
            "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'relaydesk.sqlite'}",
            "RELAYDESK_WHATSAPP_APP_SECRET": APP_SECRET,
            "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "test-verify-token",
            "RELAYDESK_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "RELAYDESK_SECRET_KEY": SECRET_KEY,
            "RELAYDESK_OUTBOX_RECONCILE_SECONDS": "0",
            "RELAYDESK_WHATSAPP_GRAPH_URL": graph.url,
        }
    )


def served(settings: Settings, **app: Any) -> Callable[[], Any]:
    from contextlib import asynccontextmanager

    from relaydesk.app.http.main import create_app

    @asynccontextmanager
    async def running() -> AsyncIterator[Intake]:
        container = build(settings, base_url="http://testserver", migrate=True)
        assert container.intake is not None
        writer = IntakeWriter(container.intake, container.db, container.metrics)
        made = create_app(container, intake=writer, **app)
        async with made.router.lifespan_context(made):
            transport = httpx.ASGITransport(app=made)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield Intake(container, client, writer)

    return running


@pytest.fixture
async def intake(sqlite_settings: Settings) -> AsyncIterator[Intake]:
    async with served(sqlite_settings)() as running:
        yield running


async def test_the_acknowledgement_commits_to_the_intake_and_the_worker_moves_it_in(
    intake: Intake,
) -> None:
    response = await intake.post(text_webhook(body="where is my order?"))
    assert response.status_code == 200, response.text
    assert (intake.in_intake(), intake.count(messages)) == (1, 0)

    assert intake.mover.waiting()[0] == 1
    intake.container.metrics.watch_intake(intake.writer.depth)
    scraped = (await intake.client.get("/metrics")).text
    assert "relaydesk_intake_waiting 1.0" in scraped
    assert intake.mover.run_until_idle() == 1
    assert intake.writer.depth() == (0, 0.0)
    assert intake.count(messages) == 1
    assert intake.count(pending_decisions) == 1  # handed to the decision stage
    assert intake.count(raw_webhooks) == 1
    assert intake.moved_upto() == 1
    assert intake.mover.waiting() == (0, None)
    assert intake.mover.run_once() == 0  # nothing moved twice

    assert intake.writer.purge() == 1
    assert intake.in_intake() == 0
    assert intake.writer.purge() == 0


async def test_a_webhook_delivered_twice_is_stored_once(intake: Intake) -> None:
    body = text_webhook(body="hi")
    assert [(await intake.post(body)).status_code for _ in range(2)] == [200, 200]
    assert intake.in_intake() == 2
    assert intake.mover.run_until_idle() == 2
    assert intake.count(messages) == 1
    assert intake.count(raw_webhooks) == 2  # both deliveries' raw bodies, as without intake
    assert intake.moved_upto() == 2


async def test_webhooks_are_moved_in_the_order_they_arrived(intake: Intake) -> None:
    wamids = [f"wamid.order{i}" for i in range(5)]
    for wamid in wamids:
        assert (await intake.post(text_webhook(wamid=wamid, body=wamid))).status_code == 200
    intake.mover._batch_size = 2  # three moves: 2, 2, 1
    assert intake.mover.run_until_idle() == 5
    with intake.container.db.read() as conn:
        stored = conn.execute(select(messages.c.wamid).order_by(messages.c.id)).scalars().all()
    assert stored == wamids


async def test_two_workers_on_one_intake_move_each_webhook_once(intake: Intake) -> None:
    """A second worker on the same SQLite file (say, `relaydesk worker` beside `serve`'s
    own): a move checks the progress it started from in its transaction."""
    assert intake.container.intake is not None
    other = IntakeMover(intake.container.intake, intake.container.inbound, intake.container.db)
    assert other.run_once() == 0  # it has read the progress: nothing moved yet
    assert (await intake.post(text_webhook(wamid="wamid.once"))).status_code == 200
    assert intake.mover.run_once() == 1
    with structlog.testing.capture_logs() as logs:
        assert other.run_once() == 0  # it started from the old progress: rolled back
    events = [e["event"] for e in logs if e["log_level"] != "debug"]
    assert events == ["inbound_duplicate", "intake_moved_elsewhere"]
    assert other.run_once() == 0  # read again: nothing left
    assert (intake.count(messages), intake.count(raw_webhooks), intake.moved_upto()) == (1, 1, 1)


async def test_while_the_database_is_down_the_webhooks_wait_in_the_intake(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(2):
        assert (await intake.post(text_webhook(body=f"hello {n}"))).status_code == 200
    save = repository.save_raw_webhooks

    def down(*_: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(repository, "save_raw_webhooks", down)
    with structlog.testing.capture_logs() as logs:
        assert intake.mover.run_once() == 0
    assert [e["event"] for e in logs] == ["intake_move_failed"]
    assert (intake.count(messages), intake.moved_upto(), intake.in_intake()) == (0, 0, 2)
    assert intake.writer.purge() == 0  # nothing moved, nothing deleted

    monkeypatch.setattr(repository, "save_raw_webhooks", save)
    assert intake.mover.run_until_idle() == 2
    assert (intake.count(messages), intake.moved_upto()) == (2, 2)


async def test_an_event_the_database_refuses_is_skipped_and_the_rest_moved(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = json.loads(text_webhook(wamid="wamid.good", wa_id="34613000001", body="hi"))
    bad = json.loads(text_webhook(wamid="wamid.bad", wa_id="34613000002", body="x"))
    entries = bad["entry"] + good["entry"]
    body = json.dumps({"object": "whatsapp_business_account", "entry": entries})
    assert (await intake.post(body.encode())).status_code == 200
    assert (await intake.post(text_webhook(wamid="wamid.after"))).status_code == 200
    insert = repository.insert_inbound

    def refuse_bad(conn: Any, conversation_id: int, message: Any, now: datetime) -> int:
        if message.wamid == "wamid.bad":
            raise ValueError("a value this database cannot store")
        return insert(conn, conversation_id, message, now)

    monkeypatch.setattr(repository, "insert_inbound", refuse_bad)
    with structlog.testing.capture_logs() as logs:
        assert intake.mover.run_until_idle() == 2
    with intake.container.db.read() as conn:
        stored = set(conn.execute(select(messages.c.wamid)).scalars())
    assert stored == {"wamid.good", "wamid.after"}
    assert [e["wamid"] for e in logs if e["event"] == "webhook_item_skipped"] == ["wamid.bad"]
    assert intake.count(raw_webhooks) == 2
    assert intake.moved_upto() == 2


async def test_a_webhook_the_database_refuses_whole_is_dropped_and_logged(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await intake.post(text_webhook(wamid="wamid.refused"))).status_code == 200
    save = repository.save_raw_webhooks

    def refuse(*_: Any) -> None:
        raise ValueError("a value this database cannot store")

    monkeypatch.setattr(repository, "save_raw_webhooks", refuse)
    with structlog.testing.capture_logs() as logs:
        assert intake.mover.run_once() == 1
    dropped = [e for e in logs if e["event"] == "intake_webhook_dropped"]
    assert dropped == [{"event": "intake_webhook_dropped", "intake_id": 1, "log_level": "error"}]
    assert (intake.count(messages), intake.moved_upto()) == (0, 1)

    monkeypatch.setattr(repository, "save_raw_webhooks", save)
    assert (await intake.post(text_webhook(wamid="wamid.next"))).status_code == 200
    assert intake.mover.run_until_idle() == 1
    assert intake.count(messages) == 1  # the next one is not held behind it


async def test_the_intake_unwritable_answers_503(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store, "append", full)
    with structlog.testing.capture_logs() as logs:
        response = await intake.post(text_webhook())
    assert response.status_code == 503
    assert "storage unavailable" in response.json()["error"]
    assert [e["event"] for e in logs if e["log_level"] != "debug"] == ["intake_store_failed"]
    assert intake.in_intake() == 0


async def test_a_purge_that_cannot_read_the_progress_leaves_the_intake_alone(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await intake.post(text_webhook())).status_code == 200
    assert intake.mover.run_until_idle() == 1

    def down(*_: Any) -> int:
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store, "moved_upto", down)
    with structlog.testing.capture_logs() as logs:
        assert intake.writer.purge() == 0
    assert [e["event"] for e in logs] == ["intake_purge_failed"]
    assert intake.in_intake() == 1


async def test_the_acknowledgement_purges_what_was_moved_about_once_a_second(
    intake: Intake,
) -> None:
    ticks = iter([10.0, 10.5, 11.2])
    intake.writer._monotonic = lambda: next(ticks)
    intake.writer._purged_at = None
    assert (await intake.post(text_webhook())).status_code == 200  # 10.0: purges (nothing)
    assert intake.mover.run_until_idle() == 1
    assert (await intake.post(text_webhook())).status_code == 200  # 10.5: too soon
    assert intake.in_intake() == 2
    assert intake.mover.run_until_idle() == 1
    assert (await intake.post(text_webhook())).status_code == 200  # 11.2: purges the two
    assert intake.in_intake() == 1


async def test_a_new_intake_file_is_read_from_its_start(sqlite_settings: Settings) -> None:
    async with served(sqlite_settings)() as first:
        assert (await first.post(text_webhook(wamid="wamid.one"))).status_code == 200
        assert first.mover.run_until_idle() == 1
        assert first.container.intake is not None
        path, old = first.container.intake.path, first.container.intake.id
    first.container.dispose()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)

    async with served(sqlite_settings)() as second:
        assert second.container.intake is not None and second.container.intake.id != old
        assert (await second.post(text_webhook(wamid="wamid.two"))).status_code == 200
        assert second.mover.run_until_idle() == 1  # its id 1 is not taken for moved
        assert second.count(messages) == 2


async def test_serve_deletes_what_was_moved_while_no_webhook_comes(intake: Intake) -> None:
    assert (await intake.post(text_webhook())).status_code == 200
    assert intake.mover.run_until_idle() == 1
    stop = asyncio.Event()
    purging = asyncio.create_task(intake.writer.run_purge(stop, every=0.05))
    deadline = time.monotonic() + 10
    while intake.in_intake() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    stop.set()
    await purging
    assert intake.in_intake() == 0


async def test_the_worker_moves_then_decides_in_one_process(sqlite_settings: Settings) -> None:
    async with served(sqlite_settings, run_worker=True)() as running:
        assert (await running.post(text_webhook(body="where is my order?"))).status_code == 200
        deadline = time.monotonic() + 60
        while not running.count(decisions) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        with running.container.db.read() as conn:
            inbound = conn.execute(
                select(func.count()).where(messages.c.direction == "in")
            ).scalar_one()
        assert (inbound, running.count(decisions)) == (1, 1)
        assert running.moved_upto() == 1


def test_the_intake_lives_beside_a_sqlite_file_only(tmp_path: Path) -> None:
    on_file = Database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    in_memory = Database("sqlite://")
    try:
        assert store.intake_path(on_file) == f"{tmp_path / 'a.sqlite'}-intake"
        assert store.intake_path(in_memory) is None
    finally:
        on_file.dispose()
        in_memory.dispose()


def test_the_intake_progress_is_kept_per_intake_file(database_url: str) -> None:
    db = Database(database_url)
    try:
        upgrade(db.engine)
        with db.write() as conn:
            assert store.moved_upto(conn, "file-a") == 0
            assert store.record_moved(conn, "file-a", 0, 5, NOW)
            assert store.record_moved(conn, "file-b", 0, 2, NOW)
        with db.write() as conn:
            assert store.record_moved(conn, "file-a", 5, 9, NOW + timedelta(seconds=1))
        with db.write() as conn:  # another worker's view: it read 5, the progress is 9
            assert not store.record_moved(conn, "file-a", 5, 7, NOW + timedelta(seconds=2))
            assert not store.record_moved(conn, "file-b", 0, 4, NOW + timedelta(seconds=2))
        with db.read() as conn:
            assert (store.moved_upto(conn, "file-a"), store.moved_upto(conn, "file-b")) == (9, 2)
        if db.is_sqlite:
            assert store.intake_path(db) is not None
        else:
            assert store.intake_path(db) is None  # PostgreSQL: webhooks go to the database
    finally:
        db.dispose()
