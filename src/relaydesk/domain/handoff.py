"""The customer-facing side of a handoff: an honest wait, the handoff copy, CSAT replies.

Pure: the service reads the live queue into a `QueueSnapshot` (only when a message
escalates) and everything here turns figures into words. Nothing reads the clock.

How the wait is worked out (`estimate_wait`), in order:

1. Out of business hours: no figure. The brief's `handoff.out_of_hours` copy says when
   the team is back (`{opens}`, in the business's time zone); the conversation stays
   queued. Agents who left their presence online overnight do not change this.
2. Nobody qualified is online: no live figure either. The priority's SLA first-response
   target is quoted as an upper bound, said to be a target (counted in business time
   when the SLA is, so a target that runs past closing time names the time instead).
   Without an SLA for the priority, the brief's `fallback.connecting` copy. Without a
   snapshot at all (the pure policy, before the service has read the queue) the target
   is quoted plainly (`wait_basis` "sla_first_response").
3. Otherwise the live queue: `position` conversations wait ahead (routing order), the
   free slots of the qualified online agents take the first ones at once, and the rest
   drain at `agents_serving` slots per average handle time
   (`domain.routing.estimate_wait`). A wait that runs past closing time names the time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from relaydesk.brief.schema import Brief, Queue
from relaydesk.domain import routing
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.wait_words import words_for

#: The average handle time until a queue has resolved conversations to learn from.
DEFAULT_HANDLE_TIME = timedelta(minutes=10)
#: How many recently resolved conversations of a queue the handle time comes from.
HANDLE_TIME_SAMPLE = 50
CSAT_PREFIX = "csat:"


class WaitBasis(enum.StrEnum):
    """What the quoted wait rests on; recorded as the decision's `wait_basis`."""

    LIVE_QUEUE = "live_queue"  #: position, agents serving and handle time
    NOBODY_SERVING = "nobody_serving"  #: nobody online: the first-response target as a bound
    SLA_TARGET = "sla_first_response"  #: no live figures (pure callers): the SLA target
    OUT_OF_HOURS = "out_of_hours"  #: closed: when the team is back
    UNKNOWN = "unknown"  #: nobody serving and no SLA for the priority


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The live figures of the queue a conversation is about to join."""

    queue: str
    position: int  #: conversations waiting ahead of this one, in routing order
    agents_serving: int  #: summed capacity of the qualified agents online
    free_slots: int  #: of which not taken by a conversation right now
    average_handle_time: timedelta = DEFAULT_HANDLE_TIME
    handle_time_samples: int = 0  #: resolved conversations it comes from; 0: the default

    def __post_init__(self) -> None:
        if min(self.position, self.agents_serving, self.free_slots) < 0:
            raise ValueError(
                f"queue {self.queue}: position ({self.position}), agents_serving "
                f"({self.agents_serving}) and free_slots ({self.free_slots}) must be 0 or more"
            )
        if self.average_handle_time <= timedelta(0):
            raise ValueError(
                f"queue {self.queue}: average_handle_time is {self.average_handle_time}; "
                f"it must be positive (default {DEFAULT_HANDLE_TIME})"
            )


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    basis: WaitBasis
    wait: timedelta | None = None  #: the figure quoted (an estimate, or the SLA bound)
    by: datetime | None = None  #: set when the wait runs past closing time: "by <when>"
    opens_at: datetime | None = None  #: out of hours: when the team is back
    snapshot: QueueSnapshot | None = None

    def as_detail(self) -> dict[str, Any]:
        """The figures for the decision's detail (no message text)."""
        detail: dict[str, Any] = {"wait_basis": self.basis.value}
        if self.wait is not None:
            detail["wait_seconds"] = int(self.wait.total_seconds())
        if self.by is not None:
            detail["wait_until"] = self.by.isoformat()
        if self.opens_at is not None:
            detail["opens_at"] = self.opens_at.isoformat()
        if self.snapshot is not None:
            snap = self.snapshot
            detail["queue_position"] = snap.position
            detail["agents_serving"] = snap.agents_serving
            detail["free_slots"] = snap.free_slots
            detail["average_handle_seconds"] = int(snap.average_handle_time.total_seconds())
            detail["handle_time_samples"] = snap.handle_time_samples
        return detail


