"""SLA clocks: first response, next response and resolution, as pure functions of a
conversation's timeline, its priority, the brief and the time.

Every clock starts when the conversation is escalated to people (`opened_at`):

- first response runs until the first human reply;
- next response runs from a customer message that follows an agent reply until the next
  agent reply (only the latest such cycle is reported);
- resolution runs until the conversation is resolved, paused from each agent reply until
  the customer writes again (we are waiting on the customer).

Clocks count in business hours unless the priority's SLA says `business_hours: false`,
and resolving the conversation stops them all. Timers are not kept here: `next_timer` says
when the worker should evaluate again, and `SlaStatus.key` names a clock's cycle so the
worker fires each warning and breach once, across restarts.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from relaydesk.brief.schema import PRIORITIES, Brief, Priority, Sla
from relaydesk.domain.calendar import BusinessCalendar, Interval, aware_utc
from relaydesk.domain.conversation import window_expires_at


class Clock(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaState(enum.StrEnum):
    RUNNING = "running"  #: counting, below the warning threshold
    PAUSED = "paused"  #: waiting on the customer
    MET = "met"  #: stopped within the target
    WARNING = "warning"  #: counting, past `warn_at` of the target
    BREACHED = "breached"  #: the target has passed (whether or not the clock stopped since)


class Party(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"  #: a human agent; the bot's messages do not count


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


@dataclass(frozen=True, slots=True)
class TimelineMessage:
    """One message that moves the clocks: from the customer or from a human agent."""

    at: datetime
    party: Party


@dataclass(frozen=True, slots=True)
class SlaTimeline:
    """What the clocks need of a conversation. Messages may come in any order; those
    before `opened_at` or after `resolved_at` (or after the evaluation time) are ignored."""

    opened_at: datetime  #: when the conversation was escalated to people
    messages: tuple[TimelineMessage, ...] = ()
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        opened = aware_utc("opened_at", self.opened_at)
        for message in self.messages:
            aware_utc(f"{message.party} message at", message.at)
        if self.resolved_at is not None and aware_utc("resolved_at", self.resolved_at) < opened:
            raise ValueError(
                f"resolved_at {self.resolved_at.isoformat()} is before "
                f"opened_at {self.opened_at.isoformat()}"
            )


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """One clock at the evaluation time. `due_at` and `warn_at` are when the target and
    the warning threshold are (or were) reached; None while paused short of them, or
    when the clock stopped short of them."""

    clock: Clock
    state: SlaState
    started_at: datetime  #: when this clock's cycle started
    target: timedelta
    elapsed: timedelta  #: counted (business, unpaused) time so far
    due_at: datetime | None
    warn_at: datetime | None

    @property
    def remaining(self) -> timedelta:
        """Time left to the target; negative once breached."""
        return self.target - self.elapsed

    @property
    def key(self) -> str:
        """Names this clock's cycle, so a warning or breach is acted on once."""
        return f"{self.clock}@{self.started_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class SlaReport:
    """All clocks of one conversation at `at`. `next_response` is None until a customer
    message follows an agent reply."""

    priority: Priority
    at: datetime
    first_response: SlaStatus
    next_response: SlaStatus | None
    resolution: SlaStatus

    @property
    def statuses(self) -> tuple[SlaStatus, ...]:
        clocks = (self.first_response, self.next_response, self.resolution)
        return tuple(s for s in clocks if s is not None)

    @property
    def breached(self) -> tuple[SlaStatus, ...]:
        return tuple(s for s in self.statuses if s.state is SlaState.BREACHED)


@dataclass(frozen=True, slots=True)
class _Span:
    """Where a clock counted: finished intervals, plus the start of the one still counting
    (None when paused or stopped)."""

    started_at: datetime
    counted: tuple[Interval, ...]
    running_since: datetime | None
    stopped: bool


def evaluate(timeline: SlaTimeline, priority: Priority, brief: Brief, now: datetime) -> SlaReport:
    """Every SLA clock of a conversation at `now`, against the priority's targets."""
    sla = brief.slas[priority]
    if sla.business_hours:
        calendar = BusinessCalendar.from_brief(brief)
    else:
        calendar = BusinessCalendar.always_open()
    return evaluate_sla(timeline, priority, sla, calendar, now)


