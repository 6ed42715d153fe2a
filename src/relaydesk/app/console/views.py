"""The agent's pages: my conversations, the queues, one conversation with its handoff card,
and every action on it. Actions go through `AgentDesk`; each is a form POST that redirects
back to the page (or shows why it was refused), so the console works without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from relaydesk.app.access import Actor
from relaydesk.app.console._web import (
    Refusal,
    allow,
    container_of,
    done,
    in_thread,
    now_of,
    refusal_from,
    render,
    safe_next,
)
from relaydesk.app.http.schemas import MAX_ID, Id, check_text
from relaydesk.domain.desk import FAILURE_TAGS, VERDICTS
from relaydesk.domain.permissions import Action, can
from relaydesk.services import conversations
from relaydesk.services.agents import ActionError

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)

VERDICT_LABELS = {
    "needed": "Needed",
    "not_needed": "Not needed",
    "too_late": "Should have come sooner",
}
TAG_LABELS = {
    "unclear_intent": "Unclear intent",
    "repetitive_answer": "Repetitive answer",
    "weak_follow_up": "Weak follow-up",
}


def _field(form: FormData, name: str, back: str = "/console") -> str:
    """The form field as typed ("" when absent); a 422 page naming the field when it holds
    what cannot be stored (a NUL or a lone surrogate)."""
    value = form.get(name)
    return _checked(name, value, back) if isinstance(value, str) else ""


def _checked(name: str, value: str, back: str) -> str:
    try:
        return check_text(value)
    except ValueError as exc:
        log.info("console_form_refused", field=name)
        raise Refusal(422, "Check what you entered", f"{name} {exc}", back) from None


# -- pages ----------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def my_conversations(
    request: Request, session: Annotated[Actor, allow(Action.CONVERSATIONS_READ)]
) -> HTMLResponse:
    container = container_of(request)
    now = now_of(request)

    def load() -> list[dict[str, Any]]:
        with container.db.read() as conn:
            return conversations.my_conversations(conn, session.user.id, container.brief, now)

    return render(request, "my.html", {"conversations": await in_thread(load)})


@router.get("/queues", response_class=HTMLResponse)
async def queues(
    request: Request, _session: Annotated[Actor, allow(Action.QUEUES_READ)]
) -> HTMLResponse:
    container = container_of(request)
    now = now_of(request)

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with container.db.read() as conn:
            return (
                conversations.queue_overview(conn, container.brief, now),
                conversations.waiting(conn, container.brief, now),
            )

    overview, waiting = await in_thread(load)
    return render(request, "queues.html", {"queues": overview, "waiting": waiting})


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
async def conversation(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_READ)],
    before: Annotated[Id | None, Query()] = None,
) -> HTMLResponse:
    """One conversation: the handoff card, the newest messages (older ones a page at a
    time through `before`) and the actions."""
    container = container_of(request)
    now = now_of(request)

    def load() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        with container.db.read() as conn:
            card = conversations.handoff_card(
                conn, conversation_id, container.brief, now, before=before
            )
            agents = conversations.agents_overview(conn) if card is not None else []
            return card, agents

    card, agents = await in_thread(load)
    if card is None:
        raise Refusal(
            404,
            "No such conversation",
            f"There is no conversation {conversation_id}.",
            "/console",
        )
    _check_may_see(session, card)
    canned = [{"label": r["title"], "text": r["text"]} for r in card["canned_responses"]]
    mine = bool(card["assignee"]) and card["assignee"]["id"] == session.user.id
    is_open = card["status"] in ("queued", "assigned")
    return render(
        request,
        "conversation.html",
        {
            "c": card,
            "agents": [a for a in agents if a["id"] != session.user.id],
            "queue_names": list(container.brief.queues),
            "canned": canned,
            "verdicts": [(v, VERDICT_LABELS.get(v, v)) for v in VERDICTS],
            "tags": [(t, TAG_LABELS.get(t, t)) for t in FAILURE_TAGS],
            "mine": mine,
            "is_open": is_open,
            "can_work": is_open and (mine or can(session.user.role, Action.CONVERSATIONS_WORK_ANY)),
        },
    )


def _check_may_see(session: Actor, card: dict[str, Any]) -> None:
    """The API's rule (`conversations.may_see`), refused as a page."""
    if conversations.may_see(session.user, card):
        return
    assignee = card["assignee"]
    holder = f"assigned to {assignee['name']}" if assignee else f"{card['status']}"
    raise Refusal(
        403,
        "Not your conversation",
        f"Conversation {card['id']} is {holder}. Agents see the conversations waiting in "
        "the queues and their own; ask a supervisor to transfer it to you.",
        "/console",
    )


# -- actions --------------------------------------------------------------------------------


async def _act(
    request: Request,
    back: str,
    action: Callable[..., Any],
    *args: Any,
    wake_outbox: bool = False,
) -> Any:
    """Run a desk action in a thread; a refusal becomes a page saying why. Then give
    waiting conversations to whoever has room, and wake the live streams."""
    container = container_of(request)
    now = now_of(request)
    try:
        result = await in_thread(action, *args, now)
    except ActionError as exc:
        raise refusal_from(exc, back) from None
    await in_thread(container.desk.assign_waiting, now)
    if wake_outbox:
        container.worker.wake.set()
    container.hub.wake()
    return result


