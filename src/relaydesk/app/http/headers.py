"""The security headers of every HTML page the service serves (the console, the sandbox):
never framed, scripts and styles only from the service's own static files, no sniffing,
no referrer sent elsewhere."""

from __future__ import annotations

from typing import TypeVar

from starlette.responses import Response

R = TypeVar("R", bound=Response)

PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def secure_page(response: R) -> R:
    """`response` with the page security headers set."""
    response.headers.update(PAGE_SECURITY_HEADERS)
    return response
