"""`/api/v1/rollout`: the rollout's state, gates and change log, and the same changes as
`relaydesk rollout` and the console's Rollout page, for supervisors and admins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
import structlog
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, StringConstraints, model_validator

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Problem, Text
from relaydesk.domain.permissions import Action
from relaydesk.domain.rollout import SEGMENT, Change
from relaydesk.services.accounts import User
from relaydesk.services.rollout import RolloutError

log = structlog.get_logger(__name__)
T = TypeVar("T")
IntentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

router = APIRouter(
    prefix="/api/v1",
    tags=["rollout"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


class Target(BaseModel):
    """An intent or the segment (exactly one)."""

    intent: IntentName | None = None
    segment: bool = False

    @model_validator(mode="after")
    def _one(self) -> Target:
        if self.segment == (self.intent is not None):
            raise ValueError("name an `intent` or set `segment: true` (exactly one)")
        return self

    @property
    def subject(self) -> str:
        return SEGMENT if self.segment else str(self.intent)


class PromoteIn(Target):
    force: bool = Field(default=False, description="promote although gates fail (recorded)")


class RollbackIn(Target):
    to: Literal["off", "draft"] | None = Field(
        default=None, description="an intent's new mode (default: one mode down)"
    )
    reason: Annotated[Text, StringConstraints(max_length=500)] = "by hand"


class PhaseIn(BaseModel):
    phase: IntentName


class ChangeOut(BaseModel):
    subject: str
    before: str | None
    after: str
    reason: str
    figures: dict[str, Any]


def _out(change: Change) -> ChangeOut:
    return ChangeOut(
        subject=change.subject,
        before=change.before or None,
        after=change.after,
        reason=change.reason,
        figures=dict(change.figures),
    )


async def _call(func: Callable[[], T]) -> T:
    try:
        return await anyio.to_thread.run_sync(func)
    except RolloutError as exc:
        log.info("api_rollout_refused", status=exc.status)
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/rollout", response_model=dict[str, Any])
async def rollout_status(
    container: ContainerDep, clock: ClockDep, _user: Annotated[User, allow(Action.ROLLOUT_READ)]
) -> dict[str, Any]:
    """Phase, segment, each intent's mode, every gate (figure, n, 95 % interval,
    threshold, whether it holds) and the latest 50 changes, as `relaydesk rollout status
    --json` prints them."""
    now: datetime = clock()
    return (await _call(lambda: container.rollout.status(now))).as_dict()


@router.post(
    "/rollout/promote",
    response_model=ChangeOut,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def promote(
    body: PromoteIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.ROLLOUT_MANAGE)],
) -> ChangeOut:
    """Promote an intent (off to draft, draft to live) or widen the segment; 409 naming
    the gates that do not hold, unless `force`."""
    now = clock()
    change = await _call(
        lambda: container.rollout.promote(
            body.subject, actor=user.email, actor_id=user.id, now=now, force=body.force
        )
    )
    return _out(change)


@router.post(
    "/rollout/rollback",
    response_model=ChangeOut,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def rollback(
    body: RollbackIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.ROLLOUT_MANAGE)],
) -> ChangeOut:
    """Take an intent down a mode or shrink the segment a traffic step."""
    if body.segment and body.to is not None:
        raise HTTPException(422, "`to` is for an intent's mode; the segment shrinks a step")
    now = clock()
    change = await _call(
        lambda: container.rollout.rollback(
            body.subject,
            actor=user.email,
            actor_id=user.id,
            now=now,
            to=body.to,
            reason=body.reason,
        )
    )
    return _out(change)


@router.post(
    "/rollout/phase",
    response_model=ChangeOut,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def phase(
    body: PhaseIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.ROLLOUT_MANAGE)],
) -> ChangeOut:
    """Move the rollout to one of the brief's phases."""
    now = clock()
    change = await _call(
        lambda: container.rollout.set_phase(body.phase, actor=user.email, actor_id=user.id, now=now)
    )
    return _out(change)
