"""`relaydesk serve` (default) decides and sends in a child process, `relaydesk worker`: a
signed webhook gets its reply from it; the child is restarted after a kill -9; a SIGTERM of
`serve` stops it, and a kill -9 of `serve` takes it down too (no orphan either way)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from relaydesk.testing import GraphServer
from tests.acceptance.test_processes import (
    BODY,
    Relaydesk,
    db_upgrade,
    production_env,
    replies_to,
    signed,
    wait_for,
)
from tests.acceptance.test_processes import graph as graph  # the fixture, with the token
from tests.acceptance.test_processes import servers as servers  # the fixture
from tests.conftest import text_webhook

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> list[str]:
    return (Path("/proc") / str(pid) / "cmdline").read_text().split("\0")[:-1]


def the_child(server: Relaydesk, other_than: int | None = None) -> int:
    assert server.proc is not None
    parent = server.proc.pid
    wait_for(
        lambda: [p for p in children(parent) if p != other_than] != [],
        timeout=30,
        what="serve's worker child process",
    )
    (child,) = [p for p in children(parent) if p != other_than]
    return child


def scrape(server: Relaydesk) -> str:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=15) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the series `name{labels}` in an exposition, None when it is absent."""
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and s.labels == labels
    ]
    assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
    return found[0] if found else None


def answer(server: Relaydesk, graph: GraphServer, wa_id: str) -> None:
    body = text_webhook(body=BODY, wa_id=wa_id)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=15) as client:
        response = client.post("/webhooks/whatsapp", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    wait_for(
        lambda: replies_to(graph).get(wa_id) == 1,
        timeout=180,  # the child trains the brief's classifier first
        what=f"the reply to {wa_id} ({server.stderr()[-2000:]})",
        interval=0.1,
    )


def test_serve_decides_in_a_child_that_is_restarted_and_stopped_with_it(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    env = production_env(database_url, graph.url)
    db_upgrade(env, tmp_path)
    server = servers(env).start()
    assert server.proc is not None
    first = the_child(server)
    argv = command_line(first)
    assert argv[2:6] == ["relaydesk", "worker", "--parent-pid", str(server.proc.pid)]
    assert argv[6:9] == ["--metrics-host", "127.0.0.1", "--metrics-port"]
    answer(server, graph, "34615000001")
    # serve's /metrics shows the child's counters (decisions, sends) beside its own
    wait_for(
        lambda: sample(scrape(server), "relaydesk_decisions_total", action="answer") == 1,
        timeout=10,
        what="the child's decision in serve's /metrics",
    )
    text = scrape(server)
    assert sample(text, "relaydesk_worker_metrics_up") == 1
    assert sample(text, "relaydesk_messages_total", direction="in", outcome="new") == 1
    assert sample(text, "relaydesk_messages_total", direction="out", outcome="sent") == 1
    # the database-read gauges are serve's own reading; the child does not compute them
    assert sample(text, "relaydesk_outbox_depth") == 0
    with httpx.Client(trust_env=False, timeout=15) as client:
        own = client.get(f"http://127.0.0.1:{argv[9]}/metrics").text
    assert sample(own, "relaydesk_decisions_total", action="answer") == 1
    assert sample(own, "relaydesk_outbox_depth") is None
    assert sample(own, "relaydesk_pending_decisions") is None
    assert "relaydesk_scorecard" not in own

    os.kill(first, signal.SIGKILL)
    second = the_child(server, other_than=first)
    answer(server, graph, "34615000002")
    assert replies_to(graph) == {"34615000001": 1, "34615000002": 1}

    server.stop()  # SIGTERM: the server stops its child before it exits
    assert server.proc.returncode in (0, -signal.SIGTERM), server.stderr()[-2000:]
    wait_for(lambda: not alive(second), timeout=5, what="the child to be gone")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_kill_9_of_serve_takes_its_child_down(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    server = servers(production_env(database_url, graph.url)).start()
    child = the_child(server)
    server.kill()
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the worker outlived its server"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_no_worker_starts_no_child(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    server = servers(production_env(database_url, graph.url, embedded_worker="false")).start()
    assert server.proc is not None
    time.sleep(2)
    assert children(server.proc.pid) == []
    assert "Worker:   none here" in server.stdout()
