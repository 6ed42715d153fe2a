"""`/api/v1`: JSON for operators and checks. Every route requires a bearer token."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, status

from relaydesk.app.http.deps import ContainerDep, Operator
from relaydesk.app.http.schemas import ConversationList, ConversationOut, Problem
from relaydesk.services import conversations

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
