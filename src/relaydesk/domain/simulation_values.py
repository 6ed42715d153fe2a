"""What goes into a queue simulation (`domain.simulation`) and what it found: per
conversation, per agent, and folded per queue, priority and hour of day. Pure values."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from relaydesk.brief.schema import PRIORITIES, Priority
from relaydesk.domain.calendar import Interval


class SimulationError(ValueError):
    """The simulation was given input it cannot run (the message names the value)."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """One escalation to replay: when it joined which queue, and how long it took to handle."""

    id: int
    at: datetime  #: when it was escalated (timezone-aware)
    queue: str
    priority: Priority
    language: str | None = None  #: None: unknown, any agent of the queue will do
    handle_time: timedelta | None = None  #: None: the simulation's default handle time
    preferred_queues: tuple[str, ...] = ()  #: as triage asked, for the ladder's choice

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise SimulationError(
                f"arrival {self.id}: at {self.at.isoformat()} has no time zone; pass an "
                "aware datetime (UTC)."
            )
        if self.priority not in PRIORITIES:
            raise SimulationError(
                f"arrival {self.id}: priority {self.priority!r} is not one of "
                f"{', '.join(PRIORITIES)}."
            )
        if self.handle_time is not None and self.handle_time <= timedelta(0):
            raise SimulationError(
                f"arrival {self.id}: handle_time {self.handle_time} must be positive; "
                "leave it None to use the default handle time."
            )


def checked_shifts(agent_id: int, spans: Sequence[Interval]) -> list[Interval]:
    """An agent's shifts, [start, end) intervals, once each is known to be sound."""
    for start, end in spans:
        for name, at in (("start", start), ("end", end)):
            if at.utcoffset() is None:
                raise SimulationError(
                    f"agent {agent_id}: shift {name} {at.isoformat()} has no time zone; "
                    "pass aware datetimes (UTC)."
                )
        if end <= start:
            raise SimulationError(
                f"agent {agent_id}: shift {start.isoformat()} to {end.isoformat()} ends "
                "before it starts; swap them."
            )
    return list(spans)


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """One replayed escalation."""

    id: int
    arrived_at: datetime
    entry_queue: str  #: the queue it arrived in
    queue: str  #: the queue it was served in (never served: where it waited at the end)
    priority: Priority  #: as it arrived
    final_priority: Priority  #: after any breach's raise_priority
    agent_id: int | None  #: None: nobody took it
    assigned_at: datetime | None  #: the first response, in the simulation
    wait: timedelta | None  #: arrival to assignment; None: never served
    handle_time: timedelta
    moves: int  #: ladder moves (timeouts and breaches' move_up_tier)
    breached: bool  #: the first-response SLA target passed before anyone took it

    @property
    def served(self) -> bool:
        return self.assigned_at is not None


@dataclass(frozen=True, slots=True)
class AgentResult:
    agent_id: int
    capacity: int
    handled: int  #: conversations taken
    online: timedelta  #: time online within the simulated span
    busy: timedelta  #: slot time spent handling while online
    overtime: timedelta  #: slot time spent finishing conversations after a shift ended

    @property
    def utilisation(self) -> float:
        """Share of the online slot time spent handling (0 when never online)."""
        offered = self.online * self.capacity
        return self.busy / offered if offered else 0.0


@dataclass(frozen=True, slots=True)
class WaitStats:
    """Waits of a group of conversations. The wait figures are over those served (None
    when none was); percentiles are nearest-rank."""

    count: int  #: conversations that arrived
    served: int
    mean_wait: timedelta | None
    p50_wait: timedelta | None
    p90_wait: timedelta | None
    max_wait: timedelta | None
    breaches: int  #: first-response SLA breaches, served or not

    @property
    def unserved(self) -> int:
        return self.count - self.served

    @classmethod
    def of(cls, results: Iterable[ConversationResult]) -> WaitStats:
        group = list(results)
        waits = sorted(r.wait for r in group if r.wait is not None)
        return cls(
            count=len(group),
            served=len(waits),
            mean_wait=sum(waits, timedelta(0)) / len(waits) if waits else None,
            p50_wait=percentile(waits, 0.5),
            p90_wait=percentile(waits, 0.9),
            max_wait=waits[-1] if waits else None,
            breaches=sum(r.breached for r in group),
        )


@dataclass(frozen=True, slots=True)
class SimulationResult:
    conversations: tuple[ConversationResult, ...]  #: in order of arrival
    agents: tuple[AgentResult, ...]  #: in roster order
    overall: WaitStats
    by_queue: Mapping[str, WaitStats]  #: by the queue served in
    by_priority: Mapping[Priority, WaitStats]  #: by the priority it arrived with
    by_hour: Mapping[int, WaitStats]  #: by the hour of arrival in the business's time zone
    start: datetime  #: the first arrival
    end: datetime  #: the last arrival or end of handling, whichever is later

    @property
    def utilisation(self) -> float:
        """Share of all agents' online slot time spent handling."""
        offered = sum((a.online * a.capacity for a in self.agents), timedelta(0))
        busy = sum((a.busy for a in self.agents), timedelta(0))
        return busy / offered if offered else 0.0


def summarise(
    conversations: Iterable[ConversationResult],
    agents: Iterable[AgentResult],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
) -> SimulationResult:
    ordered = tuple(sorted(conversations, key=lambda r: (r.arrived_at, r.id)))
    by_priority = _grouped(ordered, lambda r: r.priority)
    return SimulationResult(
        conversations=ordered,
        agents=tuple(agents),
        overall=WaitStats.of(ordered),
        by_queue=dict(sorted(_grouped(ordered, lambda r: r.queue).items())),
        by_priority={p: by_priority[p] for p in PRIORITIES if p in by_priority},
        by_hour=dict(
            sorted(_grouped(ordered, lambda r: r.arrived_at.astimezone(zone).hour).items())
        ),
        start=start,
        end=end,
    )


def percentile(ordered: Sequence[timedelta], fraction: float) -> timedelta | None:
    """The nearest-rank percentile of sorted values: the smallest value with at least
    `fraction` of them at or below it. None for no values."""
    if not ordered:
        return None
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


K = TypeVar("K", bound=Hashable)


def _grouped(
    results: Sequence[ConversationResult], key: Callable[[ConversationResult], K]
) -> dict[K, WaitStats]:
    groups: dict[K, list[ConversationResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {k: WaitStats.of(group) for k, group in groups.items()}
