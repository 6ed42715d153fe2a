"""Open event streams (`/api/v1/events`, `/console/events`) close once their credentials
end: a revoked token, a deactivated user, a signed-out or password-changed session. Over a
real socket, with a short heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from relaydesk.app.http.main import create_app
from relaydesk.bootstrap import Container, build
from relaydesk.config import Settings
from relaydesk.services import accounts, sessions, tokens
from relaydesk.services.events import EventKind, record
from relaydesk.testing import GraphServer, ServerThread
from tests.conftest import SECRET_KEY

PASSWORD = "correct horse battery"


@pytest.fixture
def served(
    make_settings: Callable[..., Settings], graph: GraphServer
) -> Iterator[tuple[Container, str]]:
    container = build(
        make_settings(whatsapp_graph_url=graph.url), base_url="http://testserver", migrate=True
    )
    app = create_app(container, run_worker=False)
    app.state.sse_heartbeat = 0.2
    with container.db.write() as conn:
        for email, role in (("ana@example.com", "agent"), ("root@example.com", "admin")):
            accounts.create_user(
                conn, email=email, name=role, role=role, password=PASSWORD, now=datetime.now(UTC)
            )
    with ServerThread(app) as server:
        yield container, server.url


def read_until_closed(
    url: str, path: str, headers: dict[str, str], end_credentials: Callable[[], None]
) -> list[str]:
    """Open the stream, end the credentials, emit an event; the lines until it closes.

    The stream must close within a few heartbeats (0.2 s each) of the credentials ending;
    the generous socket timeout only keeps a loaded CI machine from failing the request
    itself (a timed-out stream would read as "never closed")."""
    lines: list[str] = []
    ended: float | None = None
    with httpx.stream(
        "GET", f"{url}{path}", headers=headers, timeout=httpx.Timeout(30.0)
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            lines.append(line)
            if line == ": connected":
                end_credentials()
                ended = time.monotonic()
    assert ended is not None, lines
    assert time.monotonic() - ended < 10, "the stream outlived its credentials by 10 s"
    return lines


def emit(container: Container) -> None:
    with container.db.write() as conn:
        record(conn, EventKind.ESCALATED, now=datetime.now(UTC), detail={"queue": "orders"})


def api_token(container: Container, email: str) -> str:
    with container.db.write() as conn:
        return accounts.create_token(
            conn, email=email, label="stream", now=datetime.now(UTC), key=SECRET_KEY
        )


def console_cookie(container: Container, email: str) -> str:
    with container.db.write() as conn:
        new = sessions.login(conn, email, PASSWORD, datetime.now(UTC), key=SECRET_KEY)
    assert new is not None
    return new.token


def revoke_all(container: Container, email: str) -> None:
    now = datetime.now(UTC)
    with container.db.write() as conn:
        for info in tokens.list_tokens(conn, user_id=accounts.find_user(conn, email).id):
            tokens.revoke(conn, info.id, now)


def deactivate(container: Container, email: str) -> None:
    with container.db.write() as conn:
        user_id = accounts.find_user(conn, email).id
        accounts.update_user(conn, user_id, active=False, now=datetime.now(UTC))


@pytest.mark.parametrize("ending", ["revoked", "deactivated"])
def test_the_api_stream_closes_when_the_token_ends(
    served: tuple[Container, str], ending: str
) -> None:
    container, url = served
    token = api_token(container, "ana@example.com")

    def end() -> None:
        if ending == "revoked":
            revoke_all(container, "ana@example.com")
        else:
            deactivate(container, "ana@example.com")
        emit(container)

    lines = read_until_closed(url, "/api/v1/events", {"Authorization": f"Bearer {token}"}, end)
    assert not [line for line in lines if line.startswith("data:")]


@pytest.mark.parametrize("ending", ["signed out", "new password"])
def test_the_console_stream_closes_when_the_session_ends(
    served: tuple[Container, str], ending: str
) -> None:
    container, url = served
    cookie = console_cookie(container, "ana@example.com")

    def end() -> None:
        with container.db.write() as conn:
            if ending == "signed out":
                sessions.logout(conn, cookie, datetime.now(UTC), key=SECRET_KEY)
            else:
                user_id = accounts.find_user(conn, "ana@example.com").id
                accounts.update_user(
                    conn, user_id, password="another long secret", now=datetime.now(UTC)
                )
        emit(container)

    lines = read_until_closed(
        url, "/console/events", {"Cookie": f"relaydesk_session={cookie}"}, end
    )
    assert not [line for line in lines if line.startswith("data:")]


def test_a_live_stream_keeps_delivering_while_the_token_holds(
    served: tuple[Container, str],
) -> None:
    container, url = served
    token = api_token(container, "root@example.com")
    with httpx.stream(
        "GET",
        f"{url}/api/v1/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(30.0),
    ) as response:
        heartbeats = 0
        for line in response.iter_lines():
            if line == ": heartbeat":
                heartbeats += 1
                if heartbeats == 3:
                    emit(container)
            if line.startswith("data:"):
                assert '"kind":"escalated"' in line
                break
    assert heartbeats >= 3
