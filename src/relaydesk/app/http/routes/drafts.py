"""`/api/v1/drafts`: the Approvals view as JSON, with the console's roles and visibility
(`services.drafts`): the bot's drafts waiting for approval, one draft, and approving
(as drafted or edited) or rejecting it. The customer receives one message per draft; a
second approval of the same draft is answered 409."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import Id, Problem, Text
from relaydesk.domain.permissions import Action
from relaydesk.services.accounts import User
from relaydesk.services.agents import ActionError
from relaydesk.services.drafts import Draft

router = APIRouter(
    prefix="/api/v1",
    tags=["drafts"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such draft"},
    409: {"model": Problem, "description": "already handled, or people have the conversation"},
    422: {"model": Problem, "description": "an edit WhatsApp would refuse; the detail says why"},
}


class DraftOut(BaseModel):
    id: int
    conversation_id: int
    message_id: int = Field(description="the customer's message the draft answers")
    intent: str
    confidence: float | None
    text: str = Field(description="the drafted text")
    content: dict[str, Any] = Field(description="the drafted message: kind, body, buttons")
    state: str = Field(description="pending, sent, rejected or expired")
    created_at: datetime
    handled_at: datetime | None
    handled_by: int | None = Field(description="null while pending and for an expired draft")
    sent_text: str | None
    edit_distance: float | None = Field(description="0 sent as drafted .. 1 nothing kept")
    unchanged: bool | None = Field(description="sent exactly as drafted")
    conversation_status: str
    customer_name: str | None


class DraftList(BaseModel):
    drafts: list[DraftOut] = Field(description="oldest first")


class ApproveIn(BaseModel):
    text: Text | None = Field(
        default=None,
        description="The text to send instead of the draft's (its buttons are kept); "
        "omit it to send the draft as it is.",
    )


def draft_out(draft: Draft) -> DraftOut:
    return DraftOut(
        id=draft.id,
        conversation_id=draft.conversation_id,
        message_id=draft.message_id,
        intent=draft.intent,
        confidence=draft.confidence,
        text=draft.text,
        content=draft.content,
        state=draft.state,
        created_at=draft.created_at,
        handled_at=draft.handled_at,
        handled_by=draft.handled_by,
        sent_text=draft.sent_text,
        edit_distance=draft.edit_distance,
        unchanged=draft.unchanged,
        conversation_status=draft.conversation_status,
        customer_name=draft.customer_name,
    )


async def _call(func: Any, *args: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(func, *args)
    except ActionError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/drafts", response_model=DraftList)
async def waiting(
    container: ContainerDep,
    _user: Annotated[User, allow(Action.DRAFTS_READ)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[Id | None, Query(description="ids above this one")] = None,
) -> DraftList:
    """The bot's drafts waiting for approval (their conversation still with the bot),
    oldest first; every role sees these, as it sees the queues."""
    found = await _call(container.drafts.waiting, limit, after)
    return DraftList(drafts=[draft_out(d) for d in found])


@router.get("/drafts/{draft_id}", response_model=DraftOut, responses=PROBLEMS)
async def one(
    draft_id: Id, container: ContainerDep, user: Annotated[User, allow(Action.DRAFTS_READ)]
) -> DraftOut:
    """One draft: pending ones to everyone; handled ones to supervisors and admins, to
    whoever handled it and to those who see its conversation."""
    return draft_out(await _call(container.drafts.get, user, draft_id))


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut, responses=PROBLEMS)
async def approve(
    draft_id: Id,
    body: ApproveIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.DRAFTS_DECIDE)],
) -> DraftOut:
    """Send the draft as drafted, or with `text` instead of its text: stored with the
    edit distance and whether it went unchanged. 409 when it was handled already."""
    now = clock()

    def run() -> Draft:
        return container.drafts.approve(user, draft_id, now, body.text)

    draft = await _call(run)
    container.worker.wake.set()
    return draft_out(draft)


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut, responses=PROBLEMS)
async def reject(
    draft_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.DRAFTS_DECIDE)],
) -> DraftOut:
    """Never send the draft: the conversation goes to people (the intent's queue) with
    the handoff message."""
    now = clock()
    draft = await _call(container.drafts.reject, user, draft_id, now)
    await anyio.to_thread.run_sync(container.desk.assign_waiting, now)
    container.worker.wake.set()
    return draft_out(draft)
