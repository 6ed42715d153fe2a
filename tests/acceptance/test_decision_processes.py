"""Receive and decide in separate processes: `serve --no-worker` acknowledges what it has
stored and decides nothing; `relaydesk worker` decides it, also after a kill -9 in the middle
of deciding, each message exactly once. SQLite and PostgreSQL. On SQLite, serve stores the
webhooks in the intake file beside the database, and the worker moves them in first."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from relaydesk.testing import GraphServer
from tests.acceptance.test_processes import (
    BODY,
    Relaydesk,
    db_upgrade,
    production_env,
    replies_to,
    signed,
    unsettled_outbox,
    wait_for,
)
from tests.conftest import text_webhook

pytestmark = pytest.mark.slow


_ENGINES: dict[str, Engine] = {}


def scalar(database_url: str, sql: str) -> int:
    engine = _ENGINES.get(database_url)
    if engine is None:
        engine = _ENGINES[database_url] = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def acknowledged(database_url: str) -> tuple[int, int]:
    """(webhooks in the intake file, messages waiting for a decision in the database): on
    SQLite serve stores webhooks in the intake file and the worker moves them in; on
    PostgreSQL serve stores them in the database itself (and there is no intake)."""
    pending = scalar(database_url, "SELECT count(*) FROM pending_decisions")
    if not database_url.startswith("sqlite"):
        return 0, pending
    intake = f"{database_url}-intake"
    return scalar(intake, "SELECT count(*) FROM received"), pending


class Worker:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir, self.runs = env, workdir, 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.runs += 1
        with (self.workdir / f"worker-{self.runs}.err").open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "relaydesk", "worker"],
                env=self.env,
                cwd=self.workdir,
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def stderr(self) -> str:
        return (self.workdir / f"worker-{self.runs}.err").read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[str, dict[str, str]], Relaydesk | Worker]]:
    made: list[Relaydesk | Worker] = []

    def make(kind: str, env: dict[str, str]) -> Relaydesk | Worker:
        process = Relaydesk(env, tmp_path) if kind == "serve" else Worker(env, tmp_path)
        made.append(process)
        return process

    try:
        yield make
    finally:
        for process in made:
            process.kill()


async def test_receive_only_then_a_worker_killed_while_deciding_decides_each_once(
    database_url: str,
    processes: Callable[[str, dict[str, str]], Relaydesk | Worker],
    tmp_path: Path,
) -> None:
    total = 400  # several rounds of 64, so the kill lands between two commits
    with GraphServer(access_token="test-access-token") as graph:
        env = production_env(database_url, graph.url, embedded_worker="false")
        db_upgrade(env, tmp_path)
        server = processes("serve", env)
        assert isinstance(server, Relaydesk)
        server.start()
        everyone = [f"3463{i:08d}" for i in range(total)]
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=15) as client:
            for batch in range(0, total, 20):
                bodies = [text_webhook(body=BODY, wa_id=w) for w in everyone[batch : batch + 20]]
                answers = await asyncio.gather(
                    *(
                        client.post("/webhooks/whatsapp", content=b, headers=signed(b))
                        for b in bodies
                    )
                )
                assert [a.status_code for a in answers] == [200] * len(bodies)

        # Acknowledged and stored, nothing decided or sent: this process only receives.
        on_sqlite = database_url.startswith("sqlite")
        assert acknowledged(database_url) == ((total, 0) if on_sqlite else (0, total))
        assert scalar(database_url, "SELECT count(*) FROM decisions") == 0
        assert graph.state.received == []

        worker = processes("worker", env)
        assert isinstance(worker, Worker)
        worker.start()
        wait_for(
            lambda: scalar(database_url, "SELECT count(*) FROM decisions") > 0,
            timeout=240,  # the worker trains the brief's classifier first
            what="the worker's first decisions",
            interval=0.01,
        )
        worker.kill()  # kill -9 in the middle of deciding
        left = scalar(database_url, "SELECT count(*) FROM pending_decisions")
        assert 0 < left < total, f"{left} pending at the kill"
        if on_sqlite:  # the move is recorded with the messages: nothing moved is lost
            moved = scalar(database_url, "SELECT moved_upto FROM intake_progress")
            stored = scalar(database_url, "SELECT count(*) FROM messages WHERE direction = 'in'")
            assert 0 < moved <= total and stored == moved

        worker.start()
        wait_for(
            lambda: (
                scalar(database_url, "SELECT count(*) FROM pending_decisions") == 0
                and set(replies_to(graph)) >= set(everyone)
                and unsettled_outbox(database_url) == 0
            ),
            timeout=240,
            what=f"every message decided and answered ({worker.stderr()[-2000:]})",
            interval=0.1,
        )
        per_message = scalar(
            database_url,
            "SELECT count(*) FROM (SELECT message_id FROM decisions GROUP BY message_id "
            "HAVING count(*) > 1) AS doubled",
        )
        assert per_message == 0
        assert scalar(database_url, "SELECT count(*) FROM decisions") == total
        counts = replies_to(graph)
        assert Counter(counts.values()) == Counter({1: total}), counts
        if on_sqlite:  # serve deletes what was moved, also when no webhook arrives
            wait_for(
                lambda: acknowledged(database_url)[0] == 0,
                timeout=30,
                what="serve's purge of the moved webhooks",
                interval=0.2,
            )
