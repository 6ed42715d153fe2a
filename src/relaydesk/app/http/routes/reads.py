"""`/api/v1`, what is read: conversations (one, a customer's, their messages and
decisions a page at a time), the handoff card, my conversations, the waiting queue, queue
and SLA overviews, agents' load and the rewrite rate. Agents read what waits in the queues
and what is theirs (`conversations.may_see`); supervisors and admins everything."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import structlog
from fastapi import APIRouter, HTTPException, Query, Request, status

from relaydesk.app.http.deps import ClockDep, ContainerDep, allow
from relaydesk.app.http.schemas import (
    AgentList,
    ConversationList,
    ConversationOut,
    ConversationSummaries,
    DecisionPage,
    HandoffCardOut,
    Id,
    MessagePage,
    Problem,
    QueueList,
    RewriteStatsOut,
    Text,
)
from relaydesk.bootstrap import Container
from relaydesk.domain.permissions import Action
from relaydesk.services import conversations, review
from relaydesk.services.accounts import User

log = structlog.get_logger(__name__)

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


def _next(request: Request, **cursor: int | None) -> str | None:
    """The link to the next page: this request's URL with the new cursor; None when the
    cursor says there is nothing more."""
    if any(value is None for value in cursor.values()):
        return None
    url = request.url.include_query_params(**cursor)
    return f"{url.path}?{url.query}"


@router.get(
    "/conversations",
    response_model=ConversationList,
    responses={422: {"model": Problem, "description": "a bad filter; the detail names it"}},
)
async def list_conversations(
    request: Request,
    container: ContainerDep,
    user: Annotated[User, allow(Action.CONVERSATIONS_LIST)],
    customer: Annotated[
        Text | None,
        Query(min_length=1, max_length=160, description="One customer's wa_id or BSUID."),
    ] = None,
    q: Annotated[
        Text | None,
        Query(
            min_length=1,
            max_length=160,
            description="Search: part of the customer's phone number, their BSUID or part "
            "of their profile name (any case).",
        ),
    ] = None,
    start: Annotated[
        datetime | None, Query(description="Only conversations started at or after this.")
    ] = None,
    end: Annotated[datetime | None, Query(description="...and started before this.")] = None,
    status_: Annotated[
        str | None,
        Query(alias="status", max_length=16, description="bot, queued, assigned or resolved."),
    ] = None,
    intent: Annotated[
        Text | None,
        Query(max_length=160, description="The first intent the bot recognised."),
    ] = None,
    queue: Annotated[Text | None, Query(max_length=160, description="The queue.")] = None,
    limit: Limit = conversations.PAGE,
    before: Before = None,
) -> dict[str, Any]:
    """Conversations you may see, bot-only ones included, newest first, a page at a time
    (`next` links to the older ones), filtered by customer, search text, start time,
    status, intent and queue (all optional). Supervisors and admins see every
    conversation; agents those waiting in the queues and their own. Each holds its newest
    messages and decisions."""
    filters = review.Filters(
        start=start,
        end=end,
        status=status_,
        intent=intent,
        queue=queue,
        text=q.strip() or None if q else None,
        customer=customer.strip() or None if customer else None,
    )

    def load() -> list[dict[str, Any]]:
        rows = review.search(
            container.db, container.brief, filters, user, limit=limit + 1, before=before
        )
        with container.db.read() as conn:
            return [c for r in rows if (c := conversations.get(conn, r.id)) is not None]

    try:
        found = await anyio.to_thread.run_sync(load)
    except review.BadFilterError as exc:
        log.info("conversation_search_refused", problem=str(exc))
        raise HTTPException(422, str(exc)) from None
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
    user: Annotated[User, allow(Action.CONVERSATIONS_READ)],
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
    user: Annotated[User, allow(Action.CONVERSATIONS_READ)],
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
    user: Annotated[User, allow(Action.CONVERSATIONS_READ)],
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


async def read_in_thread(container: Container, read: Any, *args: Any, **kwargs: Any) -> Any:
    """`read(conn, *args, **kwargs)` on a read connection, in a worker thread."""

    def load() -> Any:
        with container.db.read() as conn:
            return read(conn, *args, **kwargs)

    return await anyio.to_thread.run_sync(load)


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
    user: Annotated[User, allow(Action.CONVERSATIONS_READ)],
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
    user: Annotated[User, allow(Action.CONVERSATIONS_READ)],
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The conversations assigned to me, most urgent first, a page at a time."""
    found = await read_in_thread(
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
    _user: Annotated[User, allow(Action.QUEUES_READ)],
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Conversations waiting for a person, in the order they are given out, a page at a
    time (`position` counts from the head of the line)."""
    found = await read_in_thread(
        container, conversations.waiting, container.brief, clock(), limit=limit + 1, offset=offset
    )
    return _summary_page(request, found, limit, offset)


@router.get("/queues", response_model=QueueList)
async def queues(
    container: ContainerDep, clock: ClockDep, _user: Annotated[User, allow(Action.QUEUES_READ)]
) -> dict[str, Any]:
    """Each queue's depth, oldest wait, load, online staff and SLA risk."""
    found = await read_in_thread(container, conversations.queue_overview, container.brief, clock())
    return {"queues": found}


@router.get("/sla/risk", response_model=ConversationSummaries)
async def sla_risk(
    request: Request,
    container: ContainerDep,
    clock: ClockDep,
    _user: Annotated[User, allow(Action.SUPERVISION_READ)],
    limit: Limit = conversations.PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Open conversations with an SLA clock in warning or breached, most urgent first, a
    page at a time."""
    found = await read_in_thread(
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
async def agents(
    container: ContainerDep, _user: Annotated[User, allow(Action.SUPERVISION_READ)]
) -> dict[str, Any]:
    """Every active person's presence and load against capacity."""
    return {"agents": await read_in_thread(container, conversations.agents_overview)}


@router.get("/stats/rewrites", response_model=RewriteStatsOut)
async def rewrite_stats(
    container: ContainerDep, _user: Annotated[User, allow(Action.INSIGHTS_READ)]
) -> dict[str, Any]:
    """How often agents change the suggested draft before sending, and by how much
    (mean normalised edit distance, 0 = sent as drafted)."""
    result: dict[str, Any] = await read_in_thread(container, conversations.rewrite_stats)
    return result
