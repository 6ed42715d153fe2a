"""The SLA clocks of conversations as stored: each escalated conversation's timeline
(opened when escalated, else when queued; the customer's messages and the agents'
replies; resolved or not) and the clocks' state at a given instant. The worker's timers
(`services.timers`) act on them; the read models (`services.queues`, a conversation's
page) show them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from relaydesk.adapters.storage import timers as timers_store
from relaydesk.adapters.storage.timers import Timed
from relaydesk.brief.schema import PRIORITIES, Brief
from relaydesk.domain import sla
from relaydesk.domain.conversation import ConversationStatus

RESOLVED = ConversationStatus.RESOLVED.value


class ClockStore(Protocol):
    """What the clocks read (`adapters.storage.timers`; tests pass an in-memory fake)."""

    def timed(
        self, conn: Connection, conversation_ids: Collection[int] | None = None
    ) -> list[Timed]: ...

    def clock_messages(
        self, conn: Connection, conversation_ids: Collection[int], since: datetime
    ) -> dict[int, list[sla.TimelineMessage]]: ...


def sla_reports(
    conn: Connection,
    brief: Brief,
    now: datetime,
    conversation_ids: Collection[int] | None = None,
    *,
    store: ClockStore = timers_store,
) -> dict[int, sla.SlaReport]:
    """The SLA clocks at `now` of every queued or assigned conversation, or of the
    conversations named (those ever escalated; resolved ones with stopped clocks), by id.
    For read models: the queue overview, the SLA risk list, a conversation's page."""
    rows = store.timed(conn, conversation_ids)
    by_id = timelines(conn, rows, store=store)
    reports: dict[int, sla.SlaReport] = {}
    for row in rows:
        timeline = by_id.get(row.id)
        if timeline is None or timeline.opened_at > now:
            continue
        priority = row.priority if row.priority in PRIORITIES else brief.policy.default_priority
        reports[row.id] = sla.evaluate(timeline, priority, brief, now)
    return reports


def timelines(
    conn: Connection, rows: Sequence[Timed], *, store: ClockStore = timers_store
) -> dict[int, sla.SlaTimeline]:
    """The SLA timeline of each conversation that was escalated: opened when escalated
    (else when queued), with the customer's messages and the agents' replies (an
    outbound with an author; the bot's own messages do not count)."""
    opened = {row.id: at for row in rows if (at := row.escalated_at or row.queued_at) is not None}
    if not opened:
        return {}
    found = store.clock_messages(conn, list(opened), since=min(opened.values()))
    resolved = {row.id: row.resolved_at for row in rows if row.status == RESOLVED}
    return {
        cid: sla.SlaTimeline(
            opened_at=at,
            messages=tuple(found.get(cid, ())),
            resolved_at=resolved.get(cid),
        )
        for cid, at in opened.items()
        if (closed := resolved.get(cid)) is None or closed >= at
    }
