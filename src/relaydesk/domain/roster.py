"""An agent roster for what-if simulations: who can take what, and their weekly shifts,
turned into the simulation's agents and online intervals. Pure: time is a parameter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from relaydesk.domain import routing
from relaydesk.domain.calendar import Interval

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class RosterAgent:
    name: str
    skills: frozenset[str]
    languages: frozenset[str]
    capacity: int
    #: weekday (0 Monday) -> [start, end) local times; empty: online all the time
    weekly: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)


def agents_of(roster: Sequence[RosterAgent]) -> list[routing.Agent]:
    """The simulation's agents (ids 1, 2, ... in roster order), online unless their shifts
    say otherwise."""
    return [
        routing.Agent(
            id=number,
            skills=agent.skills,
            languages=agent.languages,
            capacity=agent.capacity,
            presence=routing.Presence.ONLINE,
        )
        for number, agent in enumerate(roster, 1)
    ]


def shifts_of(
    roster: Sequence[RosterAgent], zone: ZoneInfo, start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """Each agent with weekly shifts -> their online intervals (UTC) from `start` to `end`;
    agents without shifts are left out (online throughout)."""
    result: dict[int, list[Interval]] = {}
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    for number, agent in enumerate(roster, 1):
        if not agent.weekly:
            continue
        spans: list[Interval] = []
        day = first
        while day <= last:
            for opens, closes in agent.weekly.get(day.weekday(), ()):
                spans.append((_at(day, opens, zone), _closing(day, opens, closes, zone)))
            day += timedelta(days=1)
        result[number] = spans
    return result


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _closing(day: date, opens: time, closes: time, zone: ZoneInfo) -> datetime:
    """A shift ending at or before it starts runs past midnight (22:00-06:00)."""
    if closes <= opens:
        day = day + timedelta(days=1)
    return _at(day, closes, zone)