def calendar_of(brief: Brief) -> BusinessCalendar:
    """The brief's business calendar; open around the clock when it lists no hours.
    Built once per brief object (a brief is never changed after loading)."""
    cached = _CALENDARS.get(id(brief))
    if cached is not None and cached[0] is brief:
        return cached[1]
    calendar = BusinessCalendar.from_brief(brief)
    if not any(calendar.weekly):
        calendar = BusinessCalendar.always_open()
    if len(_CALENDARS) >= 16:
        _CALENDARS.clear()
    _CALENDARS[id(brief)] = (brief, calendar)  # the brief is kept, so its id stays its own
    return calendar


_CALENDARS: dict[int, tuple[Brief, BusinessCalendar]] = {}


def estimate_wait(
    brief: Brief,
    priority: str,
    snapshot: QueueSnapshot | None,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> WaitEstimate:
    """The wait to quote for a conversation joining `snapshot.queue` at `priority`
    (see the module docstring). `snapshot` None: nothing is known of the queue."""
    calendar = calendar or calendar_of(brief)
    if not calendar.is_open(now):
        return WaitEstimate(WaitBasis.OUT_OF_HOURS, opens_at=calendar.next_open(now))
    if snapshot is None or snapshot.agents_serving == 0:
        return _sla_bound(brief, priority, snapshot, now, calendar)
    if snapshot.position < snapshot.free_slots:
        wait = routing.MIN_WAIT  # an agent can take it now; assignment runs every second
    else:
        wait = (
            routing.estimate_wait(
                snapshot.position - snapshot.free_slots,
                snapshot.agents_serving,
                snapshot.average_handle_time,
            )
            or routing.MIN_WAIT
        )
    return WaitEstimate(
        WaitBasis.LIVE_QUEUE, wait, by=_past_closing(calendar, now, wait), snapshot=snapshot
    )


def _sla_bound(
    brief: Brief,
    priority: str,
    snapshot: QueueSnapshot | None,
    now: datetime,
    calendar: BusinessCalendar,
) -> WaitEstimate:
    sla = brief.slas.get(priority)  # type: ignore[call-overload]
    if sla is None:
        return WaitEstimate(WaitBasis.UNKNOWN, snapshot=snapshot)
    target = sla.first_response
    by = _past_closing(calendar, now, target) if sla.business_hours else None
    basis = WaitBasis.SLA_TARGET if snapshot is None else WaitBasis.NOBODY_SERVING
    return WaitEstimate(basis, target, by=by, snapshot=snapshot)


def _past_closing(calendar: BusinessCalendar, now: datetime, wait: timedelta) -> datetime | None:
    """When `wait` of open time runs past closing time, the instant it ends; else None."""
    if calendar.business_time(now, now + wait) >= wait:
        return None
    return calendar.add_business_time(now, wait)


# -- the copy ---------------------------------------------------------------------------


def handoff_text(brief: Brief, queue: str, estimate: WaitEstimate, now: datetime) -> str:
    """The one handoff message: the brief's copy with the team and the wait filled in, the
    wait worded in the language of the brief's copy (`Brief.localized`)."""
    team = team_name(queue)
    zone = calendar_zone(brief)
    language = brief.language
    if estimate.basis is WaitBasis.OUT_OF_HOURS and estimate.opens_at is not None:
        opens = when_text(estimate.opens_at, now, zone, language)
        return fill(brief.handoff.out_of_hours, brief, team=team, opens=opens)
    if estimate.basis is WaitBasis.UNKNOWN or estimate.wait is None:
        return fill(brief.fallback.connecting, brief, team=team)
    wait = wait_text(estimate, now, zone, language)
    return fill(brief.handoff.message, brief, team=team, wait=wait)


def wait_text(
    estimate: WaitEstimate, now: datetime, zone: ZoneInfo, language: str | None = None
) -> str:
    """The `{wait}` of the handoff copy: "about 12 minutes", "up to 1 hour (our target;
    nobody from the team is online right now)", "by Monday at 09:20 Madrid time"
    (English, Spanish or Portuguese words, `wait_words`)."""
    words = words_for(language)
    if estimate.wait is None:
        return words.shortly
    if estimate.by is not None:
        figure = words.by.format(figure=when_text(estimate.by, now, zone, language))
    elif estimate.basis in (WaitBasis.SLA_TARGET, WaitBasis.NOBODY_SERVING):
        figure = words.up_to.format(figure=humanise(estimate.wait, language))
    elif estimate.wait >= routing.MAX_WAIT:
        figure = words.or_more.format(figure=humanise(estimate.wait, language))
    else:
        figure = words.about.format(figure=humanise(estimate.wait, language))
    if estimate.basis is WaitBasis.NOBODY_SERVING:
        figure += words.nobody
    return figure


def humanise(delta: timedelta, language: str | None = None) -> str:
    """Whole minutes under an hour; above, hours and minutes to the nearest five."""
    words = words_for(language)
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return words.plural(minutes, words.minute)
    minutes = 5 * round(minutes / 5)
    hours, rest = divmod(minutes, 60)
    text = words.plural(hours, words.hour)
    return f"{text} {words.plural(rest, words.minute)}" if rest else text


def when_text(at: datetime, now: datetime, zone: ZoneInfo, language: str | None = None) -> str:
    """An instant as the customer should read it, in the business's time zone:
    "today at 16:00", "tomorrow at 09:00", "Monday at 09:00", "Monday 5 January at 09:00",
    followed by the zone ("Madrid time")."""
    words = words_for(language)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    weekday = words.weekdays[local.weekday()]
    if days <= 0:
        day = words.today
    elif days == 1:
        day = words.tomorrow
    elif days < 7:
        day = words.on_day.format(day=weekday)
    else:
        day = words.on_date.format(
            weekday=weekday, day=local.day, month=words.months[local.month - 1]
        )
    return words.at.format(day=day, time=f"{local:%H:%M}", zone=zone_name(zone))


def zone_name(zone: ZoneInfo) -> str:
    """ "Europe/Madrid" -> "Madrid", "America/New_York" -> "New York", "UTC" -> "UTC"."""
    return zone.key.rsplit("/", 1)[-1].replace("_", " ")


def calendar_zone(brief: Brief) -> ZoneInfo:
    return brief.timezone


def team_name(queue: str) -> str:
    return queue.replace("_", " ")


def fill(copy: str, brief: Brief, **values: str) -> str:
    """The brief's copy with its placeholders filled; an unknown one is left as written."""
    return copy.format_map(_Copy(business=brief.business.name, customer_name="", **values))


class _Copy(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# -- the live figures -------------------------------------------------------------------


def position_in_queue(
    waiting: Iterable[routing.Waiting], joining: routing.Waiting, now: datetime
) -> int:
    """How many of `waiting` (the queue, without `joining`) an agent would take first."""
    ordered = routing.order_queue([*waiting, joining], now)
    return next(i for i, w in enumerate(ordered) if w.conversation_id == joining.conversation_id)


@dataclass(frozen=True, slots=True)
class QueueTally:
    """A queue's waiting conversations folded for `position_in_tally`, good for any `now`
    from `valid_from` to `valid_until`.

    `settled` counts, per priority, the conversations whose place against a newcomer at
    such a `now` depends on their priority alone (`is_settled`): queued before
    `valid_from`, with a window that is not closing soon at any instant of the span. They
    are most of a long queue, so the service reads them as counts. `others` are the rest
    (recently queued, windows closing soon), one by one."""

    valid_from: datetime
    valid_until: datetime
    settled: Mapping[str, int]
    others: tuple[routing.Waiting, ...] = ()

    def __post_init__(self) -> None:
        if self.valid_until < self.valid_from:
            raise ValueError(
                f"a queue tally valid from {self.valid_from.isoformat()} until "
                f"{self.valid_until.isoformat()} ends before it starts; swap them"
            )
        for priority, count in self.settled.items():
            if priority not in routing.PRIORITY_RANK or count < 0:
                raise ValueError(
                    f"settled[{priority!r}] = {count}: keys must be priorities "
                    f"({', '.join(routing.PRIORITY_RANK)}) and counts 0 or more"
                )


def is_settled(waiting: routing.Waiting, valid_from: datetime, valid_until: datetime) -> bool:
    """Does `waiting` order against any newcomer queued at any `now` from `valid_from` to
    `valid_until` by its priority alone (see `QueueTally`)? Queued before the span, and its
    window unknown, closed by the span's start, or closing beyond `routing.WINDOW_SOON`
    after its end, so `routing.closing_soon` is false throughout."""
    closes = waiting.window_closes_at
    return waiting.queued_at < valid_from and (
        closes is None or closes <= valid_from or closes > valid_until + routing.WINDOW_SOON
    )


def tally(
    waiting: Iterable[routing.Waiting], valid_from: datetime, valid_until: datetime
) -> QueueTally:
    """The tally of these waiting conversations (the service gets the same from SQL)."""
    settled: dict[str, int] = {}
    others: list[routing.Waiting] = []
    for w in waiting:
        if is_settled(w, valid_from, valid_until):
            settled[w.priority] = settled.get(w.priority, 0) + 1
        else:
            others.append(w)
    return QueueTally(valid_from, valid_until, settled, tuple(others))


def position_in_tally(queue: QueueTally, joining: routing.Waiting, now: datetime) -> int:
    """`position_in_queue` over the conversations `queue` folds, without `joining`: the
    same answer, at a cost that grows with `queue.others` only. A settled conversation is
    ahead of a newcomer whose window is not closing soon when its priority is as urgent
    or more (it was queued earlier), and never ahead of one whose window is. `joining` is
    skipped in `queue.others` but must not be counted in `queue.settled` (a conversation
    that escalates is not waiting yet)."""
    if not queue.valid_from <= now <= queue.valid_until:
        raise ValueError(
            f"now ({now.isoformat()}) is outside the queue tally's span "
            f"({queue.valid_from.isoformat()} to {queue.valid_until.isoformat()}); "
            "read the queue again"
        )
    others = [w for w in queue.others if w.conversation_id != joining.conversation_id]
    ahead = position_in_queue(others, joining, now)
    if routing.closing_soon(joining, now):
        return ahead
    rank = routing.PRIORITY_RANK[joining.priority]
    return ahead + sum(n for p, n in queue.settled.items() if routing.PRIORITY_RANK[p] <= rank)


def serving(
    agents: Iterable[routing.Agent],
    queue: str,
    queues: Mapping[str, Queue],
    language: str | None,
) -> tuple[int, int]:
    """(summed capacity, free slots) of the online agents qualified for `queue`."""
    spec = queues[queue]
    qualified = [
        a
        for a in agents
        if a.presence is routing.Presence.ONLINE and routing.qualified(a, spec, language)
    ]
    capacity = sum(a.capacity for a in qualified)
    free = sum(max(a.capacity - a.active_conversations, 0) for a in qualified)
    return capacity, free


def handle_time(durations: Iterable[timedelta]) -> tuple[timedelta, int]:
    """(median, samples) of recent handle times; the default when there are none."""
    usable = sorted(d for d in durations if d > timedelta(0))
    if not usable:
        return DEFAULT_HANDLE_TIME, 0
    middle = len(usable) // 2
    median = usable[middle] if len(usable) % 2 else (usable[middle - 1] + usable[middle]) / 2
    return median, len(usable)


# -- CSAT replies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsatReply:
    """A tap on a CSAT button (or a template quick reply): `csat:<conversation>:<rating>`."""

    conversation_id: int
    rating: int


def is_csat(reply_id: str | None) -> bool:
    return reply_id is not None and reply_id.startswith(CSAT_PREFIX)


def parse_csat(reply_id: str | None) -> CsatReply | None:
    """The reply a CSAT button id names, or None when it is not a well-formed one
    (the rating must be 1 to 5, the conversation a positive number)."""
    match = _CSAT_ID.fullmatch(reply_id or "")
    if match is None or int(match[1]) == 0:
        return None
    return CsatReply(int(match[1]), int(match[2]))


_CSAT_ID = re.compile(r"csat:([0-9]{1,18}):([1-5])", re.ASCII)
