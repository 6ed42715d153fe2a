"""`/api/v1/tokens`: API bearer tokens. Everyone lists, creates and revokes their own;
admins everyone's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

import structlog
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from relaydesk.app.access import secret_key
from relaydesk.app.http.deps import ClockDep, ContainerDep, account_call, allow
from relaydesk.app.http.schemas import MAX_ID, Id, Problem, Text
from relaydesk.domain.permissions import Action, can
from relaydesk.services import accounts, tokens
from relaydesk.services.accounts import User
from relaydesk.services.tokens import TokenInfo

log = structlog.get_logger(__name__)
T = TypeVar("T")

router = APIRouter(
    prefix="/api/v1",
    tags=["tokens"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


class TokenOut(BaseModel):
    id: int
    user_id: int
    email: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = Field(description="Refused from then on; null: never.")
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class TokenList(BaseModel):
    tokens: list[TokenOut]


class TokenIn(BaseModel):
    label: Text = Field(default="", max_length=200, description="What the token is for.")
    expires_in: str | None = Field(
        default=None,
        max_length=20,
        description="Refuse the token after this long: a whole number and m, h, d or w "
        "(at most 10 years). Null: until revoked.",
        examples=["30d"],
    )
    user_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Whose token it is (admins only; default: yourself).",
    )


class NewTokenOut(TokenOut):
    token: str = Field(description="The bearer token. Shown once: only its hash is stored.")


def _out(info: TokenInfo, now: datetime) -> TokenOut:
    return TokenOut(
        id=info.id,
        user_id=info.user_id,
        email=info.email,
        label=info.label,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        expires_at=info.expires_at,
        revoked_at=info.revoked_at,
        state=info.state(now),
    )


def _owner(user: User, user_id: int | None) -> int | None:
    """Whose tokens the caller may reach: anyone's (None) for admins, else their own."""
    if can(user.role, Action.TOKENS_MANAGE_ANY):
        return user_id
    if user_id is not None and user_id != user.id:
        log.info("api_tokens_refused", user_id=user.id, role=user.role)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role {str(user.role)!r} may only manage its own tokens (user_id {user.id}); "
            "an admin manages everyone's",
        )
    return user.id


@router.get("/tokens", response_model=TokenList)
async def list_tokens(
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.TOKENS_MANAGE)],
    user_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this user's (admins only).")
    ] = None,
) -> TokenList:
    """Your tokens, or (admins) everyone's or one user's; revoked and expired included.
    Never the tokens themselves."""
    owner = _owner(user, user_id)

    def load() -> list[TokenInfo]:
        with container.db.read() as conn:
            return tokens.list_tokens(conn, user_id=owner)

    found = await account_call(load)
    now = clock()
    return TokenList(tokens=[_out(info, now) for info in found])


@router.post(
    "/tokens",
    response_model=NewTokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
async def create_token(
    body: TokenIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.TOKENS_MANAGE)],
) -> NewTokenOut:
    """A new token for yourself, or (admins) for `user_id`, optionally expiring. A token
    made with an expiring token expires no later than it, so a leaked short-lived token
    cannot mint a lasting one."""
    owner = _owner(user, body.user_id) or user.id
    now = clock()

    def create() -> tuple[str, TokenInfo]:
        lifetime = None if body.expires_in is None else tokens.parse_lifetime(body.expires_in)
        if user.token_expires_at is not None:
            left = user.token_expires_at - now
            lifetime = left if lifetime is None else min(lifetime, left)
        with container.db.write() as conn:
            email = accounts.get_user(conn, owner).email
            return tokens.issue(
                conn,
                email=email,
                label=body.label,
                now=now,
                key=secret_key(container),
                lifetime=lifetime,
                actor=user,
            )

    token, info = await account_call(create)
    log.info("api_token_created", token_id=info.id, user_id=owner, by=user.id)
    return NewTokenOut(token=token, **_out(info, now).model_dump())


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    responses={404: {"model": Problem}},
)
async def revoke_token(
    token_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.TOKENS_MANAGE)],
) -> TokenOut:
    """Revoke a token at once (yours, or anyone's for admins); revoking a revoked token
    changes nothing. Another person's token is not found for non-admins."""
    owner = _owner(user, None)
    now = clock()

    def revoke() -> tuple[TokenInfo, bool]:
        with container.db.write() as conn:
            return tokens.revoke(conn, token_id, now, owner_id=owner, actor=user)

    info, revoked = await account_call(revoke)
    if revoked:
        log.info("api_token_revoked", token_id=token_id, user_id=info.user_id, by=user.id)
    return _out(info, now)
