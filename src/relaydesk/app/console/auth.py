"""Sign in and sign out. The sign-in form has no session yet, so it is protected against
cross-site posting by a double-submit token (a SameSite=Strict cookie and a hidden field)."""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import timedelta
from typing import Annotated

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.app.access import Actor, secret_key
from relaydesk.app.console._web import (
    COOKIE,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    LOGIN_MESSAGES,
    allow,
    container_of,
    in_thread,
    now_of,
    render,
    safe_next,
)
from relaydesk.domain.permissions import Action
from relaydesk.services import sessions
from relaydesk.services.throttle import LoginThrottle, account_key

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
MAX_FIELD = 1024


def _secure(request: Request, *, warn: bool = False) -> bool:
    """Cookies are Secure whenever the console is reached over HTTPS (directly, through a
    proxy's X-Forwarded-Proto, or by RELAYDESK_PUBLIC_URL). Browsers drop Secure cookies
    sent over plain HTTP, so production mode over HTTP is logged instead of broken."""
    settings = container_of(request).settings
    https = request.url.scheme == "https" or (settings.public_url or "").startswith("https://")
    if warn and not https and not settings.sandbox:
        log.warning("console_cookie_not_secure", hint="serve the console over HTTPS")
    return https


def _login_page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    next_path: str = "/console",
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    reason = request.query_params.get("reason", "")
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "message": LOGIN_MESSAGES.get(reason),
            "expired": reason == "expired",
            "error": error,
            "email": email,
            "next": next_path,
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/console/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, next_path=safe_next(request.query_params.get("next")))


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = await request.form()
    email, password, supplied, next_raw = (
        str(form.get(name) or "")[:MAX_FIELD] for name in ("email", "password", CSRF_FIELD, "next")
    )
    next_path = safe_next(next_raw)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), supplied.encode()):
        log.info("console_login_csrf_refused", missing=not supplied)
        return _login_page(
            request,
            status=403,
            error="The sign-in form expired or came from another site. Try again.",
            email=email,
            next_path=next_path,
        )
    if not email.strip() or not password:
        return _login_page(
            request,
            status=422,
            error="Enter your email and password.",
            email=email,
            next_path=next_path,
        )
    container = container_of(request)
    now = now_of(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    key = account_key(email, container.settings.secret_key.get_secret_value())

    def admit() -> timedelta | None:
        with container.db.write() as conn:
            return throttle.admit(conn, key, now)

    wait = await in_thread(admit)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        log.warning("console_login_throttled", retry_after_seconds=int(wait.total_seconds()))
        refused = _login_page(
            request,
            status=429,
            error=f"Too many failed sign-ins for this account. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an admin to reset your password.",
            email=email,
            next_path=next_path,
        )
        refused.headers["Retry-After"] = str(max(1, int(wait.total_seconds())))
        return refused

    def attempt() -> sessions.NewSession | None:
        with container.db.write() as conn:
            new = sessions.login(conn, email, password, now, key=secret_key(container))
            if new is not None:
                throttle.succeeded(conn, key)
            return new

    new = await in_thread(attempt)
    if new is None:  # the attempt was counted by `admit`
        return _login_page(
            request,
            status=401,
            error="Wrong email or password.",
            email=email,
            next_path=next_path,
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        COOKIE,
        new.token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, warn=True),
        path="/console",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, _session: Annotated[Actor, allow(Action.SESSION_END)]
) -> RedirectResponse:
    container = container_of(request)
    token = request.cookies.get(COOKIE, "")
    now = now_of(request)

    def end() -> None:
        with container.db.write() as conn:
            sessions.logout(conn, token, now, key=secret_key(container))

    await in_thread(end)
    response = RedirectResponse("/console/login?reason=signed_out", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
