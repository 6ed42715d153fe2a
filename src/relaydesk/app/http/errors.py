"""How the app answers what it cannot serve: a request that does not validate (422, or 404
for a path id that names nothing), an upload over its limit (413), and an unhandled error
(500, logged with its class and route but never the values involved). Every response also
says `nosniff`."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relaydesk.app.http.schemas import MAX_ID
from relaydesk.app.http.uploads import UploadTooLarge

log = structlog.get_logger(__name__)

NOSNIFF = (b"x-content-type-options", b"nosniff")
MAX_ECHO = 200  #: characters of a rejected value echoed back in a 422


def install_error_handling(
    app: FastAPI, *, error_page: Callable[[Request, int, str], Response | None]
) -> None:
    """Answer validation errors as described above; `error_page(request, status, detail)`
    may render a page of its own for an address (the console's) or return None for the
    JSON answer. Add `ErrorGuard` as the outermost middleware separately."""

    async def on_invalid(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it
            raise exc
        errors = exc.errors()
        fields = [".".join(str(part) for part in error.get("loc", ())) for error in errors]
        log.info("request_invalid", route=route_of(request.scope), fields=printable(fields))
        bad_path = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("path",)]
        if bad_path:
            name = str(bad_path[0]["loc"][-1])
            detail = (
                f"nothing at this address: {name} {printable(bad_path[0].get('input'))!r} "
                f"is not an id (ids are whole numbers from 1 to {MAX_ID})"
            )
            return error_page(request, 404, detail) or JSONResponse(
                {"detail": detail}, status_code=404
            )
        page = error_page(request, 422, f"check what you entered: {', '.join(fields)}")
        return page or JSONResponse(
            {"detail": printable(jsonable_encoder(errors))}, status_code=422
        )

    async def on_too_large(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, UploadTooLarge):  # pragma: no cover - registered for it
            raise exc
        log.info("upload_refused", route=route_of(request.scope), status=413)
        return error_page(request, 413, str(exc.detail)) or JSONResponse(
            {"detail": exc.detail}, status_code=413
        )

    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(UploadTooLarge, on_too_large)


def route_of(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/conversations/{conversation_id}`), or
    the raw path when no route matched."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return str(template) if template else str(scope.get("path", ""))


def printable(value: Any) -> Any:
    """`value` safe to encode and short: lone surrogates become U+FFFD, NULs are dropped,
    long strings are cut (the whole thing stays JSON-shaped)."""
    if isinstance(value, str):
        clean = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        clean = clean.replace("\x00", "")
        return clean if len(clean) <= MAX_ECHO else clean[:MAX_ECHO] + "…"
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    if isinstance(value, dict):
        return {printable(str(k)): printable(v) for k, v in value.items()}
    return value


class ErrorGuard:
    """ASGI middleware, outermost: adds `X-Content-Type-Options: nosniff` to every
    response, and turns an unhandled error into a 500 whose log line names the error's
    class, the method, the route and where it was raised, but none of the values (a
    database error's message can quote a customer's number or a note)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_nosniff(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not any(name.lower() == NOSNIFF[0] for name, _ in headers):
                    headers.append(NOSNIFF)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_nosniff)
        except Exception as exc:
            log.error(
                "unhandled_error",
                error=f"{type(exc).__module__}.{type(exc).__qualname__}",
                method=scope.get("method"),
                route=route_of(scope),
                raised_at=_where(exc),
            )
            if started:
                raise
            response = JSONResponse(
                {"detail": "internal error; it is logged as unhandled_error, with no values"},
                status_code=500,
            )
            await response(scope, receive, send_with_nosniff)


def _where(exc: BaseException) -> list[str]:
    """The innermost frames of the traceback as `file:line function`, without the
    message (which may quote values)."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames]
