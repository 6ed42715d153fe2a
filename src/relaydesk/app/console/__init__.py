"""The agent console: server-rendered pages at `/console` (Jinja2, plain CSS, a little
JavaScript for live updates), signed in with console sessions (`services.sessions`).

Wiring, in the app factory::

    install_console(app)   # routes, /console/static, the sign-in and refusal pages
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from relaydesk.app.console import (
    admin,
    approvals,
    audit,
    auth,
    insights,
    integrations,
    live,
    replays,
    review,
    rollout,
    supervise,
    views,
)
from relaydesk.app.console._web import (
    HERE,
    LoginRequired,
    Refusal,
    login_required_response,
    refusal_response,
)
from relaydesk.services.throttle import LoginThrottle


def install_console(app: FastAPI) -> None:
    app.state.login_throttle = LoginThrottle()  # counts in the database; services/throttle.py

    async def on_login_required(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, LoginRequired):  # pragma: no cover - registered for it
            raise exc
        return login_required_response(request, exc)

    async def on_refusal(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, Refusal):  # pragma: no cover - registered for it
            raise exc
        return refusal_response(request, exc)

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(Refusal, on_refusal)
    for module in (
        auth,
        live,
        views,
        supervise,
        replays,
        rollout,
        admin,
        approvals,
        insights,
        review,
        audit,
        integrations,
    ):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console_static")
