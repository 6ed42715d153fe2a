"""`/api/v1`: JSON for operators and checks, with the same actions and authorization as
the console. Every route requires a bearer token; agents act on their own conversations,
supervisors and admins on any; admins manage users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request, status

from relaydesk.app.http.deps import Admin, ClockDep, ContainerDep, Operator, Supervisor
from relaydesk.app.http.schemas import (
    AgentList,
    ConversationList,
    ConversationOut,
    ConversationSummaries,
    Created,
    DecisionPage,
    Done,
    FeedbackIn,
    HandoffCardOut,
    Id,
    MessagePage,
    NoteIn,
    PresenceIn,
    Problem,
    QueueList,
    ReplyIn,
    RewriteStatsOut,
    Text,
    TransferIn,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)
from relaydesk.bootstrap import Container
from relaydesk.services import accounts, conversations
from relaydesk.services.accounts import Account, AccountError, User
from relaydesk.services.agents import ActionError

#: The furthest a `next` link of an urgency-ordered list may skip.
MAX_OFFSET = 1_000_000

router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)


Limit = Annotated[
    int,
    Query(ge=1, le=conversations.MAX_PAGE, description="Items per page (1 to 500)."),
]
Before = Annotated[
    Id | None,
    Query(description="Cursor: only items with ids below this one (from a `next` link)."),
]
Offset = Annotated[
    int,
    Query(ge=0, le=MAX_OFFSET, description="Cursor: skip this many (from a `next` link)."),
]
CustomerRef = Annotated[
    Text, Query(min_length=1, max_length=160, description="The customer's wa_id or BSUID.")
]


def _next(request: Request, **cursor: int | None) -> str | None:
    """The link to the next page: this request's URL with the new cursor; None when the
    cursor says there is nothing more."""
    if any(value is None for value in cursor.values()):
        return None
    url = request.url.include_query_params(**cursor)
    return f"{url.path}?{url.query}"


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    request: Request,
    container: ContainerDep,
    user: Operator,
    customer: CustomerRef,
    limit: Limit = conversations.PAGE,
    before: Before = None,
) -> dict[str, Any]:
    """Conversations of one customer that you may see, newest first, a page at a time
    (`next` links to the older ones). Each holds its newest messages and decisions."""

    def load() -> list[dict[str, Any]]:
        with container.db.read() as conn:
            return conversations.find_for_customer(
                conn, customer.strip(), user, limit=limit + 1, before=before
            )

    found = await anyio.to_thread.run_sync(load)
    shown = [_with_links(request, c) for c in found[:limit]]
    more = shown[-1]["id"] if len(found) > limit else None
    return {"conversations": shown, "next": _next(request, before=more)}


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses={403: {"model": Problem}, 404: {"model": Problem}},
)
async def get_conversation(
    request: Request,
    conversation_id: Id,
    container: ContainerDep,
    user: Operator,
    limit: Limit = conversations.PAGE,
) -> dict[str, Any]:
    """One conversation with its customer, its newest messages and decisions (with their
    reasons), and links to older ones. Agents see waiting conversations and their own;
    supervisors and admins any."""

    def load() -> dict[str, Any] | None:
        with container.db.read() as conn:
            return conversations.get(conn, conversation_id, limit=limit)

    found = _visible(user, conversation_id, await anyio.to_thread.run_sync(load))
    return _with_links(request, found)


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessagePage,
    responses={403: {"model": Problem}, 404: {"model": Problem}},
)
async def conversation_messages(
    request: Request,
    conversation_id: Id,
    container: ContainerDep,
    user: Operator,
    limit: Limit = conversations.PAGE,
    before: Before = None,
) -> dict[str, Any]:
    """A page of the conversation's messages: the newest `limit` below `before`, oldest
    first; `next` links to the page before."""
    page, older = await _page(
        container, user, conversation_id, conversations.messages_page, limit, before
    )
    return {"messages": page, "next": _next(request, before=older)}


@router.get(
    "/conversations/{conversation_id}/decisions",
    response_model=DecisionPage,
    responses={403: {"model": Problem}, 404: {"model": Problem}},
)
async def conversation_decisions(
    request: Request,
    conversation_id: Id,
    container: ContainerDep,
    user: Operator,
    limit: Limit = conversations.PAGE,
    before: Before = None,
) -> dict[str, Any]:
    """A page of the conversation's decisions, as the messages are paged."""
    page, older = await _page(
        container, user, conversation_id, conversations.decisions_page, limit, before
    )
    return {"decisions": page, "next": _next(request, before=older)}


