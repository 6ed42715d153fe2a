"""`/api/v1/conversations/{id}/failure-tags`: the transcript review's failure tags, put on
any conversation (bot-only ones included) by supervisors and admins. The search over all
conversations is `GET /api/v1/conversations` (`routes.reads`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Id, Problem, Text
from relaydesk.domain.desk import FAILURE_TAGS
from relaydesk.domain.permissions import Action
from relaydesk.services import review
from relaydesk.services.accounts import User
from relaydesk.services.moves import ActionError

router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


class FailureTagsIn(BaseModel):
    tags: list[Text] = Field(
        max_length=len(FAILURE_TAGS),
        description=f"Any of: {', '.join(FAILURE_TAGS)}; an empty list clears them.",
    )


class FailureTagsOut(BaseModel):
    tags: list[str]


@router.put(
    "/conversations/{conversation_id}/failure-tags",
    response_model=FailureTagsOut,
    responses={
        404: {"model": Problem, "description": "no such conversation"},
        422: {"model": Problem, "description": "an unknown tag; the detail lists the known"},
    },
)
async def put_failure_tags(
    conversation_id: Id,
    body: FailureTagsIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_TAG)],
) -> FailureTagsOut:
    """Replace what the bot did wrong in this conversation, escalated or not (the daily
    transcript review); the escalation verdict, if any, stays."""
    now: datetime = clock()
    try:
        await anyio.to_thread.run_sync(
            review.tag, container.db, user, conversation_id, body.tags, now
        )
    except ActionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return FailureTagsOut(tags=[t for t in FAILURE_TAGS if t in body.tags])
