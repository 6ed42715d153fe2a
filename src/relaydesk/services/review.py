"""The daily transcript review: every conversation, bot-only ones included, found by
period, status, intent, queue and customer (the console's `/console/review` and
`GET /api/v1/conversations`), and failure tags put on any conversation, escalated or not.

Filters are checked here, so the console and the API refuse the same values with the same
words; a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from relaydesk.adapters.storage import review as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain.desk import FAILURE_TAGS
from relaydesk.services import audit
from relaydesk.services.accounts import User
from relaydesk.services.insights import FIRST_YEAR, LAST_YEAR
from relaydesk.services.moves import ActionError

log = structlog.get_logger(__name__)

STATUSES = ("bot", "queued", "assigned", "resolved")
#: The longest period one search may cover, and the longest search text.
MAX_PERIOD = timedelta(days=366)
MAX_TEXT = 160


class BadFilterError(ValueError):
    """A filter the review cannot use; the message names the value and the fix."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The reviewer's filters; None leaves one out. `start`/`end` bound the conversations'
    start time, `[start, end)`."""

    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    intent: str | None = None
    queue: str | None = None
    text: str | None = None  #: part of the phone number, the BSUID or the profile name
    customer: str | None = None  #: one customer's exact wa_id or BSUID


def checked(filters: Filters, brief: Brief) -> Filters:
    """The filters, or `BadFilterError` naming the first bad one and the fix."""
    f = filters
    for name, value in (("start", f.start), ("end", f.end)):
        if value is not None and value.tzinfo is None:
            raise BadFilterError(f"{name} {value.isoformat()} needs a time zone (e.g. ...Z)")
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise BadFilterError(
                f"{name} {value.isoformat()} is out of range ({FIRST_YEAR} to {LAST_YEAR})"
            )
    if f.start is not None and f.end is not None:
        if f.end <= f.start:
            raise BadFilterError(
                f"end {f.end.isoformat()} is not after start {f.start.isoformat()}"
            )
        if f.end - f.start > MAX_PERIOD:
            raise BadFilterError(f"the period is longer than {MAX_PERIOD.days} days; shorten it")
    if f.status is not None and f.status not in STATUSES:
        raise BadFilterError(f"status {f.status!r} is not one of: {', '.join(STATUSES)}")
    if f.queue is not None and f.queue not in brief.queues:
        raise BadFilterError(
            f"queue {f.queue!r} is not in the brief; queues: {', '.join(sorted(brief.queues))}"
        )
    if f.intent is not None and f.intent not in brief.intents:
        raise BadFilterError(
            f"intent {f.intent!r} is not in the brief; intents: {', '.join(sorted(brief.intents))}"
        )
    for name, text in (("q", f.text), ("customer", f.customer)):
        if text is not None and not 1 <= len(text) <= MAX_TEXT:
            raise BadFilterError(f"{name} is {len(text)} characters; give 1 to {MAX_TEXT}")
    return f


def search(
    db: Database,
    brief: Brief,
    filters: Filters,
    viewer: User,
    *,
    limit: int,
    before: int | None = None,
) -> list[store.Reviewed]:
    """Up to `limit` conversations matching the filters, newest first, with ids below
    `before`: all of them for supervisors and admins, for an agent those waiting in the
    queues and their own (`conversations.visible`)."""
    f = checked(filters, brief)
    query = store.Search(
        start=f.start,
        end=f.end,
        status=f.status,
        intent=f.intent,
        queue=f.queue,
        text=f.text,
        customer=f.customer,
        agent_id=viewer.id if viewer.role == "agent" else None,
        before=before,
        limit=limit,
    )
    with db.read() as conn:
        return store.search(conn, query)


def tag(db: Database, user: User, conversation_id: int, tags: Sequence[str], now: datetime) -> None:
    """Replace the failure tags of any conversation (escalated or bot-only); an empty list
    clears them. Audited; the escalation verdict, if any, stays."""
    unknown = [t for t in tags if t not in FAILURE_TAGS]
    if unknown:
        raise ActionError(
            f"failure tag(s) {', '.join(map(repr, unknown))} not known; use any of: "
            f"{', '.join(FAILURE_TAGS)}",
            422,
        )
    chosen = [t for t in FAILURE_TAGS if t in tags]
    with db.write() as conn:
        before = store.failure_tags(conn, conversation_id)
        if before is None:
            raise ActionError(f"conversation {conversation_id} not found", 404)
        store.set_failure_tags(conn, conversation_id, chosen)
        audit.record(
            conn,
            "conversation.failure_tags",
            now=now,
            actor=user,
            target=f"conversation:{conversation_id}",
            before={"tags": list(before)},
            after={"tags": chosen},
        )
    log.info("failure_tags_set", conversation_id=conversation_id, tags=",".join(chosen))
