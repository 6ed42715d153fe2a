"""Comparison targets, each served exactly as `relaydesk serve` serves Relaydesk
(`uvicorn.run(app, host, port, log_level="warning", access_log=False)`: uvloop + httptools).

    python -m bench._targets bare PORT APP_SECRET
    python -m bench._targets pywa PORT APP_SECRET

- `bare`: a raw ASGI app that reads the body, checks the HMAC, `json.loads` it and answers 200:
  the floor any webhook receiver on this stack pays.
- `pywa`: the pywa library (async flavour) on FastAPI with signature validation ON
  (`app_secret` given, `validate_updates=True`) and a no-op `on_message` handler. pywa
  acknowledges first and parses the update in a background task after the response.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = "/webhooks/whatsapp"


def bare_app(app_secret: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    key = app_secret.encode()

    async def respond(send: Send, status: int) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await respond(send, 404)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        signature = b""
        for name, value in scope["headers"]:
            if name == b"x-hub-signature-256":
                signature = value
        expected = b"sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature):
            await respond(send, 401)
            return
        try:
            json.loads(body)
        except ValueError:
            await respond(send, 400)
            return
        await respond(send, 200)

    return app


def pywa_app(app_secret: str) -> Any:
    from fastapi import FastAPI
    from pywa_async import WhatsApp, types

    app = FastAPI()
    wa = WhatsApp(
        phone_id="1122334455667",
        token="bench-access-token",
        server=app,
        webhook_endpoint=PATH,
        verify_token="bench-verify-token",
        app_secret=app_secret,
        validate_updates=True,
    )
    if not wa._validate_updates:  # pywa turns it off (with a warning) without an app secret
        raise SystemExit("pywa signature validation is off")

    @wa.on_message()
    async def noop(_: WhatsApp, __: types.Message) -> None:
        return None

    return app


def main() -> None:
    kind, port, app_secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    logging.basicConfig(level=logging.WARNING)
    app = bare_app(app_secret) if kind == "bare" else pywa_app(app_secret)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