def evaluate_sla(
    timeline: SlaTimeline, priority: Priority, sla: Sla, calendar: BusinessCalendar, now: datetime
) -> SlaReport:
    """`evaluate` with the SLA and the calendar given directly."""
    now = aware_utc("now", now)
    first, following, resolution = _spans(timeline, now)
    targets = {
        Clock.FIRST_RESPONSE: sla.first_response,
        Clock.NEXT_RESPONSE: sla.next_response,
        Clock.RESOLUTION: sla.resolution,
    }

    def status(clock: Clock, span: _Span) -> SlaStatus:
        return _status(clock, span, targets[clock], sla.warn_at, calendar, now)

    return SlaReport(
        priority=priority,
        at=now,
        first_response=status(Clock.FIRST_RESPONSE, first),
        next_response=None if following is None else status(Clock.NEXT_RESPONSE, following),
        resolution=status(Clock.RESOLUTION, resolution),
    )


def outcome(
    timeline: SlaTimeline, sla: Sla, calendar: BusinessCalendar, now: datetime
) -> bool | None:
    """What the Insights read of `evaluate_sla`'s report, without working out when each
    clock is or was due (`due_at`, `warn_at`): False when any clock breached, True when
    the first-response and resolution clocks are met, None while a clock still runs."""
    now = aware_utc("now", now)
    first, following, resolution = _spans(timeline, now)
    states = [
        _state(first, sla.first_response, sla.warn_at, calendar, now)[0],
        _state(resolution, sla.resolution, sla.warn_at, calendar, now)[0],
    ]
    if following is not None:
        states.append(_state(following, sla.next_response, sla.warn_at, calendar, now)[0])
    if SlaState.BREACHED in states:
        return False
    if states[0] is SlaState.MET and states[1] is SlaState.MET:
        return True
    return None


@dataclass(frozen=True, slots=True)
class Outlook:
    """`outcome` of an open conversation at any time from `since` on, for as long as
    nothing happens (no message, no resolution): missed from `missed_at` on (None: never:
    a clock is paused, waiting on the customer), not known yet before it."""

    since: datetime  #: the last message the clocks count (or the escalation)
    missed_at: datetime | None

    def outcome(self, now: datetime) -> bool | None:
        """`outcome` at `now` (at or after `since`)."""
        if now < self.since:
            raise ValueError(f"now {now.isoformat()} is before {self.since.isoformat()}")
        return False if self.missed_at is not None and now >= self.missed_at else None


def outlook(timeline: SlaTimeline, sla: Sla, calendar: BusinessCalendar) -> Outlook | None:
    """The `Outlook` of an open (not resolved) conversation's clocks; None once resolved.
    After its last message nothing moves the clocks but time: a clock that breached stays
    breached, a paused one stays paused, and a running one breaches when its counted time
    reaches the target (`_reached`). A resolution clock is never met while open, so the
    outcome is missed or not known yet."""
    if timeline.resolved_at is not None:
        return None
    since = max(
        [aware_utc("opened_at", timeline.opened_at)]
        + [aware_utc("message at", m.at) for m in timeline.messages]
    )
    first, following, resolution = _spans(timeline, since)
    clocks = [(first, sla.first_response), (resolution, sla.resolution)]
    if following is not None:
        clocks.append((following, sla.next_response))
    dues: list[datetime] = []
    for span, target in clocks:
        if _state(span, target, sla.warn_at, calendar, since)[0] is SlaState.BREACHED:
            return Outlook(since, since)
        if span.running_since is not None and any(calendar.weekly):  # never open: never due
            due = _reached(target, span, calendar)
            if due is not None:
                dues.append(due)
    return Outlook(since, min(dues, default=None))