def _page(conversation_id: int) -> str:
    return f"/console/conversations/{conversation_id}"


@router.post("/queues/take")
async def take_oldest(
    request: Request, session: Annotated[Actor, allow(Action.CONVERSATIONS_TAKE)]
) -> RedirectResponse:
    """Take the first conversation waiting in a queue (the routing order: window closing
    soon, priority, then the oldest)."""
    form = await request.form()
    queue = _field(form, "queue", "/console/queues")
    container = container_of(request)
    now = now_of(request)
    if queue and queue not in container.brief.queues:
        known = ", ".join(container.brief.queues)
        raise Refusal(422, "No such queue", f"queue {queue!r} is not in the brief; queues: {known}")

    def first() -> int | None:
        with container.db.read() as conn:
            line = conversations.waiting(conn, container.brief, now)
        brief = container.brief
        for item in line:
            name = item["queue"] if item["queue"] in brief.queues else brief.policy.default_queue
            if not queue or name == queue:
                return int(item["id"])
        return None

    conversation_id = await in_thread(first)
    if conversation_id is None:
        return done("/console/queues", "empty_queue")
    await _act(request, "/console/queues", container.desk.take, session.user, conversation_id)
    return done(_page(conversation_id), "taken")


@router.post("/conversations/{conversation_id}/take")
async def take(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_TAKE)],
) -> RedirectResponse:
    desk = container_of(request).desk
    await _act(request, _page(conversation_id), desk.take, session.user, conversation_id)
    return done(_page(conversation_id), "taken")


@router.post("/conversations/{conversation_id}/reply")
async def reply(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_REPLY)],
) -> RedirectResponse:
    form = await request.form()
    back = _page(conversation_id)
    text, draft = _field(form, "text", back), _field(form, "draft", back) or None
    desk = container_of(request).desk

    def send(user: Any, cid: int, body: str, now: Any) -> int:
        return desk.reply(user, cid, body, now, draft=draft)

    await _act(request, back, send, session.user, conversation_id, text, wake_outbox=True)
    return done(back, "replied")


@router.post("/conversations/{conversation_id}/note")
async def note(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_NOTE)],
) -> RedirectResponse:
    back = _page(conversation_id)
    body = _field(await request.form(), "body", back)
    desk = container_of(request).desk
    await _act(request, back, desk.add_note, session.user, conversation_id, body)
    return done(back, "noted")


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_TRANSFER)],
) -> RedirectResponse:
    """`target` is `queue:<name>` or `agent:<id>` (one select in the form)."""
    back = _page(conversation_id)
    target = _field(await request.form(), "target", back)
    kind, _, value = target.partition(":")
    queue: str | None = None
    agent_id: int | None = None
    if kind == "queue" and value:
        queue = value
    elif kind == "agent" and value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        agent_id = int(value)
    else:
        raise Refusal(
            422,
            "Choose where to transfer",
            f"transfer target {target!r} is not a queue or a person; pick one from the list",
            back,
        )
    desk = container_of(request).desk

    def move(user: Any, cid: int, now: Any) -> None:
        desk.transfer(user, cid, now, queue=queue, agent_id=agent_id)

    await _act(request, back, move, session.user, conversation_id)
    # An agent who gave it away can no longer see it: back to their list.
    still_visible = (
        can(session.user.role, Action.CONVERSATIONS_READ_ANY) or agent_id == session.user.id
    )
    return done(back if still_visible else "/console", "transferred")


@router.post("/conversations/{conversation_id}/escalate")
async def escalate(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_ESCALATE)],
) -> RedirectResponse:
    desk = container_of(request).desk
    back = _page(conversation_id)
    await _act(request, back, desk.escalate, session.user, conversation_id)
    return done(back, "escalated")


@router.post("/conversations/{conversation_id}/resolve")
async def resolve(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_RESOLVE)],
) -> RedirectResponse:
    desk = container_of(request).desk
    back = _page(conversation_id)
    await _act(request, back, desk.resolve, session.user, conversation_id)
    return done(back, "resolved")


@router.post("/conversations/{conversation_id}/handback")
async def hand_back(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_HANDBACK)],
) -> RedirectResponse:
    desk = container_of(request).desk
    back = _page(conversation_id)
    await _act(request, back, desk.hand_back, session.user, conversation_id)
    return done(
        back if can(session.user.role, Action.CONVERSATIONS_READ_ANY) else "/console", "handed_back"
    )


@router.post("/conversations/{conversation_id}/feedback")
async def feedback(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_FEEDBACK)],
) -> RedirectResponse:
    form = await request.form()
    back = _page(conversation_id)
    verdict = _field(form, "verdict", back)
    tags = [_checked("tags", t, back) for t in form.getlist("tags") if isinstance(t, str)]
    desk = container_of(request).desk

    def give(user: Any, cid: int, now: Any) -> None:
        desk.feedback(user, cid, verdict, tags, now)

    await _act(request, back, give, session.user, conversation_id)
    return done(back, "feedback")


@router.post("/presence")
async def presence(
    request: Request, session: Annotated[Actor, allow(Action.PRESENCE_SET)]
) -> RedirectResponse:
    form = await request.form()
    desk = container_of(request).desk
    back = safe_next(_field(form, "next"))
    await _act(request, back, desk.set_presence, session.user, _field(form, "presence"))
    return done(back, "presence")
