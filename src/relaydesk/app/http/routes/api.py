"""`/api/v1`: JSON for operators and checks. Every route requires a bearer token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from relaydesk.app.http.deps import ClockDep, ContainerDep, Operator
from relaydesk.app.http.schemas import ConversationList, ConversationOut, Problem
from relaydesk.bootstrap import Container
from relaydesk.services import conversations
from relaydesk.services.agents import ActionError

router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    container: ContainerDep,
    _user: Operator,
    customer: Annotated[
        str, Query(min_length=1, max_length=160, description="The customer's wa_id or BSUID.")
    ],
) -> dict[str, Any]:
    """Conversations of one customer, newest first."""

    def load() -> list[dict[str, Any]]:
        with container.db.read() as conn:
            return conversations.find_for_customer(conn, customer.strip())

    return {"conversations": await anyio.to_thread.run_sync(load)}


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses={404: {"model": Problem}},
)
async def get_conversation(
    conversation_id: int, container: ContainerDep, _user: Operator
) -> dict[str, Any]:
    """One conversation with its customer, transcript and every decision with its reasons."""

    def load() -> dict[str, Any] | None:
        with container.db.read() as conn:
            return conversations.get(conn, conversation_id)

    found = await anyio.to_thread.run_sync(load)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation {conversation_id}")
    return found


class PresenceIn(BaseModel):
    presence: str = Field(description="online, away or offline")


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4096, description="What the customer reads.")


class Done(BaseModel):
    status: str


async def _act(container: Container, now: datetime, action: Any, *args: Any) -> Any:
    """Run a desk action in a thread, mapping refusals to HTTP answers, then give waiting
    conversations to whoever has room now."""
    try:
        result = await anyio.to_thread.run_sync(action, *args, now)
    except ActionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    await anyio.to_thread.run_sync(container.desk.assign_waiting, now)
    return result


@router.post("/me/presence", response_model=Done)
async def set_presence(
    body: PresenceIn, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Go online (take new conversations), away (keep yours, no new ones) or offline."""
    await _act(container, clock(), container.desk.set_presence, user, body.presence)
    return Done(status=body.presence)


@router.post(
    "/conversations/{conversation_id}/reply",
    response_model=Done,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def reply(
    conversation_id: int, body: ReplyIn, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Send the customer a message as the agent (a template after the 24-hour window)."""
    await _act(container, clock(), container.desk.reply, user, conversation_id, body.text)
    container.worker.wake.set()
    return Done(status="queued for sending")


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=Done,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def resolve(
    conversation_id: int, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Close the conversation; the next customer message starts a new one."""
    await _act(container, clock(), container.desk.resolve, user, conversation_id)
    return Done(status="resolved")


@router.post(
    "/conversations/{conversation_id}/handback",
    response_model=Done,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
async def hand_back(
    conversation_id: int, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Give the conversation back to the bot."""
    await _act(container, clock(), container.desk.hand_back, user, conversation_id)
    return Done(status="bot")
