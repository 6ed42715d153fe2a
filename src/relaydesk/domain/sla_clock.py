"""The SLA clocks counted: a conversation's timeline, its priority's targets and a business
calendar in, the state of each clock at a time out (`evaluate`).

Every clock starts when the conversation is escalated to people (`opened_at`):

- first response runs until the first human reply;
- next response runs from a customer message that follows an agent reply until the next
  agent reply (only the latest such cycle is reported);
- resolution runs until the conversation is resolved, paused from each agent reply until
  the customer writes again (we are waiting on the customer).

Clocks count in business hours unless the priority's SLA says `business_hours: false`,
and resolving the conversation stops them all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from relaydesk.brief.schema import Brief, Priority, Sla
from relaydesk.domain.calendar import BusinessCalendar, Interval, aware_utc


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
