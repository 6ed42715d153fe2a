"""What a brief change does before it ships: the same history replayed through the current
brief and the proposed one, what the change fixed and broke per conversation, escalations
per queue, priority and hour, and the queue waits and SLA breaches each would cause,
predicted by the queue simulation (`domain.simulation`) from the history's arrival times,
an agent roster and handle times."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from relaydesk.brief.schema import Brief
from relaydesk.domain import launch
from relaydesk.domain.history import History
from relaydesk.domain.roster import RosterAgent, agents_of, shifts_of
from relaydesk.domain.routing import qualified
from relaydesk.domain.simulation import simulate
from relaydesk.domain.simulation_values import Arrival, SimulationResult
from relaydesk.services.decisions import DecisionMaker
from relaydesk.services.replay import replay

#: When neither the history nor the user gives handle times.
DEFAULT_HANDLE_TIME = timedelta(minutes=10)
#: A handle time read from the history is at least this (one quick reply).
MIN_HANDLE_TIME = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class BriefRun:
    """One brief's replay of the history, and the queue it would make."""

    version: str
    scored: tuple[launch.ScoredTurn, ...]
    by_queue: dict[str, int]
    by_priority: dict[str, int]
    by_hour: dict[int, int]  #: escalations per hour of day, in the brief's time zone
    simulation: SimulationResult | None  #: None: nothing escalated, or no roster
    #: queues escalated to that nobody in the roster can take (no agent has their skills)
    unstaffed: tuple[str, ...] = ()

    @property
    def escalations(self) -> int:
        return sum(self.by_queue.values())


@dataclass(frozen=True, slots=True)
class Change:
    conversation_id: str
    kind: str  #: "fixed", "broke" or "changed" (decisions differ, scores do not)
    turns: tuple[str, ...]  #: "turn 2 'text': escalate billing -> answer returns_refund"


@dataclass(frozen=True, slots=True)
class WhatIf:
    base: BriefRun
    other: BriefRun
    changes: tuple[Change, ...]
    handle_time: timedelta  #: the default handle time the simulation used

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


def compare(
    history: History,
    base: tuple[Brief, DecisionMaker],
    other: tuple[Brief, DecisionMaker],
    roster: Sequence[RosterAgent],
    *,
    handle_time: timedelta | None = None,
    other_turns: Sequence[launch.ReplayedTurn] | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> WhatIf:
    """`other_turns`: the proposed brief's replay of `history` if the caller has it
    already (it is not replayed again)."""
    spans = history_handle_times(history)
    default = handle_time or _median(spans.values()) or DEFAULT_HANDLE_TIME
    runs = []
    for (brief, decider), known in ((base, None), (other, other_turns)):
        turns = known if known is not None else replay(history, decider, progress=progress)
        scored = [launch.score(t, brief) for t in turns]
        runs.append(_run(brief, scored, history, roster, spans, default))
    return WhatIf(runs[0], runs[1], tuple(changes(runs[0].scored, runs[1].scored)), default)


def history_handle_times(history: History) -> dict[str, timedelta]:
    """Per conversation a person worked in the history: from their first turn to the
    conversation's last turn (at least `MIN_HANDLE_TIME`)."""
    found = {}
    for conversation in history.conversations:
        worked = [t.at for t in conversation.turns if t.author == "agent"]
        if worked:
            found[conversation.id] = max(MIN_HANDLE_TIME, conversation.ended_at - worked[0])
    return found


def _run(
    brief: Brief,
    scored: list[launch.ScoredTurn],
    history: History,
    roster: Sequence[RosterAgent],
    spans: dict[str, timedelta],
    default: timedelta,
) -> BriefRun:
    zone = ZoneInfo(brief.business.timezone)
    times = {
        (c.id, number): turn.at
        for c in history.conversations
        for number, turn in enumerate(c.customer_turns, 1)
    }
    arrivals: list[Arrival] = []
    seen: set[str] = set()
    for item in scored:
        turn = item.turn
        if not turn.escalated or turn.conversation_id in seen or not turn.queue:
            continue
        seen.add(turn.conversation_id)
        at = times[(turn.conversation_id, turn.turn)]
        arrivals.append(
            Arrival(
                id=len(arrivals) + 1,
                at=at,
                queue=turn.queue,
                priority=turn.priority or brief.policy.default_priority,  # type: ignore[arg-type]
                language=turn.language,
                handle_time=spans.get(turn.conversation_id),
            )
        )
    simulation = None
    if arrivals and roster:
        start = min(a.at for a in arrivals)
        end = max(a.at for a in arrivals) + timedelta(days=7)
        simulation = simulate(
            brief,
            arrivals,
            agents_of(roster),
            shifts=shifts_of(roster, zone, start, end),
            default_handle_time=default,
        )
    agents = agents_of(roster)
    unstaffed = tuple(
        sorted(
            queue
            for queue in {a.queue for a in arrivals}
            if roster and not any(qualified(agent, brief.queues[queue], None) for agent in agents)
        )
    )
    return BriefRun(
        unstaffed=unstaffed,
        version=brief.version,
        scored=tuple(scored),
        by_queue=dict(Counter(a.queue for a in arrivals)),
        by_priority=dict(Counter(a.priority for a in arrivals)),
        by_hour=dict(Counter(a.at.astimezone(zone).hour for a in arrivals)),
        simulation=simulation,
    )


def changes(
    before: Sequence[launch.ScoredTurn], after: Sequence[launch.ScoredTurn]
) -> list[Change]:
    """Per conversation: fixed (it lost points before and none after), broke (the other
    way round) or changed (some decision differs, the scores do not)."""
    by_conversation: dict[str, list[tuple[launch.ScoredTurn, launch.ScoredTurn]]] = {}
    for old, new in zip(before, after, strict=True):
        by_conversation.setdefault(old.turn.conversation_id, []).append((old, new))
    found = []
    for conversation, pairs in by_conversation.items():
        differing = [
            f"turn {old.turn.turn} {old.turn.text[:60]!r}: {_said(old)} -> {_said(new)}"
            for old, new in pairs
            if _said(old) != _said(new)
        ]
        if not differing:
            continue
        was_ok = all(_passes(old) for old, _ in pairs)
        now_ok = all(_passes(new) for _, new in pairs)
        kind = "fixed" if now_ok and not was_ok else "broke" if was_ok and not now_ok else "changed"
        found.append(Change(conversation, kind, tuple(differing)))
    return found


def _said(item: launch.ScoredTurn) -> str:
    turn = item.turn
    where = f" {turn.queue}" if turn.escalated else f" {turn.intent}" if turn.intent else ""
    return f"{turn.action}{where}"


def _passes(item: launch.ScoredTurn) -> bool:
    return all(
        score is None or score.value == 2
        for score in (item.accuracy, item.tone, item.actionability)
    )


def _median(values: Iterable[timedelta]) -> timedelta | None:
    seconds = [span.total_seconds() for span in values]
    return timedelta(seconds=statistics.median(seconds)) if seconds else None
