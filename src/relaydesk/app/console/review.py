"""`/console/review`, the daily transcript review for supervisors: every conversation,
bot-only ones included, filtered by the days it started (the brief's time zone), status,
intent, queue and customer (part of the phone number or the name), newest first, a page
at a time, each linked to its transcript; and failure tags put on any conversation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from relaydesk.app.access import Actor
from relaydesk.app.console._web import (
    Refusal,
    allow,
    container_of,
    in_thread,
    now_of,
    refusal_from,
    render,
    safe_next,
)
from relaydesk.app.http.schemas import Id, check_text
from relaydesk.domain.desk import FAILURE_TAGS
from relaydesk.domain.permissions import Action
from relaydesk.services import review
from relaydesk.services.moves import ActionError

router = APIRouter(prefix="/console/review", include_in_schema=False)
log = structlog.get_logger(__name__)
PAGE = 50
FIELDS = ("start", "end", "status", "intent", "queue", "q")


def _form(request: Request) -> dict[str, str]:
    return {k: v.strip()[:200] for k in FIELDS if (v := request.query_params.get(k, "")).strip()}


def _day(form: dict[str, str], name: str) -> date | None:
    raw = form.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise review.BadFilterError(
            f"{name} {raw[:40]!r} is not a date; write YYYY-MM-DD"
        ) from None


def _filters(request: Request, form: dict[str, str]) -> review.Filters:
    """The form's filters; the days are whole days in the brief's time zone, both
    included."""
    zone = container_of(request).brief.timezone
    first, last = _day(form, "start"), _day(form, "end")
    try:
        start = datetime.combine(first, time(), zone) if first else None
        end = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    except OverflowError:
        raise review.BadFilterError(f"the days {first} to {last} are out of range") from None
    return review.Filters(
        start=start,
        end=end,
        status=form.get("status"),
        intent=form.get("intent"),
        queue=form.get("queue"),
        text=form.get("q"),
    )


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 2**62:
        return int(raw)
    raise review.BadFilterError(f"before {raw[:40]!r} is not a conversation id; follow the link")


@router.get("", response_class=HTMLResponse)
async def review_page(
    request: Request, session: Annotated[Actor, allow(Action.CONVERSATIONS_REVIEW)]
) -> HTMLResponse:
    container = container_of(request)
    brief = container.brief
    form = _form(request)
    context: dict[str, Any] = {
        "form": form,
        "choices": {
            "status": list(review.STATUSES),
            "intent": sorted(brief.intents),
            "queue": sorted(brief.queues),
        },
        "tags": FAILURE_TAGS,
        "rows": [],
        "next": None,
        "error": None,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    try:
        filters, before = _filters(request, form), _before(request)
        rows = await in_thread(
            lambda: review.search(
                container.db, brief, filters, session.user, limit=PAGE + 1, before=before
            )
        )
    except review.BadFilterError as exc:
        log.info("review_query_refused", problem=str(exc))
        return render(request, "review.html", context | {"error": str(exc)}, status=422)
    more = rows[PAGE - 1].id if len(rows) > PAGE else None
    context["rows"] = rows[:PAGE]
    if more is not None:
        context["next"] = "/console/review?" + urlencode(form | {"before": str(more)})
    return render(request, "review.html", context)


@router.post("/conversations/{conversation_id}/tags")
async def put_tags(
    request: Request,
    conversation_id: Id,
    session: Annotated[Actor, allow(Action.CONVERSATIONS_TAG)],
) -> RedirectResponse:
    """Replace the conversation's failure tags (checkboxes `tags`); back to `next`."""
    form = await request.form()
    raw_next = form.get("next")
    back = safe_next(raw_next if isinstance(raw_next, str) else None)
    tags: list[str] = []
    for value in form.getlist("tags"):
        try:
            tags.append(check_text(value) if isinstance(value, str) else "")
        except ValueError as exc:
            log.info("console_form_refused", field="tags")
            raise Refusal(422, "Check what you entered", f"tags {exc}", back) from None
    container, now = container_of(request), now_of(request)
    try:
        await in_thread(review.tag, container.db, session.user, conversation_id, tags, now)
    except ActionError as exc:
        raise refusal_from(exc, back) from None
    path, _, query = back.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("done=")]
    return RedirectResponse(f"{path}?{'&'.join([*kept, 'done=tagged'])}", status_code=303)
