"""The SLA clocks of stored conversations (`services.clocks`) over an in-memory fake of
their storage: when a conversation's clocks start, which conversations have clocks at
all, and the priority they are timed by. (The SQL itself is tested on both databases in
tests/integration/test_storage_timers.py.)"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from relaydesk.adapters.storage.timers import Timed
from relaydesk.brief import EXAMPLE_BRIEF, load_brief
from relaydesk.domain.sla import Party, SlaState, TimelineMessage
from relaydesk.services.clocks import sla_reports

BRIEF = load_brief(EXAMPLE_BRIEF)
OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Madrid
M = timedelta(minutes=1)
BASE = Timed(
    id=1,
    status="queued",
    queue="general",
    priority="P3",
    language="en",
    queued_at=OPENED,
    entered_queue_at=OPENED,
    last_inbound_at=OPENED,
    escalated_at=OPENED,
    resolved_at=None,
    sla_handled=None,
)


class FakeClockStore:
    """`adapters.storage.timers`' reads, from lists: the conversations (`timed` filters
    like the SQL does) and the messages that move the clocks."""

    def __init__(self, rows: list[Timed], messages: dict[int, list[TimelineMessage]]) -> None:
        self.rows = rows
        self.messages = messages
        self.asked: list[tuple[list[int], datetime]] = []

    def timed(self, conn: Any, conversation_ids: Collection[int] | None = None) -> list[Timed]:
        if conversation_ids is None:
            return [r for r in self.rows if r.status in ("queued", "assigned")]
        return [
            r
            for r in self.rows
            if r.id in conversation_ids and r.status in ("queued", "assigned", "resolved")
        ]

    def clock_messages(
        self, conn: Any, conversation_ids: Collection[int], since: datetime
    ) -> dict[int, list[TimelineMessage]]:
        self.asked.append((sorted(conversation_ids), since))
        return {
            cid: [m for m in ms if m.at >= since]
            for cid, ms in self.messages.items()
            if cid in conversation_ids
        }


def reports(store: FakeClockStore, now: datetime, ids: list[int] | None = None) -> dict[int, Any]:
    return sla_reports(None, BRIEF, now, ids, store=store)  # type: ignore[arg-type]


def test_clocks_start_at_the_escalation_else_at_queueing() -> None:
    escalated = BASE
    queued_only = replace(BASE, id=2, escalated_at=None, queued_at=OPENED + 30 * M)
    store = FakeClockStore([escalated, queued_only], {})
    found = reports(store, OPENED + 50 * M)
    # P3: first response within 1h, warning at 48m
    assert found[1].first_response.state is SlaState.WARNING
    assert found[2].first_response.state is SlaState.RUNNING
    assert found[2].first_response.due_at == OPENED + 90 * M
    assert store.asked == [([1, 2], OPENED)]  # messages from the earliest opening on


def test_never_escalated_opened_later_or_resolved_before_have_no_clocks() -> None:
    never = replace(BASE, id=1, escalated_at=None, queued_at=None)
    later = replace(BASE, id=2, escalated_at=OPENED + 2 * M)
    stale = replace(BASE, id=3, status="resolved", resolved_at=OPENED - M)
    store = FakeClockStore([never, later, stale], {})
    assert reports(store, OPENED + M, [1, 2, 3]) == {}
    assert store.asked == [([2, 3], OPENED)]


def test_an_agents_reply_meets_the_first_response() -> None:
    store = FakeClockStore(
        [BASE],
        {
            1: [
                TimelineMessage(OPENED + M, Party.CUSTOMER),
                TimelineMessage(OPENED + 5 * M, Party.AGENT),
            ]
        },
    )
    report = reports(store, OPENED + 70 * M)[1]
    assert report.first_response.state is SlaState.MET


def test_an_unknown_priority_is_timed_by_the_default() -> None:
    store = FakeClockStore([replace(BASE, priority="P9"), replace(BASE, id=2, priority=None)], {})
    found = reports(store, OPENED + M)
    assert found[1].priority == found[2].priority == BRIEF.policy.default_priority


def test_only_open_or_named_conversations_are_reported() -> None:
    resolved = replace(BASE, id=2, status="resolved", resolved_at=OPENED + 10 * M)
    store = FakeClockStore([BASE, resolved], {})
    assert set(reports(store, OPENED + 20 * M)) == {1}
    named = reports(store, OPENED + 20 * M, [2])
    assert set(named) == {2}
    assert named[2].resolution.state is SlaState.MET
    assert reports(store, OPENED, []) == {}
