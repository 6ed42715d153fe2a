"""`GET /api/v1/events` over a real socket (uvicorn): bearer tokens, live delivery of
events committed by any process, resume by Last-Event-ID, and supervisor-only alerts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from relaydesk.app.http.main import create_app
from relaydesk.bootstrap import Container, build
from relaydesk.config import Settings
from relaydesk.services import accounts
from relaydesk.services.events import EventKind, record
from relaydesk.testing import GraphServer, ServerThread
from tests.conftest import SECRET_KEY

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def served(
    make_settings: Callable[..., Settings], graph: GraphServer
) -> Iterator[tuple[Container, str]]:
    container = build(
        make_settings(whatsapp_graph_url=graph.url), base_url="http://testserver", migrate=True
    )
    with ServerThread(create_app(container, run_worker=False)) as server:
        yield container, server.url


def token_for(container: Container, email: str, role: str) -> str:
    with container.db.write() as conn:
        accounts.create_user(conn, email=email, name=role, role=role, password=None, now=NOW)
        return accounts.create_token(conn, email=email, label="tests", now=NOW, key=SECRET_KEY)


def emit(container: Container, kind: EventKind, **detail: Any) -> None:
    with container.db.write() as conn:
        record(conn, kind, now=NOW, detail=detail)


def read_events(
    url: str,
    token: str,
    count: int,
    *,
    headers: dict[str, str] | None = None,
    on_connected: Callable[[], Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield parsed `data:` payloads of the first `count` events of the stream, calling
    `on_connected` when the server says the stream is subscribed (`: connected`)."""
    with httpx.stream(
        "GET",
        f"{url}/api/v1/events",
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
        timeout=httpx.Timeout(10.0),
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = 0
        for line in response.iter_lines():
            if line == ": connected" and on_connected is not None:
                on_connected()
            if line.startswith("data: "):
                yield json.loads(line.removeprefix("data: "))
                seen += 1
                if seen == count:
                    return


def in_background(action: Callable[[], None]) -> tuple[Callable[[], None], threading.Thread]:
    """`start` runs `action` in a thread (once the stream says it is connected); an
    event written before that could be missed, as a client without Last-Event-ID
    only gets what is committed after it connects."""
    thread = threading.Thread(target=action)
    return thread.start, thread


def test_the_stream_needs_a_token(served: tuple[Container, str]) -> None:
    _, url = served
    response = httpx.get(f"{url}/api/v1/events", timeout=5)
    assert response.status_code == 401
    assert "bearer token" in response.json()["detail"]


def test_events_arrive_live_and_resume_after_the_last_one(
    served: tuple[Container, str],
) -> None:
    container, url = served
    token = token_for(container, "lead@example.com", "supervisor")

    def escalate_and_note() -> None:
        for kind in (EventKind.ESCALATED, EventKind.NOTE):
            emit(container, kind, queue="orders")

    start, thread = in_background(escalate_and_note)
    first = list(read_events(url, token, 2, on_connected=start))
    thread.join()
    assert [e["kind"] for e in first] == ["escalated", "note"]
    assert first[0]["detail"] == {"queue": "orders"}

    emit(container, EventKind.RESOLVED)  # while nobody is connected
    resumed = list(read_events(url, token, 1, headers={"Last-Event-ID": str(first[0]["id"])}))
    assert [e["kind"] for e in resumed] == ["note"]


def test_supervisor_alerts_reach_supervisors_only(served: tuple[Container, str]) -> None:
    container, url = served
    agent = token_for(container, "ana@example.com", "agent")

    def alert_then_assign() -> None:
        emit(container, EventKind.SUPERVISOR_ALERT, reason="first response breached")
        emit(container, EventKind.ASSIGNED)

    start, thread = in_background(alert_then_assign)
    events = list(read_events(url, agent, 1, on_connected=start))
    thread.join()
    assert [e["kind"] for e in events] == ["assigned"]
