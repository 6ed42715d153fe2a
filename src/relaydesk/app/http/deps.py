"""FastAPI dependencies: the container, the clock and `allow`, the permission check of
every API route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio.to_thread
import structlog
from fastapi import Depends, HTTPException, Request, status

from relaydesk.app import access
from relaydesk.bootstrap import Container
from relaydesk.domain.permissions import Action
from relaydesk.services.accounts import AccountError, User

log = structlog.get_logger(__name__)
T = TypeVar("T")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


ContainerDep = Annotated[Container, Depends(get_container)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def allow(action: Action) -> Any:
    """The dependency of an API route: the user whose bearer token (or console session)
    the request carries, if their role may do `action` (`domain.permissions`); 401
    without a live token or session, 403 for a role that may not, or a session's
    state-changing request without its CSRF token. Use as
    `user: Annotated[User, allow(Action.X)]`."""

    async def check(request: Request, container: ContainerDep, clock: ClockDep) -> User:
        try:
            actor = await access.resolve_actor(request, container, clock())
            access.permit(actor, action)
        except access.NotSignedIn as exc:
            raise _unauthorized(exc) from None
        except access.NotAllowed as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
        if not await access.csrf_ok(request, actor):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "a request made with a console session must carry its CSRF token in "
                "`X-CSRF-Token`; scripts should use a bearer token instead",
            )
        request.state.actor = actor
        return actor.user

    check.action = action  # type: ignore[attr-defined]  # read by the permission test
    return Depends(check)


def _unauthorized(exc: access.NotSignedIn) -> HTTPException:
    if exc.reason in ("required", "bad_scheme"):
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token; send `Authorization: Bearer <token>` "
            "(create one with `relaydesk tokens create --email ...`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if exc.via == "session":
        return HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"the console session has {exc.reason}; sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "invalid or revoked token",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def account_call(func: Callable[[], T]) -> T:
    """Run an accounts or tokens service call in a thread; a refusal (`AccountError`)
    becomes the HTTP error it names."""
    try:
        return await anyio.to_thread.run_sync(func)
    except AccountError as exc:
        log.info("api_account_refused", reason=type(exc).__name__, status=exc.status)
        raise HTTPException(exc.status, str(exc)) from None
