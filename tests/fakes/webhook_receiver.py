"""A local Standard Webhooks receiver: verifies each delivery with the `standardwebhooks`
library (the reference implementation of www.standardwebhooks.com) and keeps it."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relaydesk.testing import ServerThread


@dataclass
class ReceiverState:
    secret: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  #: (id, body)
    rejected: int = 0
    statuses: deque[int] = field(default_factory=deque)  #: answers to give first
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookReceiver(ServerThread):
    def __init__(self, secret: str) -> None:
        self.state = ReceiverState(secret)
        super().__init__(_app(self.state))

    def __enter__(self) -> WebhookReceiver:
        super().__enter__()
        return self


def _app(state: ReceiverState) -> Starlette:
    verifier = Webhook(state.secret)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            payload = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            with state.lock:
                state.rejected += 1
            return JSONResponse({"error": "bad signature"}, 401)
        with state.lock:
            if state.statuses:
                return Response(status_code=state.statuses.popleft())
            state.received.append((request.headers["webhook-id"], payload))
        return Response(status_code=204)

    return Starlette(routes=[Route("/hooks", receive, methods=["POST"])])
