"""FastAPI dependencies: the container, the clock and the authenticated operator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import anyio.to_thread
import structlog
from fastapi import Depends, HTTPException, Request, status

from relaydesk.bootstrap import Container
from relaydesk.services import accounts
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


async def current_user(request: Request, container: ContainerDep) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token; send `Authorization: Bearer <token>` "
            "(create one with `relaydesk tokens create --email ...`)",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def lookup() -> User | None:
        with container.db.write() as conn:
            return accounts.authenticate_token(conn, token.strip(), datetime.now(UTC))

    user = await anyio.to_thread.run_sync(lookup)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or revoked token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


def require_role(*roles: str) -> Callable[..., object]:
    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role!r} may not do this; it needs one of: {', '.join(roles)}",
            )
        return user

    return check


Operator = Annotated[User, Depends(require_role("agent", "supervisor", "admin"))]
Supervisor = Annotated[User, Depends(require_role("supervisor", "admin"))]
Admin = Annotated[User, Depends(require_role("admin"))]


async def account_call(func: Callable[[], T]) -> T:
    """Run an accounts or tokens service call in a thread; a refusal (`AccountError`)
    becomes the HTTP error it names."""
    try:
        return await anyio.to_thread.run_sync(func)
    except AccountError as exc:
        log.info("api_account_refused", reason=type(exc).__name__, status=exc.status)
        raise HTTPException(exc.status, str(exc)) from None
