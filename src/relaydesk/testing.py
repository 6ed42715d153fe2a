"""Test doubles that speak the real contracts, for our tests, benchmarks and plugin authors.

`GraphServer` is a local Graph API (`POST /{version}/{phone_number_id}/messages`) on a
loopback port, run by uvicorn in a thread: it records what it receives, answers as the Send
API does (§3.6 of the contract) and can be told to fail with any error envelope.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    phone_number_id: str
    version: str
    authorization: str | None
    body: dict[str, Any]
    wamid: str | None = None


@dataclass
class Failure:
    """One scripted answer: an HTTP status and a Graph error code (None: a bare body)."""

    http_status: int
    code: int | None = None
    details: str = ""
    delay: float = 0.0


@dataclass
class GraphState:
    access_token: str
    received: list[Received] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.wamid is not None and "status" not in r.body]


def graph_app(state: GraphState) -> Starlette:
    async def messages(request: Request) -> Response:
        auth = request.headers.get("authorization")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _envelope(400, 100, "body is not JSON")
        received = Received(
            request.path_params["phone_number_id"], request.path_params["version"], auth, body
        )
        with state.lock:
            state.received.append(received)
            failure = state.failures.popleft() if state.failures else None
        if auth != f"Bearer {state.access_token}":
            return _envelope(401, 190, "Error validating access token")
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.code is None:
                return Response("<html>oops</html>", status_code=failure.http_status)
            return _envelope(failure.http_status, failure.code, failure.details)
        if body.get("status") == "read":
            return JSONResponse({"success": True})
        wamid = f"wamid.TEST{next(state.counter):08d}{secrets.token_hex(4)}"
        received.wamid = wamid
        to = body.get("to") or body.get("recipient")
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    return Starlette(
        routes=[Route("/{version}/{phone_number_id}/messages", messages, methods=["POST"])]
    )


def _envelope(status: int, code: int, details: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": f"(#{code}) {details}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details},
                "fbtrace_id": "AtestTRACE",
            }
        },
        status_code=status,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Run an ASGI app with uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                backlog=2048,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class GraphServer(ServerThread):
    """A local Graph API. `state.received` holds every request; queue failures with
    `fail(...)`."""

    def __init__(self, access_token: str = "test-token", port: int | None = None) -> None:  # noqa: S107
        self.state = GraphState(access_token=access_token)
        super().__init__(graph_app(self.state), port)

    def fail(self, *failures: Failure) -> None:
        with self.state.lock:
            self.state.failures.extend(failures)

    def __enter__(self) -> GraphServer:
        super().__enter__()
        return self
