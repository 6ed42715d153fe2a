"""GraphClient against a real HTTP server on 127.0.0.1 (nothing leaves loopback).

The fake Graph API picks its answer from the phone_number_id in the path, so each test
names the scenario it wants and every request is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import structlog

from relaydesk.adapters.whatsapp.client import GraphClient, SendResult
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.adapters.whatsapp.errors import ErrorAction, GraphError, GraphTransportError
from relaydesk.adapters.whatsapp.limits import ContentLimitError
from relaydesk.domain.outbound import Button, Buttons, Text

VERSION = "v23.0"
TOKEN = "test-token-abc"
CUSTOMER = Recipient(wa_id="16505551234")
SLOW_SECONDS = 2.0


def envelope(code: int, details: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "error_subcode": 2494055,
            "fbtrace_id": f"trace-{code}",
        }
    }


#: phone_number_id -> (HTTP status, content type, body)
SCENARIOS: dict[str, tuple[int, str, bytes]] = {
    "e130429-400": (
        400,
        "application/json",
        json.dumps(
            envelope(130429, "Cloud API message throughput has been reached.", "Rate limit hit")
        ).encode(),
    ),
    "e130429-429": (
        429,
        "application/json",
        json.dumps(
            envelope(130429, "Cloud API message throughput has been reached.", "Rate limit hit")
        ).encode(),
    ),
    "e131056": (
        400,
        "application/json",
        json.dumps(envelope(131056, "Too many messages to this user.", "Pair rate")).encode(),
    ),
    "e131047": (
        400,
        "application/json",
        json.dumps(envelope(131047, "More than 24 hours have passed.", "Re-engage")).encode(),
    ),
    "e190": (
        401,
        "application/json",
        json.dumps(envelope(190, "Session has expired.", "Error validating token")).encode(),
    ),
    "html500": (500, "text/html", b"<html><body>Internal Server Error</body></html>"),
    "garbled200": (200, "text/html", b"<html>captive portal</html>"),
    "read-ok": (200, "application/json", b'{"success":true}'),
}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeGraph(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's pool is exercised
    seen: list[Seen]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(Seen(self.path, dict(self.headers.items()), json.loads(raw)))
        parts = self.path.split("/")  # "", version, phone_number_id, "messages"
        if len(parts) != 4 or parts[1] != VERSION or parts[3] != "messages":
            return self._answer(404, "application/json", b'{"error":{"message":"bad path"}}')
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, "application/json", json.dumps(envelope(190, "", "")).encode())
        scenario = parts[2]
        if scenario == "slow":
            time.sleep(SLOW_SECONDS)
        if scenario in SCENARIOS:
            return self._answer(*SCENARIOS[scenario])
        ok = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "16505551234", "wa_id": "5216505551234"}],
            "messages": [{"id": f"wamid.{len(self.seen)}", "message_status": "accepted"}],
        }
        self._answer(200, "application/json", json.dumps(ok).encode())

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-fb-trace-id", "header-trace")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the slow scenario)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment would take requests off loopback."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


class FakeGraphServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default listen backlog of 5 resets concurrent connects


@pytest.fixture(name="server", scope="module")
def _server() -> Iterator[tuple[str, list[Seen]]]:
    seen: list[Seen] = []
    handler = type("Handler", (FakeGraph,), {"seen": seen})
    httpd = FakeGraphServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(name="client")
async def _client(server: tuple[str, list[Seen]]) -> AsyncIterator[GraphClient]:
    server[1].clear()
    async with GraphClient(base_url=server[0], api_version=VERSION, access_token=TOKEN) as c:
        yield c


async def test_send_text_posts_the_graph_body_with_the_bearer_token(
    client: GraphClient, server: tuple[str, list[Seen]]
) -> None:
    result = await client.send(
        "123456", CUSTOMER, Text(body="Hello"), reply_to="wamid.IN", callback_data="outbox:1"
    )
    assert result == SendResult(wamid="wamid.1", wa_id="5216505551234", message_status="accepted")
    [request] = server[1]
    assert request.path == f"/{VERSION}/123456/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "context": {"message_id": "wamid.IN"},
        "biz_opaque_callback_data": "outbox:1",
        "type": "text",
        "text": {"body": "Hello", "preview_url": False},
    }


async def test_many_concurrent_sends_share_the_pool(
    client: GraphClient, server: tuple[str, list[Seen]]
) -> None:
    results = await asyncio.gather(
        *(client.send("123456", CUSTOMER, Text(body=f"n{i}")) for i in range(100))
    )
    assert len({r.wamid for r in results}) == 100
    assert len(server[1]) == 100


async def test_content_over_a_limit_never_reaches_the_server(
    client: GraphClient, server: tuple[str, list[Seen]]
) -> None:
    too_many = Buttons(body="b", buttons=tuple(Button(id=str(i), title=str(i)) for i in range(4)))
    with pytest.raises(ContentLimitError, match="buttons has 4"):
        await client.send("123456", CUSTOMER, too_many)
    assert server[1] == []


@pytest.mark.parametrize(
    ("scenario", "code", "http_status", "action"),
    [
        ("e130429-400", 130429, 400, ErrorAction.RETRY),  # throughput, as a 400
        ("e130429-429", 130429, 429, ErrorAction.RETRY),  # throughput, as a 429: same action
        ("e131056", 131056, 400, ErrorAction.RETRY_RECIPIENT),  # pair rate limit
        ("e131047", 131047, 400, ErrorAction.REENGAGE),  # window closed: send a template
        ("e190", 190, 401, ErrorAction.AUTH),  # token expired
    ],
)
async def test_error_envelopes_become_graph_errors(
    client: GraphClient, scenario: str, code: int, http_status: int, action: ErrorAction
) -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(GraphError) as caught:
        await client.send(scenario, CUSTOMER, Text(body="secret body"))
    error = caught.value
    assert (error.code, error.http_status, error.action) == (code, http_status, action)
    assert error.fbtrace_id == f"trace-{code}"
    assert error.ambiguous is False
    assert str(error).startswith(f"Graph API error {code} (")
    assert str(error).endswith(f"[fbtrace_id=trace-{code}]")
    [event] = logs
    assert event["event"] == "graph_request_failed"
    assert event["log_level"] == "warning"
    assert event["code"] == code
    assert event["fbtrace_id"] == f"trace-{code}"
    assert "secret body" not in repr(event) and "16505551234" not in repr(event)


async def test_html_500_is_a_retryable_graph_error(client: GraphClient) -> None:
    with pytest.raises(GraphError, match=r"HTTP 500 with an unreadable body \(text/html") as caught:
        await client.send("html500", CUSTOMER, Text(body="Hi"))
    assert caught.value.code is None
    assert caught.value.action is ErrorAction.RETRY
    assert caught.value.ambiguous is False
    assert caught.value.fbtrace_id == "header-trace"


async def test_garbled_200_is_an_ambiguous_graph_error(client: GraphClient) -> None:
    with pytest.raises(GraphError, match="reconcile before retrying") as caught:
        await client.send("garbled200", CUSTOMER, Text(body="Hi"))
    assert caught.value.ambiguous is True
    assert caught.value.http_status == 200


async def test_read_timeout_is_ambiguous(server: tuple[str, list[Seen]]) -> None:
    async with GraphClient(
        base_url=server[0], api_version=VERSION, access_token=TOKEN, timeout=0.3
    ) as client:
        started = time.monotonic()
        with pytest.raises(GraphTransportError, match="may have reached Meta") as caught:
            await client.send("slow", CUSTOMER, Text(body="Hi"))
    assert caught.value.ambiguous is True
    assert time.monotonic() - started < SLOW_SECONDS


async def test_closed_port_is_not_ambiguous() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with GraphClient(
        base_url=f"http://127.0.0.1:{port}", api_version=VERSION, access_token=TOKEN, timeout=2
    ) as client:
        with pytest.raises(GraphTransportError, match="never left") as caught:
            await client.send("123456", CUSTOMER, Text(body="Hi"))
    assert caught.value.ambiguous is False


async def test_wrong_token_is_an_auth_error(server: tuple[str, list[Seen]]) -> None:
    async with GraphClient(base_url=server[0], api_version=VERSION, access_token="wrong") as client:
        with pytest.raises(GraphError) as caught:
            await client.send("123456", CUSTOMER, Text(body="Hi"))
    assert caught.value.action is ErrorAction.AUTH


async def test_mark_read_with_typing_indicator(
    client: GraphClient, server: tuple[str, list[Seen]]
) -> None:
    await client.mark_read("read-ok", "wamid.IN", typing=True)
    [request] = server[1]
    assert request.path == f"/{VERSION}/read-ok/messages"
    assert request.body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
        "typing_indicator": {"type": "text"},
    }


async def test_mark_read_rejects_an_answer_without_success(client: GraphClient) -> None:
    with pytest.raises(GraphError, match='lacks "success": true'):
        await client.mark_read("123456", "wamid.IN")


def test_repr_hides_the_token() -> None:
    client = GraphClient(base_url="http://127.0.0.1:9", api_version=VERSION, access_token=TOKEN)
    assert TOKEN not in repr(client)


def test_empty_token_is_rejected() -> None:
    with pytest.raises(ValueError, match="access_token is empty"):
        GraphClient(base_url="http://127.0.0.1:9", api_version=VERSION, access_token="")