def _spans(timeline: SlaTimeline, now: datetime) -> tuple[_Span, _Span | None, _Span]:
    """The first-response, next-response (None before a customer follows an agent reply)
    and resolution spans of a timeline at `now` (UTC)."""
    opened = aware_utc("opened_at", timeline.opened_at)
    if now < opened:
        raise ValueError(f"now {now.isoformat()} is before opened_at {opened.isoformat()}")
    resolved = (
        None if timeline.resolved_at is None else aware_utc("resolved_at", timeline.resolved_at)
    )
    stopped = resolved is not None and resolved <= now
    end = resolved if resolved is not None and stopped else now
    messages = sorted(
        (at, m.party)
        for m in timeline.messages
        if opened <= (at := aware_utc("message at", m.at)) <= end
    )
    return (
        _first_response(opened, messages, end, stopped),
        _next_response(messages, end, stopped),
        _resolution(opened, messages, end, stopped),
    )


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


# -- spans ------------------------------------------------------------------------------

_Messages = list[tuple[datetime, Party]]


def _first_response(opened: datetime, messages: _Messages, end: datetime, stopped: bool) -> _Span:
    reply = next((at for at, party in messages if party is Party.AGENT), None)
    if reply is not None:
        return _Span(opened, ((opened, reply),), None, stopped=True)
    return _closed_or_running(opened, end, stopped)


def _next_response(messages: _Messages, end: datetime, stopped: bool) -> _Span | None:
    start: datetime | None = None
    for (_, before), (at, party) in pairwise(messages):
        if before is Party.AGENT and party is Party.CUSTOMER:
            start = at
    if start is None:
        return None
    reply = next((at for at, party in messages if party is Party.AGENT and at >= start), None)
    if reply is not None:
        return _Span(start, ((start, reply),), None, stopped=True)
    return _closed_or_running(start, end, stopped)


def _resolution(opened: datetime, messages: _Messages, end: datetime, stopped: bool) -> _Span:
    counted: list[Interval] = []
    since: datetime | None = opened
    for at, party in messages:
        if party is Party.AGENT and since is not None:
            counted.append((since, at))
            since = None
        elif party is Party.CUSTOMER and since is None:
            since = at
    if since is not None and stopped:
        counted.append((since, end))
        since = None
    return _Span(opened, tuple(counted), since, stopped)


def _closed_or_running(start: datetime, end: datetime, stopped: bool) -> _Span:
    if stopped:
        return _Span(start, ((start, end),), None, stopped=True)
    return _Span(start, (), start, stopped=False)


# -- status -----------------------------------------------------------------------------


def _status(
    clock: Clock,
    span: _Span,
    target: timedelta,
    warn_fraction: float,
    calendar: BusinessCalendar,
    now: datetime,
) -> SlaStatus:
    state, elapsed = _state(span, target, warn_fraction, calendar, now)
    warning = target * warn_fraction
    return SlaStatus(
        clock=clock,
        state=state,
        started_at=span.started_at,
        target=target,
        elapsed=elapsed,
        due_at=_reached(target, span, calendar),
        warn_at=_reached(warning, span, calendar),
    )


def _state(
    span: _Span, target: timedelta, warn_fraction: float, calendar: BusinessCalendar, now: datetime
) -> tuple[SlaState, timedelta]:
    """The clock's state at `now` and the time it counted."""
    counted = span.counted
    if span.running_since is not None:
        counted += ((span.running_since, now),)
    elapsed = sum((calendar.business_time(s, e) for s, e in counted), timedelta())
    if span.stopped:
        state = SlaState.BREACHED if elapsed > target else SlaState.MET
    elif elapsed >= target:
        state = SlaState.BREACHED
    elif span.running_since is None:
        state = SlaState.PAUSED
    else:
        state = SlaState.WARNING if elapsed >= target * warn_fraction else SlaState.RUNNING
    return state, elapsed


def _reached(amount: timedelta, span: _Span, calendar: BusinessCalendar) -> datetime | None:
    """When the clock reaches `amount` of counted time: in the past, or ahead if it keeps
    running; None if it stopped or paused short of it."""
    for s, e in span.counted:
        counted = calendar.business_time(s, e)
        if counted >= amount:
            return calendar.add_business_time(s, amount)
        amount -= counted
    if span.running_since is None:
        return None
    return calendar.add_business_time(span.running_since, amount)
