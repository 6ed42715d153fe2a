"""What the Insights read of the SLA clocks: whether a conversation's SLAs are met, missed
or not known yet at a time (`outcome`) and, while it is open, from when on they are missed
if nothing happens (`outlook`). The clocks' spans and states are `sla_clock`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from relaydesk.brief.schema import Sla
from relaydesk.domain.calendar import BusinessCalendar, aware_utc
from relaydesk.domain.sla_clock import SlaState, SlaTimeline, _reached, _spans, _state


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