async def _page(
    container: Container,
    user: User,
    conversation_id: Id,
    read: Any,
    limit: int,
    before: int | None,
) -> tuple[list[dict[str, Any]], int | None]:
    def load() -> tuple[list[dict[str, Any]], int | None]:
        with container.db.read() as conn:
            _visible(user, conversation_id, conversations.visibility_of(conn, conversation_id))
            page: tuple[list[dict[str, Any]], int | None] = read(
                conn, conversation_id, limit=limit, before=before
            )
            return page

    return await anyio.to_thread.run_sync(load)


def _visible(user: User, conversation_id: Id, found: dict[str, Any] | None) -> dict[str, Any]:
    """The conversation if the user may see it (`conversations.may_see`); 404 when there
    is none, 403 when it is someone else's."""
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation {conversation_id}")
    if not conversations.may_see(user, found):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"conversation {conversation_id} is {found['status']} and not yours; agents see "
            "waiting conversations and their own (ask a supervisor to transfer it to you)",
        )
    return found


def _with_links(request: Request, found: dict[str, Any]) -> dict[str, Any]:
    base = f"{request.scope.get('root_path', '')}/api/v1/conversations/{found['id']}"

    def link(kind: str, before: int | None) -> str | None:
        return None if before is None else f"{base}/{kind}?before={before}"

    return {
        **found,
        "messages_next": link("messages", found["messages_before"]),
        "decisions_next": link("decisions", found["decisions_before"]),
    }


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


async def _read(container: Container, read: Any, *args: Any, **kwargs: Any) -> Any:
    def load() -> Any:
        with container.db.read() as conn:
            return read(conn, *args, **kwargs)

    return await anyio.to_thread.run_sync(load)


# --- agents' actions -------------------------------------------------------------------


