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


#: A stored report (the replay's self-contained HTML: inline styles and SVG, no script):
#: nothing loads from anywhere, no script runs, and the page gets an origin of its own
#: (`sandbox`), so even text from a history that slipped past escaping reaches nothing.
REPORT_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; form-action 'none'; base-uri 'none'; sandbox"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def secure_page(response: R) -> R:
    """`response` with the page security headers set."""
    response.headers.update(PAGE_SECURITY_HEADERS)
    return response


def secure_report(response: R) -> R:
    """`response` (a stored HTML report) with the report security headers set."""
    response.headers.update(REPORT_SECURITY_HEADERS)
    return response
