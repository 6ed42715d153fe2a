"""`/api/v1`: JSON for operators and checks, with the same actions and authorization as
the console. Every route requires a bearer token; agents act on their own conversations,
supervisors and admins on any; admins manage users. What is read is in `routes.reads`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, status

from relaydesk.app.http.deps import ClockDep, ContainerDep, account_call, allow
from relaydesk.app.http.routes.reads import read_in_thread
from relaydesk.app.http.schemas import (
    Created,
    Done,
    FeedbackIn,
    Id,
    NoteIn,
    PresenceIn,
    Problem,
    ReplyIn,
    TransferIn,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)
from relaydesk.bootstrap import Container
from relaydesk.domain.permissions import Action
from relaydesk.services import accounts
from relaydesk.services.accounts import Account, User
from relaydesk.services.agents import ActionError

router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


#: The refusals an action on a conversation can answer with.
ACTION_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such conversation"},
    409: {"model": Problem, "description": "the conversation is not in a state that allows it"},
    422: {"model": Problem, "description": "a bad value; the detail names it and the fix"},
}


async def _act(container: Container, now: datetime, action: Any, *args: Any) -> Any:
    """Run a desk action in a thread, mapping refusals to HTTP answers, then give waiting
    conversations to whoever has room now."""
    try:
        result = await anyio.to_thread.run_sync(action, *args, now)
    except ActionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    await anyio.to_thread.run_sync(container.desk.assign_waiting, now)
    return result


# --- agents' actions -------------------------------------------------------------------


@router.post("/me/presence", response_model=Done, responses={422: {"model": Problem}})
async def set_presence(
    body: PresenceIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.PRESENCE_SET)],
) -> Done:
    """Go online (take new conversations), away (keep yours, no new ones) or offline."""
    await _act(container, clock(), container.desk.set_presence, user, body.presence)
    return Done(status=body.presence)


@router.post(
    "/conversations/{conversation_id}/take", response_model=Done, responses=ACTION_PROBLEMS
)
async def take(
    conversation_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_TAKE)],
) -> Done:
    """Take a waiting conversation: an agent needs the queue's skill, the customer's
    language and spare capacity (403 / 409 otherwise); supervisors may take any."""
    await _act(container, clock(), container.desk.take, user, conversation_id)
    return Done(status="assigned")


@router.post(
    "/conversations/{conversation_id}/reply", response_model=Created, responses=ACTION_PROBLEMS
)
async def reply(
    conversation_id: Id,
    body: ReplyIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_REPLY)],
) -> Created:
    """Send the customer a message as the agent (a template after the 24-hour window).
    Answers the outbox id of the message."""

    def run(now: datetime) -> int:
        return container.desk.reply(user, conversation_id, body.text, now, draft=body.draft)

    outbox_id = await _act(container, clock(), run)
    container.worker.wake.set()
    return Created(id=outbox_id, status="queued for sending")


@router.post(
    "/conversations/{conversation_id}/notes",
    response_model=Created,
    status_code=status.HTTP_201_CREATED,
    responses=ACTION_PROBLEMS,
)
async def add_note(
    conversation_id: Id,
    body: NoteIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_NOTE)],
) -> Created:
    """Add an internal note for colleagues; the customer never sees it."""

    def run(now: datetime) -> int:
        return container.desk.add_note(user, conversation_id, body.body, now)

    note_id = await _act(container, clock(), run)
    return Created(id=note_id, status="noted")


@router.post(
    "/conversations/{conversation_id}/transfer", response_model=Done, responses=ACTION_PROBLEMS
)
async def transfer(
    conversation_id: Id,
    body: TransferIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_TRANSFER)],
) -> Done:
    """Move the conversation to another queue (it waits there) or to a named person."""

    def run(now: datetime) -> None:
        container.desk.transfer(
            user, conversation_id, now, queue=body.queue, agent_id=body.agent_id
        )

    await _act(container, clock(), run)
    return Done(status="queued" if body.queue is not None else "assigned")


@router.post(
    "/conversations/{conversation_id}/escalate", response_model=Done, responses=ACTION_PROBLEMS
)
async def escalate(
    conversation_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_ESCALATE)],
) -> Done:
    """Move the conversation up to the next step of the brief's tier ladder."""
    await _act(container, clock(), container.desk.escalate, user, conversation_id)
    return Done(status="queued")


@router.post(
    "/conversations/{conversation_id}/resolve", response_model=Done, responses=ACTION_PROBLEMS
)
async def resolve(
    conversation_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_RESOLVE)],
) -> Done:
    """Close the conversation (the customer is then asked for a rating); the next
    customer message starts a new one."""
    await _act(container, clock(), container.desk.resolve, user, conversation_id)
    return Done(status="resolved")


@router.post(
    "/conversations/{conversation_id}/handback", response_model=Done, responses=ACTION_PROBLEMS
)
async def hand_back(
    conversation_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_HANDBACK)],
) -> Done:
    """Give the conversation back to the bot."""
    await _act(container, clock(), container.desk.hand_back, user, conversation_id)
    return Done(status="bot")


@router.post(
    "/conversations/{conversation_id}/feedback", response_model=Done, responses=ACTION_PROBLEMS
)
async def feedback(
    conversation_id: Id,
    body: FeedbackIn,
    container: ContainerDep,
    clock: ClockDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_FEEDBACK)],
) -> Done:
    """Say whether the escalation was needed (needed, not_needed, too_late) and tag what
    the bot did wrong; sent again, it replaces the earlier verdict."""

    def run(now: datetime) -> None:
        container.desk.feedback(user, conversation_id, body.verdict, body.tags, now)

    await _act(container, clock(), run)
    return Done(status=body.verdict)


# --- users (admins) --------------------------------------------------------------------


@router.get("/users", response_model=UserList)
async def list_users(
    container: ContainerDep, _user: Annotated[User, allow(Action.USERS_MANAGE)]
) -> dict[str, Any]:
    """Every account, active first."""
    found: list[Account] = await read_in_thread(container, accounts.list_users)
    return {"users": [_user_out(a) for a in found]}


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def create_user(
    body: UserIn,
    container: ContainerDep,
    clock: ClockDep,
    admin: Annotated[User, allow(Action.USERS_MANAGE)],
) -> UserOut:
    """Create an account (a password lets the person log in to the console)."""

    def run() -> Account:
        with container.db.write() as conn:
            user = accounts.create_user(
                conn,
                email=body.email,
                name=body.name,
                role=body.role,
                password=body.password,
                now=clock(),
                skills=body.skills,
                languages=body.languages,
                capacity=body.capacity,
                actor=admin,
            )
            return accounts.get_user(conn, user.id)

    return _user_out(await account_call(run))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
)
async def update_user(
    user_id: Id,
    body: UserPatch,
    container: ContainerDep,
    clock: ClockDep,
    admin: Annotated[User, allow(Action.USERS_MANAGE)],
) -> UserOut:
    """Change a person's name, role, skills, languages, capacity, password or whether
    the account is active; fields left out stay as they are. Deactivating someone puts
    the conversations they hold back in their queues."""

    def run() -> Account:
        with container.db.write() as conn:
            return accounts.update_user(
                conn, user_id, **body.model_dump(exclude_unset=True), now=clock(), actor=admin
            )

    updated = await account_call(run)
    if not updated.active:
        await anyio.to_thread.run_sync(container.desk.release, updated.id, clock(), admin.id)
    await anyio.to_thread.run_sync(container.desk.assign_waiting, clock())
    return _user_out(updated)


def _user_out(account: Account) -> UserOut:
    return UserOut.model_validate(account, from_attributes=True)
