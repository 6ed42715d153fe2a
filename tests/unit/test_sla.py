"""SLA clocks over the example brief, with a frozen clock.

The shop's targets: P1 5m / 10m / 4h around the clock; P2 15m / 30m / 8h and P4 4h / 8h /
5d in business hours (Mon-Fri 09:00-18:00, Sat 10:00-14:00, Europe/Madrid, holidays such
as Tuesday 2026-12-08). Warnings at 80% of the target (90% for P4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief, Priority
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.sla import (
    BreachAction,
    Clock,
    Party,
    SlaReport,
    SlaState,
    SlaTimeline,
    TimelineMessage,
    breach_actions,
    evaluate,
    next_timer,
    outcome,
    raised_priority,
    window_priority,
)

BRIEF: Brief = load_brief(EXAMPLE_BRIEF)
MADRID = ZoneInfo("Europe/Madrid")
H = timedelta(hours=1)
M = timedelta(minutes=1)
C, A = Party.CUSTOMER, Party.AGENT
RUNNING, PAUSED, MET = SlaState.RUNNING, SlaState.PAUSED, SlaState.MET
WARNING, BREACHED = SlaState.WARNING, SlaState.BREACHED
RAISE, TIER, NOTIFY = (
    BreachAction.RAISE_PRIORITY,
    BreachAction.MOVE_UP_TIER,
    BreachAction.NOTIFY_SUPERVISORS,
)


def md(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Madrid in 2026 (30 November is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID)


def tl(
    opened: datetime, *messages: tuple[Party, datetime], resolved: datetime | None = None
) -> SlaTimeline:
    """A timeline from (party, at) pairs."""
    return SlaTimeline(opened, tuple(TimelineMessage(at, who) for who, at in messages), resolved)


MON_10 = md(11, 30, 10)


@pytest.mark.parametrize(
    ("priority", "timeline", "now", "state", "elapsed", "due_at"),
    [
        # counting, well before the warning
        ("P2", tl(MON_10), md(11, 30, 10, 5), RUNNING, 5 * M, md(11, 30, 10, 15)),
        # at 80% of 15 minutes: the warning
        ("P2", tl(MON_10), md(11, 30, 10, 12), WARNING, 12 * M, md(11, 30, 10, 15)),
        # past the target: breached, and due_at says when
        ("P2", tl(MON_10), md(11, 30, 10, 20), BREACHED, 20 * M, md(11, 30, 10, 15)),
        # a human replied in time: met, and the clock stopped at the reply
        ("P2", tl(MON_10, (A, md(11, 30, 10, 10))), md(11, 30, 11), MET, 10 * M, None),
        # a late reply does not undo the breach
        (
            "P2",
            tl(MON_10, (A, md(11, 30, 10, 20))),
            md(11, 30, 11),
            BREACHED,
            20 * M,
            md(11, 30, 10, 15),
        ),
        # the customer writing again does not pause or restart the first response
        (
            "P2",
            tl(MON_10, (C, md(11, 30, 10, 3))),
            md(11, 30, 10, 5),
            RUNNING,
            5 * M,
            md(11, 30, 10, 15),
        ),
        # escalated just before closing: the night does not count
        ("P2", tl(md(11, 30, 17, 55)), md(12, 1, 9, 5), RUNNING, 10 * M, md(12, 1, 9, 10)),
        # escalated on Saturday afternoon: Sunday does not count
        ("P2", tl(md(11, 28, 13, 50)), md(11, 30, 9), RUNNING, 10 * M, md(11, 30, 9, 5)),
        # escalated on the evening before a holiday: the holiday does not count
        ("P2", tl(md(12, 7, 17, 50)), md(12, 9, 9), RUNNING, 10 * M, md(12, 9, 9, 5)),
        # over the spring DST weekend: due at 09:10 Madrid, which is 07:10 UTC
        (
            "P2",
            tl(md(3, 28, 13, 55)),
            md(3, 30, 9),
            RUNNING,
            5 * M,
            datetime(2026, 3, 30, 7, 10, tzinfo=UTC),
        ),
        # P1 has business_hours: false, so Saturday night counts
        ("P1", tl(md(11, 28, 23, 58)), md(11, 29, 0, 4), BREACHED, 6 * M, md(11, 29, 0, 3)),
        # P4 warns at 90%: 3h30 of 4h is not yet a warning...
        ("P4", tl(MON_10), md(11, 30, 13, 30), RUNNING, 3.5 * H, md(11, 30, 14)),
        # ...but 3h36 is
        ("P4", tl(MON_10), md(11, 30, 13, 36), WARNING, 3.6 * H, md(11, 30, 14)),
        # resolved (the customer cancelled) before anyone replied, within the target: met
        ("P2", tl(MON_10, resolved=md(11, 30, 10, 5)), md(11, 30, 12), MET, 5 * M, None),
    ],
)
def test_first_response(
    priority: Priority,
    timeline: SlaTimeline,
    now: datetime,
    state: SlaState,
    elapsed: timedelta,
    due_at: datetime | None,
) -> None:
    status = evaluate(timeline, priority, BRIEF, now).first_response
    assert (status.state, status.elapsed, status.due_at) == (state, elapsed, due_at)


#: Escalated Monday 10:00 and answered by an agent at 10:05.
def answered(*messages: tuple[Party, datetime], resolved: datetime | None = None) -> SlaTimeline:
    return tl(MON_10, (A, md(11, 30, 10, 5)), *messages, resolved=resolved)


@pytest.mark.parametrize(
    ("timeline", "now", "state", "elapsed", "due_at"),
    [
        # the customer wrote back: 30 minutes from their message
        (
            answered((C, md(11, 30, 10, 20))),
            md(11, 30, 10, 40),
            RUNNING,
            20 * M,
            md(11, 30, 10, 50),
        ),
        # two messages in a row: the clock runs from the first, so 25 minutes is a warning
        (
            answered((C, md(11, 30, 10, 20)), (C, md(11, 30, 10, 25))),
            md(11, 30, 10, 45),
            WARNING,
            25 * M,
            md(11, 30, 10, 50),
        ),
        # the agent answered after 10 minutes: met
        (
            answered((C, md(11, 30, 10, 20)), (A, md(11, 30, 10, 30))),
            md(11, 30, 12),
            MET,
            10 * M,
            None,
        ),
        # only the latest exchange counts: an earlier slow answer is history
        (
            answered(
                (C, md(11, 30, 10, 20)),
                (A, md(11, 30, 11, 20)),
                (C, md(11, 30, 11, 30)),
            ),
            md(11, 30, 11, 35),
            RUNNING,
            5 * M,
            md(11, 30, 12),
        ),
        # written 10 minutes before closing, still waiting at 09:30 next day: breached at 09:20
        (answered((C, md(11, 30, 17, 50))), md(12, 1, 9, 30), BREACHED, 40 * M, md(12, 1, 9, 20)),
        # a message sent after `now` is not known yet
        (answered((C, md(11, 30, 10, 20))), md(11, 30, 10, 10), None, None, None),
    ],
)
def test_next_response(
    timeline: SlaTimeline,
    now: datetime,
    state: SlaState | None,
    elapsed: timedelta | None,
    due_at: datetime | None,
) -> None:
    status = evaluate(timeline, "P2", BRIEF, now).next_response
    if state is None:
        assert status is None
    else:
        assert status is not None
        assert (status.state, status.elapsed, status.due_at) == (state, elapsed, due_at)


@pytest.mark.parametrize(
    ("timeline", "now"),
    [
        # no human has replied yet: first response covers the wait
        (tl(MON_10, (C, md(11, 30, 10, 3))), md(11, 30, 10, 5)),
        # a human replied and the customer has not written since
        (answered(), md(11, 30, 11)),
    ],
)
def test_next_response_waits_for_a_customer_message_after_a_reply(
    timeline: SlaTimeline, now: datetime
) -> None:
    assert evaluate(timeline, "P2", BRIEF, now).next_response is None


@pytest.mark.parametrize(
    ("priority", "timeline", "now", "state", "elapsed", "due_at"),
    [
        # no reply yet: 8 business hours from 10:00 end exactly at closing time
        ("P2", tl(MON_10), md(11, 30, 12), RUNNING, 2 * H, md(11, 30, 18)),
        # the agent replied at 10:05 and the customer has been silent for a day: paused
        ("P2", answered(), md(12, 1, 16), PAUSED, 5 * M, None),
        # the customer wrote back on Tuesday at 09:30: counting again, 7h25 left from 10:00
        ("P2", answered((C, md(12, 1, 9, 30))), md(12, 1, 10), RUNNING, 35 * M, md(12, 1, 17, 25)),
        # resolved at 15:00 with a pause from 10:05 to 11:00: 5m + 4h counted, met
        (
            "P2",
            answered((C, md(11, 30, 11)), resolved=md(11, 30, 15)),
            md(11, 30, 16),
            MET,
            4 * H + 5 * M,
            None,
        ),
        # a pause that began in the warning zone shows as paused
        ("P2", tl(MON_10, (A, md(11, 30, 16, 45))), md(12, 1, 12), PAUSED, 6 * H + 45 * M, None),
        # a pause that began after the breach stays breached
        (
            "P2",
            tl(MON_10, (A, md(12, 1, 10))),
            md(12, 2, 12),
            BREACHED,
            9 * H,
            md(11, 30, 18),
        ),
        # P1 runs around the clock: 3h15 of 4h overnight is a warning
        ("P1", tl(md(11, 28, 22)), md(11, 29, 1, 15), WARNING, 3.25 * H, md(11, 29, 2)),
        # P4's 5d means 120 open hours, not 5 working days: over three weekends and the
        # 8 December holiday it is due on Wednesday 23 December at 17:00
        ("P4", tl(md(12, 4, 17)), md(12, 4, 17, 30), RUNNING, 30 * M, md(12, 23, 17)),
    ],
)
def test_resolution(
    priority: Priority,
    timeline: SlaTimeline,
    now: datetime,
    state: SlaState,
    elapsed: timedelta,
    due_at: datetime | None,
) -> None:
    status = evaluate(timeline, priority, BRIEF, now).resolution
    assert (status.state, status.elapsed, status.due_at) == (state, elapsed, due_at)
    assert status.remaining == status.target - elapsed


def report(timeline: SlaTimeline, now: datetime, priority: Priority = "P2") -> SlaReport:
    return evaluate(timeline, priority, BRIEF, now)


@pytest.mark.parametrize(
    ("sla_report", "expected"),
    [
        # first response warns at 10:12, before resolution's warning at 16:24
        (report(tl(MON_10), md(11, 30, 10, 5)), md(11, 30, 10, 12)),
        # first response already warned: its breach at 10:15 is next
        (report(tl(MON_10), md(11, 30, 10, 13)), md(11, 30, 10, 15)),
        # replied, customer waiting: the next-response warning (10:20 + 24m)
        (report(answered((C, md(11, 30, 10, 20))), md(11, 30, 10, 25)), md(11, 30, 10, 44)),
        # replied and waiting on the customer: nothing is counting
        (report(answered(), md(11, 30, 11)), None),
        # resolved: every clock has stopped
        (report(answered(resolved=md(11, 30, 11)), md(11, 30, 12)), None),
        # everything already breached: nothing left to wake for
        (report(tl(MON_10), md(12, 2, 12)), None),
    ],
)
def test_next_timer(sla_report: SlaReport, expected: datetime | None) -> None:
    assert next_timer(sla_report) == expected


FIRST_BREACHED = report(tl(MON_10), md(11, 30, 10, 20))
NEXT_BREACHED = report(answered((C, md(11, 30, 11))), md(11, 30, 12))
#: A slow answer on Monday (10:10 to Tuesday 10:00), then a quick one: 9h counted in all.
RESOLUTION_BREACHED = report(
    answered(
        (C, md(11, 30, 10, 10)), (A, md(12, 1, 10)), (C, md(12, 1, 10, 10)), (A, md(12, 1, 10, 15))
    ),
    md(12, 1, 12),
)


@pytest.mark.parametrize(
    ("sla_report", "on_breach", "handled", "expected"),
    [
        # nothing breached: nothing to do
        (report(tl(MON_10), md(11, 30, 10, 5)), None, (), ()),
        # nobody picked it up: raise, move up the ladder, tell supervisors
        (FIRST_BREACHED, None, (), (RAISE, TIER, NOTIFY)),
        # the owner is slow to answer: raise and tell supervisors, keep the owner
        (NEXT_BREACHED, None, (), (RAISE, NOTIFY)),
        # only resolution breached (the customer's last message was answered): tell supervisors
        (RESOLUTION_BREACHED, None, (), (NOTIFY,)),
        # a P1 cannot go higher
        (report(tl(MON_10), md(11, 30, 10, 20), "P1"), None, (), (TIER, NOTIFY)),
        # the brief's list replaces the defaults
        (FIRST_BREACHED, [NOTIFY], (), (NOTIFY,)),
        # a breach the worker already acted on is not acted on again
        (FIRST_BREACHED, None, (f"first_response@{MON_10.astimezone(UTC).isoformat()}",), ()),
    ],
)
def test_breach_actions(
    sla_report: SlaReport,
    on_breach: list[BreachAction] | None,
    handled: tuple[str, ...],
    expected: tuple[BreachAction, ...],
) -> None:
    assert breach_actions(sla_report, on_breach, handled) == expected


def test_the_resolution_breach_row_breaches_resolution_only() -> None:
    """Guards the table above: its row must really be a resolution-only breach."""
    assert [s.clock for s in RESOLUTION_BREACHED.breached] == [Clock.RESOLUTION]


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        # one step more urgent
        ("P3", "P2"),
        # the lowest goes up one
        ("P4", "P3"),
        # the top stays
        ("P1", "P1"),
    ],
)
def test_raised_priority(priority: Priority, expected: Priority) -> None:
    assert raised_priority(priority) == expected


NOW = md(11, 30, 12)


@pytest.mark.parametrize(
    ("last_inbound_at", "soon", "expected"),
    [
        # the window closes in an hour: served first
        (NOW - 23 * H, 2 * H, True),
        # closes in exactly two hours: served first
        (NOW - 22 * H, 2 * H, True),
        # closes in 2h01: not yet
        (NOW - 22 * H + M, 2 * H, False),
        # already closed: nothing to gain, a reply goes out as the template anyway
        (NOW - 25 * H, 2 * H, False),
        # closes at this very instant: closed
        (NOW - 24 * H, 2 * H, False),
        # the customer never wrote: no window
        (None, 2 * H, False),
        # a wider margin from the caller
        (NOW - 20 * H, 6 * H, True),
    ],
)
def test_window_priority(last_inbound_at: datetime | None, soon: timedelta, expected: bool) -> None:
    assert window_priority(last_inbound_at, NOW, soon) is expected


NAIVE = datetime(2026, 11, 30, 10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # a naive evaluation time
        (lambda: evaluate(tl(MON_10), "P2", BRIEF, NAIVE), "now must be timezone-aware"),
        # a naive opening time
        (lambda: tl(NAIVE), "opened_at must be timezone-aware"),
        # a naive message time, named by its party
        (lambda: tl(MON_10, (C, NAIVE)), "customer message at must be timezone-aware"),
        # resolved before it was opened
        (lambda: tl(MON_10, resolved=md(11, 30, 9)), "resolved_at .* is before opened_at"),
        # evaluated before it was opened
        (lambda: evaluate(tl(MON_10), "P2", BRIEF, md(11, 30, 9)), "is before opened_at"),
        # a naive window start
        (lambda: window_priority(NAIVE, NOW), "last_inbound_at must be timezone-aware"),
    ],
)
def test_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_status_key_names_the_cycle() -> None:
    """Two exchanges give two next-response keys, so each breach is acted on once."""
    first = report(answered((C, md(11, 30, 11))), md(11, 30, 12)).next_response
    later = report(
        answered((C, md(11, 30, 11)), (A, md(11, 30, 12)), (C, md(11, 30, 13))), md(11, 30, 14)
    ).next_response
    assert first is not None and later is not None
    assert first.key == "next_response@2026-11-30T10:00:00+00:00"
    assert later.key == "next_response@2026-11-30T12:00:00+00:00"


@pytest.mark.parametrize(
    ("priority", "timeline", "now", "expected"),
    [
        ("P2", tl(MON_10), md(11, 30, 10, 5), None),  # first response running
        ("P2", tl(MON_10), md(11, 30, 10, 20), False),  # first response breached
        ("P2", answered(), md(12, 1, 16), None),  # replied in time, resolution paused
        # resolution met, but the customer's 11:00 message never got a reply: missed
        ("P2", answered((C, md(11, 30, 11)), resolved=md(11, 30, 15)), md(11, 30, 16), False),
        ("P2", answered((C, md(11, 30, 11)), (A, md(11, 30, 11, 20))), md(11, 30, 12), None),
        (
            "P2",
            answered((C, md(11, 30, 11)), (A, md(11, 30, 11, 20)), resolved=md(11, 30, 15)),
            md(11, 30, 16),
            True,
        ),
        # replied in time and resolved in time, but the next response came late: missed
        (
            "P2",
            answered((C, md(11, 30, 11)), (A, md(11, 30, 12)), resolved=md(11, 30, 13)),
            md(11, 30, 16),
            False,
        ),
        ("P2", tl(MON_10, (A, md(12, 1, 10))), md(12, 2, 12), False),  # late everything
        ("P1", tl(md(11, 28, 23, 58)), md(11, 29, 0, 4), False),  # around the clock
        ("P2", tl(MON_10, resolved=md(11, 30, 10, 5)), md(11, 30, 12), True),
        ("P2", tl(MON_10, resolved=md(11, 30, 10, 5)), md(11, 30, 10, 3), None),  # not yet
    ],
)
def test_outcome_is_what_the_report_says(
    priority: Priority, timeline: SlaTimeline, now: datetime, expected: bool | None
) -> None:
    """`outcome` (the Insights' met / missed / not yet) agrees with the full report:
    missed when any clock breached, met when first response and resolution are met."""
    sla_ = BRIEF.slas[priority]
    calendar = (
        BusinessCalendar.from_brief(BRIEF)
        if sla_.business_hours
        else BusinessCalendar.always_open()
    )
    got = outcome(timeline, sla_, calendar, now)
    r = evaluate(timeline, priority, BRIEF, now)
    from_report = (
        False
        if r.breached
        else True
        if (r.first_response.state, r.resolution.state) == (MET, MET)
        else None
    )
    assert got == from_report == expected
