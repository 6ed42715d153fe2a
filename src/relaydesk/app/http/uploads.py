"""File uploads (the replay's history files): a request body larger than the limit is
refused with 413 before it is read (by its Content-Length) or as soon as it grows past it
(a body sent in chunks), with a message naming the limit."""

from __future__ import annotations

from collections.abc import Collection

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: room in a multipart body for the boundaries, the part headers and the form's small fields
FORM_OVERHEAD = 64 * 1024


class UploadTooLarge(HTTPException):
    """The body is larger than the upload limit; answered 413 (the console shows a page)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(
            413,
            f"the upload is larger than the limit of {limit / 1_048_576:g} MB ({limit:,} bytes, "
            f"{setting}): split the history into smaller files",
        )


class UploadLimit:
    """ASGI middleware: the POST bodies of `paths` may hold a file of up to `max_bytes`
    (plus `FORM_OVERHEAD`); reading past that raises `UploadTooLarge` in the route, which
    the app's handler answers."""

    def __init__(
        self, app: ASGIApp, *, paths: Collection[str], max_bytes: int, setting: str
    ) -> None:
        self.app = app
        self._paths = frozenset(paths)
        self._limit = max_bytes
        self._setting = setting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") not in self._paths
        ):
            await self.app(scope, receive, send)
            return
        cap = self._limit + FORM_OVERHEAD
        declared = Headers(scope=scope).get("content-length", "")
        too_large = declared.isdigit() and int(declared) > cap
        received = 0

        async def limited() -> Message:
            nonlocal received
            if too_large:
                raise UploadTooLarge(self._limit, self._setting)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise UploadTooLarge(self._limit, self._setting)
            return message

        await self.app(scope, limited, send)
