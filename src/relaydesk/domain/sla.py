"""SLA clocks: first response, next response and resolution, as pure functions of a
conversation's timeline, its priority, the brief and the time.

The clocks are counted in `sla_clock` (`evaluate`, the rules of each clock) and read for the
Insights in `sla_outlook` (`outcome`, `outlook`); their names are re-exported here. This
module holds what the worker does with a report. Timers are not kept here: `next_timer` says
when the worker should evaluate again, and `SlaStatus.key` names a clock's cycle so the
worker fires each warning and breach once, across restarts.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta

from relaydesk.brief.schema import PRIORITIES, Brief, Priority
from relaydesk.domain.calendar import aware_utc
from relaydesk.domain.conversation import window_expires_at

# Re-exported: callers use sla.evaluate, sla.SlaTimeline, sla.outlook and the rest.
from relaydesk.domain.sla_clock import Clock as Clock
from relaydesk.domain.sla_clock import Party as Party
from relaydesk.domain.sla_clock import SlaReport as SlaReport
from relaydesk.domain.sla_clock import SlaState as SlaState
from relaydesk.domain.sla_clock import SlaStatus as SlaStatus
from relaydesk.domain.sla_clock import SlaTimeline as SlaTimeline
from relaydesk.domain.sla_clock import TimelineMessage as TimelineMessage
from relaydesk.domain.sla_clock import evaluate as evaluate
from relaydesk.domain.sla_clock import evaluate_sla as evaluate_sla
from relaydesk.domain.sla_outlook import Outlook as Outlook
from relaydesk.domain.sla_outlook import outcome as outcome
from relaydesk.domain.sla_outlook import outlook as outlook


class BreachAction(enum.StrEnum):
    RAISE_PRIORITY = "raise_priority"
    MOVE_UP_TIER = "move_up_tier"
    NOTIFY_SUPERVISORS = "notify_supervisors"


#: What a breach does when the brief does not say: a conversation nobody picked up moves
#: up the ladder; a slow owner keeps it but gets priority and eyes on it.
DEFAULT_ON_BREACH: Mapping[Clock, tuple[BreachAction, ...]] = {
    Clock.FIRST_RESPONSE: (
        BreachAction.RAISE_PRIORITY,
        BreachAction.MOVE_UP_TIER,
        BreachAction.NOTIFY_SUPERVISORS,
    ),
    Clock.NEXT_RESPONSE: (BreachAction.RAISE_PRIORITY, BreachAction.NOTIFY_SUPERVISORS),
    Clock.RESOLUTION: (BreachAction.NOTIFY_SUPERVISORS,),
}
#: How long before its 24-hour window closes a queued conversation is served first.
WINDOW_SOON = timedelta(hours=2)


def next_timer(report: SlaReport) -> datetime | None:
    """When the worker should evaluate this conversation again: the earliest warning or
    breach still ahead of a counting clock. None when no clock is counting towards one."""
    ahead = [
        instant
        for s in report.statuses
        if s.state in (SlaState.RUNNING, SlaState.WARNING)
        for instant in (s.warn_at, s.due_at)
        if instant is not None and instant > report.at
    ]
    return min(ahead, default=None)


def breach_actions(
    report: SlaReport,
    on_breach: Iterable[BreachAction] | None = None,
    handled: Collection[str] = (),
) -> tuple[BreachAction, ...]:
    """What to do about the report's breaches, skipping those whose `key` is in `handled`.

    `on_breach` is the brief's list for this priority; without it each clock uses
    `DEFAULT_ON_BREACH`. A P1 cannot be raised, so it never gets RAISE_PRIORITY.
    """
    configured = None if on_breach is None else frozenset(on_breach)
    wanted: set[BreachAction] = set()
    for status in report.breached:
        if status.key not in handled:
            wanted.update(DEFAULT_ON_BREACH[status.clock] if configured is None else configured)
    if report.priority == PRIORITIES[0]:
        wanted.discard(BreachAction.RAISE_PRIORITY)
    return tuple(action for action in BreachAction if action in wanted)


#: Marks a warning in `sla_handled`, beside the bare keys of breaches acted on.
WARNING_MARK = "warning:"


def warning_key(status: SlaStatus) -> str:
    """Names the warning of a clock's cycle (the breach is named by `status.key`)."""
    return WARNING_MARK + status.key


def new_warnings(report: SlaReport, handled: Collection[str] = ()) -> tuple[SlaStatus, ...]:
    """Clocks past their warning threshold whose warning was not acted on yet. A clock
    already breached gets no warning: the breach says more."""
    return tuple(
        s for s in report.statuses if s.state is SlaState.WARNING and warning_key(s) not in handled
    )


def new_breaches(report: SlaReport, handled: Collection[str] = ()) -> tuple[SlaStatus, ...]:
    """Breached clocks not acted on yet (`handled` holds the keys of those that were)."""
    return tuple(s for s in report.breached if s.key not in handled)


def configured_on_breach(brief: Brief, priority: Priority) -> tuple[BreachAction, ...] | None:
    """The brief's `on_breach` for a priority, or None for the per-clock defaults."""
    actions = brief.slas[priority].on_breach
    return None if actions is None else tuple(BreachAction(a) for a in actions)


def raised_priority(priority: Priority) -> Priority:
    """One step more urgent (P3 -> P2); P1 stays P1."""
    return PRIORITIES[max(PRIORITIES.index(priority) - 1, 0)]


def window_priority(
    last_inbound_at: datetime | None, now: datetime, soon: timedelta = WINDOW_SOON
) -> bool:
    """Whether the conversation's 24-hour window is still open but closes within `soon`,
    so it should be served before the rest of its queue."""
    now = aware_utc("now", now)
    if last_inbound_at is None:
        return False
    expires = window_expires_at(aware_utc("last_inbound_at", last_inbound_at))
    return expires is not None and now < expires <= now + soon
