"""`/console/events` over real HTTP: the signed-in person's stream resumes after the
Last-Event-ID the browser sends when it reconnects, and refuses without a session."""

from __future__ import annotations

import re

import httpx

from relaydesk.services import events
from tests.browser.conftest import PASSWORD, LiveServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def signed_in_client(server: LiveServer, email: str) -> httpx.Client:
    server.user(email)
    client = httpx.Client(base_url=server.base_url, timeout=30)
    form = client.get("/console/login")
    token = _CSRF.search(form.text)
    assert token is not None
    answer = client.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 303, answer.text
    return client


def test_the_stream_resumes_after_the_last_event_id(live_server: LiveServer) -> None:
    client = signed_in_client(live_server, "stream@example.com")
    try:
        live_server.escalate("34600000301", "Gil")
        with live_server.container.db.read() as conn:
            latest = events.last_id(conn)
        assert latest >= 1
        headers = {"Last-Event-ID": str(latest - 1)}
        with client.stream("GET", "/console/events", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            ids = []
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    ids.append(int(line.removeprefix("id: ")))
                    break
        assert ids == [latest]
    finally:
        client.close()


def test_the_stream_needs_a_session(live_server: LiveServer) -> None:
    answer = httpx.get(f"{live_server.base_url}/console/events", timeout=30)
    assert answer.status_code == 401
    assert answer.headers["x-console-login"] == "/console/login?reason=required"
