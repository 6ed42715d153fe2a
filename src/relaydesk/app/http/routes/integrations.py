"""`/api/v1/integrations`: the integration outbox's dead letters, and retrying one
(supervisors and admins; `services.integrations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from relaydesk.adapters.storage.integration_outbox import Row
from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Id, Problem
from relaydesk.domain.permissions import Action
from relaydesk.services.accounts import User
from relaydesk.services.integrations import NotADeadLetter, dead_letters, retry_dead_letter

router = APIRouter(
    prefix="/api/v1/integrations",
    tags=["integrations"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


class DeadLetterOut(BaseModel):
    id: int
    integration: str = Field(description="the brief's name for it")
    event_type: str = Field(description="conversation.escalated, ... csat.received")
    conversation_id: int | None
    attempts: int
    last_error: str | None = Field(description="what the integration answered last")
    created_at: datetime = Field(description="when the event happened")
    dead_at: datetime | None


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetterOut] = Field(description="newest first")


class Retried(BaseModel):
    id: int
    status: str = Field(description="pending: back in line, due now")


def dead_letter_out(row: Row) -> DeadLetterOut:
    return DeadLetterOut(
        id=row.id,
        integration=row.integration,
        event_type=row.event_type,
        conversation_id=row.conversation_id,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        dead_at=row.finished_at,
    )


@router.get("/dead-letters", response_model=DeadLetterList)
async def list_dead_letters(
    container: ContainerDep,
    _user: Annotated[User, allow(Action.INTEGRATIONS_READ)],
    limit: int = Query(default=200, ge=1, le=500),
) -> DeadLetterList:
    rows = await anyio.to_thread.run_sync(dead_letters, container.db, limit)
    return DeadLetterList(dead_letters=[dead_letter_out(r) for r in rows])


RETRY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such dead letter (or already retried)"},
}


@router.post("/dead-letters/{row_id}/retry", response_model=Retried, responses=RETRY_PROBLEMS)
async def retry(
    row_id: Id,
    container: ContainerDep,
    user: Annotated[User, allow(Action.INTEGRATIONS_RETRY)],
    clock: ClockDep,
) -> Retried:
    try:
        await anyio.to_thread.run_sync(retry_dead_letter, container.db, row_id, user, clock())
    except NotADeadLetter as exc:
        raise HTTPException(404, str(exc)) from None
    return Retried(id=row_id, status="pending")