@router.post("/me/presence", response_model=Done, responses={422: {"model": Problem}})
async def set_presence(
    body: PresenceIn, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Go online (take new conversations), away (keep yours, no new ones) or offline."""
    await _act(container, clock(), container.desk.set_presence, user, body.presence)
    return Done(status=body.presence)


@router.post(
    "/conversations/{conversation_id}/take", response_model=Done, responses=ACTION_PROBLEMS
)
async def take(
    conversation_id: Id, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Take a waiting conversation: an agent needs the queue's skill, the customer's
    language and spare capacity (403 / 409 otherwise); supervisors may take any."""
    await _act(container, clock(), container.desk.take, user, conversation_id)
    return Done(status="assigned")


@router.post(
    "/conversations/{conversation_id}/reply", response_model=Created, responses=ACTION_PROBLEMS
)
async def reply(
    conversation_id: Id, body: ReplyIn, container: ContainerDep, clock: ClockDep, user: Operator
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
    conversation_id: Id, body: NoteIn, container: ContainerDep, clock: ClockDep, user: Operator
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
    user: Operator,
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
    conversation_id: Id, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Move the conversation up to the next step of the brief's tier ladder."""
    await _act(container, clock(), container.desk.escalate, user, conversation_id)
    return Done(status="queued")


@router.post(
    "/conversations/{conversation_id}/resolve", response_model=Done, responses=ACTION_PROBLEMS
)
async def resolve(
    conversation_id: Id, container: ContainerDep, clock: ClockDep, user: Operator
) -> Done:
    """Close the conversation (the customer is then asked for a rating); the next
    customer message starts a new one."""
    await _act(container, clock(), container.desk.resolve, user, conversation_id)
    return Done(status="resolved")


@router.post(
    "/conversations/{conversation_id}/handback", response_model=Done, responses=ACTION_PROBLEMS
)
async def hand_back(
    conversation_id: Id, container: ContainerDep, clock: ClockDep, user: Operator
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
    user: Operator,
) -> Done:
    """Say whether the escalation was needed (needed, not_needed, too_late) and tag what
    the bot did wrong; sent again, it replaces the earlier verdict."""

    def run(now: datetime) -> None:
        container.desk.feedback(user, conversation_id, body.verdict, body.tags, now)

    await _act(container, clock(), run)
    return Done(status=body.verdict)


# --- read models -----------------------------------------------------------------------


@router.get(
    "/conversations/{conversation_id}/card",
    response_model=HandoffCardOut,
    responses={403: {"model": Problem}, 404: {"model": Problem}},
)
async def handoff_card(
    request: Request,
    conversation_id: Id,
    container: ContainerDep,
    clock: ClockDep,
    user: Operator,
    limit: Limit = conversations.PAGE,
    before: Before = None,
) -> dict[str, Any]:
    """The handoff card: why it escalated, intent, sentiment, collected data, transcript
    (the newest `limit` messages below `before`; `transcript_next` pages back), what the
    bot tried, a suggested next step and reply, notes, feedback, SLA clocks.
    Agents see waiting conversations and their own; supervisors and admins any."""

    def load() -> dict[str, Any] | None:
        with container.db.read() as conn:
            return conversations.handoff_card(
                conn, conversation_id, container.brief, clock(), limit=limit, before=before
            )

    card = _visible(user, conversation_id, await anyio.to_thread.run_sync(load))
    return {**card, "transcript_next": _next(request, before=card["transcript_before"])}


@router.get("/me/conversations", response_model=ConversationSummaries)
async def my_conversations(
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
    user: Operator,
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The conversations assigned to me, most urgent first, a page at a time."""
    found = await _read(
        container,
        conversations.my_conversations,
        user.id,
        container.brief,
        clock(),
        limit=limit + 1,
        offset=offset,
    )
    return _summary_page(request, found, limit, offset)


@router.get("/queue", response_model=ConversationSummaries)
async def waiting_queue(
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
    _user: Operator,
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Conversations waiting for a person, in the order they are given out, a page at a
    time (`position` counts from the head of the line)."""
    found = await _read(
        container, conversations.waiting, container.brief, clock(), limit=limit + 1, offset=offset
    )
    return _summary_page(request, found, limit, offset)


@router.get("/queues", response_model=QueueList)
async def queues(container: ContainerDep, clock: ClockDep, _user: Operator) -> dict[str, Any]:
    """Each queue's depth, oldest wait, load, online staff and SLA risk."""
    found = await _read(container, conversations.queue_overview, container.brief, clock())
    return {"queues": found}


@router.get("/sla/risk", response_model=ConversationSummaries)
async def sla_risk(
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
    _user: Supervisor,
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Open conversations with an SLA clock in warning or breached, most urgent first, a
    page at a time."""
    found = await _read(
        container, conversations.sla_risk, container.brief, clock(), limit=limit + 1, offset=offset
    )
    return _summary_page(request, found, limit, offset)


def _summary_page(
    request: Request, found: list[dict[str, Any]], limit: int, offset: int
) -> dict[str, Any]:
    """One page of a list ordered by urgency, not by id, so its cursor is a count: `found`
    starts at `offset` and holds up to `limit + 1` (one more says there is a next page)."""
    more = offset + limit if len(found) > limit else None
    return {"conversations": found[:limit], "next": _next(request, offset=more)}


@router.get("/agents", response_model=AgentList)
async def agents(container: ContainerDep, _user: Supervisor) -> dict[str, Any]:
    """Every active person's presence and load against capacity."""
    return {"agents": await _read(container, conversations.agents_overview)}


@router.get("/stats/rewrites", response_model=RewriteStatsOut)
async def rewrite_stats(container: ContainerDep, _user: Supervisor) -> dict[str, Any]:
    """How often agents change the suggested draft before sending, and by how much
    (mean normalised edit distance, 0 = sent as drafted)."""
    result: dict[str, Any] = await _read(container, conversations.rewrite_stats)
    return result


# --- users (admins) --------------------------------------------------------------------


@router.get("/users", response_model=UserList)
async def list_users(container: ContainerDep, _user: Admin) -> dict[str, Any]:
    """Every account, active first."""
    found: list[Account] = await _read(container, accounts.list_users)
    return {"users": [_user_out(a) for a in found]}


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def create_user(
    body: UserIn, container: ContainerDep, clock: ClockDep, _user: Admin
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
            )
            return accounts.get_user(conn, user.id)

    return _user_out(await _accounts(run))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}},
)
async def update_user(
    user_id: Id, body: UserPatch, container: ContainerDep, clock: ClockDep, admin: Admin
) -> UserOut:
    """Change a person's name, role, skills, languages, capacity, password or whether
    the account is active; fields left out stay as they are. Deactivating someone puts
    the conversations they hold back in their queues."""

    def run() -> Account:
        with container.db.write() as conn:
            return accounts.update_user(
                conn, user_id, **body.model_dump(exclude_unset=True), now=clock()
            )

    updated = await _accounts(run)
    if not updated.active:
        await anyio.to_thread.run_sync(container.desk.release, updated.id, clock(), admin.id)
    await anyio.to_thread.run_sync(container.desk.assign_waiting, clock())
    return _user_out(updated)


async def _accounts(run: Any) -> Account:
    try:
        result: Account = await anyio.to_thread.run_sync(run)
    except AccountError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return result


def _user_out(account: Account) -> UserOut:
    return UserOut.model_validate(account, from_attributes=True)
