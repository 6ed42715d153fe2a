"""What-if queue simulation: replay escalations against a roster and see the waits.

A discrete-event simulation of the queues after an escalation, built on the production
rules rather than a copy of them:

- who takes what: `routing.assign` (window closing soon, then priority, then oldest;
  least busy agent, round robin among equals), run whenever a conversation arrives or
  moves, an agent frees a slot or an agent comes online;
- the ladder and the SLA clocks, as `services.timers` drives them: each waiting
  conversation has a timer (`sla.next_timer`, `routing.ladder_due_at` in the brief's
  business time); when it is due, `sla.evaluate` and the brief's breach actions
  (`raise_priority`, `move_up_tier` through `routing.move_up`), then `routing.ladder_step`.
  Like production, the round of assignments comes before the timers at any instant.

A conversation holds one of its agent's slots (`Agent.capacity`) for its handle time.
**First response is the assignment**: the simulation has no messages, so the
first-response clock stops when an agent takes the conversation, and `breached` says
whether it had passed the priority's target by then (in business time when the SLA is).

Agents start idle (their `active_conversations` and `last_assigned_at` are not used). An
agent with shifts is online during them and offline otherwise; without shifts, their
`presence` holds throughout (the live roster as it is now). At the end of a shift an agent
takes nothing new and finishes what they hold. Production assigns once a second; here an
assignment happens at the very instant it can, so real waits run up to a second longer.

Pure and deterministic: no I/O, no clock, no randomness; the same input gives the same
result. Randomness belongs to whoever generates the arrivals (seed it there).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from relaydesk.brief.schema import Brief
from relaydesk.domain import routing, sla
from relaydesk.domain.calendar import Interval, merge_intervals
from relaydesk.domain.conversation import window_expires_at
from relaydesk.domain.handoff import calendar_of
from relaydesk.domain.simulation_values import (
    AgentResult,
    Arrival,
    ConversationResult,
    SimulationError,
    SimulationResult,
    WaitStats,
    checked_shifts,
    summarise,
)

__all__ = [
    "AgentResult",
    "Arrival",
    "ConversationResult",
    "SimulationError",
    "SimulationResult",
    "WaitStats",
    "simulate",
]


# Events at one instant are applied in this order: freed slots and shift changes first,
# so an arrival at the same instant finds them; timers last, after the assignment round.
_DONE, _SHIFT_END, _SHIFT_START, _ARRIVAL, _TIMER = range(5)


@dataclass(slots=True)
class _Conversation:
    arrival: Arrival
    handle_time: timedelta
    item: routing.Waiting  #: as routing sees it now (queue, priority, entered_target_at)
    timeline: sla.SlaTimeline
    handled: set[str] = field(default_factory=set)  #: breach keys acted on, as sla_handled
    timer_at: datetime | None = None
    moves: int = 0
    agent_id: int | None = None
    assigned_at: datetime | None = None
    breached: bool = False


@dataclass(slots=True)
class _Seat:
    """An agent during the simulation: online or not, and how busy."""

    agent: routing.Agent
    online: bool
    shift_end: datetime | None = None  #: end of the shift under way; None: no shifts
    load: int = 0
    last_assigned_at: datetime | None = None
    handled: int = 0
    busy: timedelta = timedelta(0)
    overtime: timedelta = timedelta(0)
    routed: routing.Agent | None = None  #: as routing sees them now; None: changed since

    def as_routed(self) -> routing.Agent:
        if self.routed is None:
            presence = routing.Presence.ONLINE if self.online else routing.Presence.OFFLINE
            agent = self.agent
            self.routed = routing.Agent(
                agent.id,
                agent.skills,
                agent.languages,
                agent.capacity,
                presence,
                active_conversations=self.load,
                last_assigned_at=self.last_assigned_at,
            )
        return self.routed

    def take(self, now: datetime, handle_time: timedelta) -> datetime:
        """Take a conversation at `now`; returns when it is done."""
        done = now + handle_time
        until = done if self.shift_end is None else min(done, self.shift_end)
        self.load += 1
        self.last_assigned_at = now
        self.handled += 1
        self.busy += until - now
        self.overtime += done - until
        self.routed = None
        return done

    def release(self) -> None:
        self.load -= 1
        self.routed = None

    def shift(self, until: datetime | None) -> None:
        """Come online until `until`, or (None) go offline."""
        self.online, self.shift_end = until is not None, until
        self.routed = None


def simulate(
    brief: Brief,
    arrivals: Iterable[Arrival],
    agents: Iterable[routing.Agent],
    *,
    shifts: Mapping[int, Sequence[Interval]] | None = None,
    default_handle_time: timedelta | None = None,
) -> SimulationResult:
    """Replay `arrivals` against `agents` under `brief` (see the module docstring).

    `shifts` maps an agent id to the intervals [start, end) it is online; agents left out
    keep their presence throughout. `default_handle_time` is used for arrivals without
    their own. Raises `SimulationError` (a ValueError) naming any value it cannot use.
    """
    return _Simulation(brief, list(arrivals), list(agents), shifts or {}, default_handle_time).run()


class _Simulation:
    def __init__(
        self,
        brief: Brief,
        arrivals: list[Arrival],
        agents: list[routing.Agent],
        shifts: Mapping[int, Sequence[Interval]],
        default_handle_time: timedelta | None,
    ) -> None:
        if not arrivals:
            raise SimulationError("arrivals is empty: there is nothing to simulate.")
        if default_handle_time is not None and default_handle_time <= timedelta(0):
            raise SimulationError(
                f"default_handle_time {default_handle_time} must be positive, like 10 minutes."
            )
        self._brief = brief
        self._calendar = calendar_of(brief)
        self._heap: list[tuple[datetime, int, int, int]] = []
        self._seq = 0
        self._conversations = {a.id: self._conversation(a, default_handle_time) for a in arrivals}
        if len(self._conversations) < len(arrivals):
            twice = sorted(i for i, n in Counter(a.id for a in arrivals).items() if n > 1)
            raise SimulationError(f"arrival ids {twice} are used more than once; ids must differ.")
        self._online_spans = {
            agent_id: merge_intervals(checked_shifts(agent_id, spans))
            for agent_id, spans in shifts.items()
        }
        self._seats = self._roster(agents)
        self._waiting: dict[int, _Conversation] = {}
        self._dirty = False
        self._start = min(a.at for a in arrivals)
        self._end = max(a.at for a in arrivals)
        for arrival in arrivals:
            self._push(arrival.at, _ARRIVAL, arrival.id)

    def _conversation(self, arrival: Arrival, default: timedelta | None) -> _Conversation:
        if arrival.queue not in self._brief.queues:
            known = ", ".join(sorted(self._brief.queues))
            raise SimulationError(
                f"arrival {arrival.id}: queue {arrival.queue!r} is not in the brief "
                f"(queues: {known})."
            )
        handle_time = default if arrival.handle_time is None else arrival.handle_time
        if handle_time is None:
            raise SimulationError(
                f"arrival {arrival.id} has no handle_time and no default_handle_time was "
                "given; pass one of them."
            )
        item = routing.Waiting(
            conversation_id=arrival.id,
            queue=arrival.queue,
            priority=arrival.priority,
            queued_at=arrival.at,
            language=arrival.language,
            window_closes_at=window_expires_at(arrival.at),  # the escalating message is last
            entered_target_at=arrival.at,
            preferred_queues=arrival.preferred_queues,
        )
        return _Conversation(arrival, handle_time, item, sla.SlaTimeline(opened_at=arrival.at))

    def _roster(self, agents: list[routing.Agent]) -> dict[int, _Seat]:
        seats: dict[int, _Seat] = {}
        for agent in agents:
            if agent.id in seats:
                raise SimulationError(f"agent {agent.id} is listed twice; list each agent once.")
            seats[agent.id] = _Seat(agent, online=agent.presence is routing.Presence.ONLINE)
        for agent_id, spans in self._online_spans.items():
            if agent_id not in seats:
                raise SimulationError(f"shifts name agent {agent_id}, who is not in the roster.")
            seats[agent_id].online = False
            for start, end in spans:
                self._push(start, _SHIFT_START, agent_id)
                self._push(end, _SHIFT_END, agent_id)
        return seats

    def _push(self, at: datetime, kind: int, key: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, kind, self._seq, key))

    # -- the event loop ---------------------------------------------------------------

    def run(self) -> SimulationResult:
        while self._heap:
            now = self._heap[0][0]
            due: list[_Conversation] = []
            while self._heap and self._heap[0][0] == now:
                _, kind, _, key = heapq.heappop(self._heap)
                if kind == _TIMER:
                    one = self._waiting.get(key)
                    if one is not None and one.timer_at == now:
                        due.append(one)
                else:
                    self._apply(kind, key, now)
            self._assign(now)
            for one in due:
                if one.arrival.id in self._waiting:
                    self._timer(one, now)
            self._assign(now)
        return self._result()

    def _apply(self, kind: int, key: int, now: datetime) -> None:
        if kind == _ARRIVAL:
            one = self._conversations[key]
            self._waiting[key] = one
            one.timer_at = now  # as an escalation sets timer_at = now: looked at after
            self._push(now, _TIMER, key)  # this instant's assignment round
        elif kind == _DONE:
            self._seats[key].release()
        else:
            self._seats[key].shift(self._shift_end(key, now) if kind == _SHIFT_START else None)
        self._dirty = True

    def _shift_end(self, agent_id: int, now: datetime) -> datetime:
        return next(end for start, end in self._online_spans[agent_id] if start == now)

    def _online(self) -> list[routing.Agent]:
        return [seat.as_routed() for seat in self._seats.values() if seat.online]

    def _assign(self, now: datetime) -> None:
        """One assignment round, as `services.assignment.assign_waiting` runs it."""
        if not (self._dirty and self._waiting):
            return
        self._dirty = False
        if not any(s.online and s.load < s.agent.capacity for s in self._seats.values()):
            return
        waiting = [one.item for one in self._waiting.values()]
        for made in routing.assign(waiting, self._online(), self._brief.queues, now):
            one = self._waiting.pop(made.conversation_id)
            one.agent_id, one.assigned_at = made.agent_id, now
            done = self._seats[made.agent_id].take(now, one.handle_time)
            self._end = max(self._end, done)
            self._push(done, _DONE, made.agent_id)

    def _timer(self, one: _Conversation, now: datetime) -> None:
        """A due timer of a waiting conversation, as `services.timers.Timers` acts on it:
        the SLA clocks and their breach actions, then the ladder, then the next timer."""
        brief, priority = self._brief, one.item.priority
        report = sla.evaluate(one.timeline, priority, brief, now)
        available = self._available(one.item.language)
        breaches = sla.new_breaches(report, one.handled)
        if breaches:
            actions = sla.breach_actions(
                report, sla.configured_on_breach(brief, priority), one.handled
            )
            for status in breaches:
                one.handled.add(status.key)
                one.breached |= status.clock is sla.Clock.FIRST_RESPONSE
            for action in actions:
                if action is sla.BreachAction.RAISE_PRIORITY:
                    self._update(one, priority=sla.raised_priority(priority))
                elif action is sla.BreachAction.MOVE_UP_TIER:
                    moved = routing.move_up(one.item, brief.ladder, brief.queues, available)
                    self._move(one, moved, now)
        moved = routing.ladder_step(
            one.item,
            brief.ladder,
            brief.queues,
            available,
            now,
            open_time=self._calendar.business_time,
        )
        self._move(one, moved, now)
        if one.item.priority != priority:  # raised: the clocks run against other targets
            report = sla.evaluate(one.timeline, one.item.priority, brief, now)
        self._set_timer(one, report, now)

    def _available(self, language: str | None) -> Callable[[str], bool]:
        """`routing.staffed` over the agents online now, as the ladder's skip rule."""
        online: list[routing.Agent] = []
        queues = self._brief.queues

        def available(queue: str) -> bool:
            if not online:
                online.extend(self._online())
            return routing.staffed(queue, online, queues, language)

        return available

    def _move(self, one: _Conversation, move: routing.LadderMove | None, now: datetime) -> None:
        if move is not None:
            self._update(one, queue=move.to_queue, entered_target_at=now)
            one.moves += 1

    def _update(self, one: _Conversation, **changes: object) -> None:
        one.item = replace(one.item, **changes)  # type: ignore[arg-type]
        self._dirty = True

    def _set_timer(self, one: _Conversation, report: sla.SlaReport, now: datetime) -> None:
        """`Timers._next_timer`: at once when a raised priority made a breach due, else
        the next warning, breach or ladder timeout ahead."""
        if sla.new_breaches(report, one.handled):
            at: datetime | None = now
        else:
            ladder = routing.ladder_due_at(
                one.item, self._brief.ladder, add_open_time=self._calendar.add_business_time
            )
            at = min((t for t in (sla.next_timer(report), ladder) if t and t > now), default=None)
        one.timer_at = at
        if at is not None:
            self._push(at, _TIMER, one.arrival.id)

    # -- the result -------------------------------------------------------------------

    def _result(self) -> SimulationResult:
        end = self._end
        conversations = [self._outcome(one) for one in self._conversations.values()]
        agents = [self._agent_result(seat, end) for seat in self._seats.values()]
        return summarise(conversations, agents, self._brief.timezone, self._start, end)

    def _outcome(self, one: _Conversation) -> ConversationResult:
        arrival = one.arrival
        return ConversationResult(
            id=arrival.id,
            arrived_at=arrival.at,
            entry_queue=arrival.queue,
            queue=one.item.queue,
            priority=arrival.priority,
            final_priority=one.item.priority,
            agent_id=one.agent_id,
            assigned_at=one.assigned_at,
            wait=None if one.assigned_at is None else one.assigned_at - arrival.at,
            handle_time=one.handle_time,
            moves=one.moves,
            breached=one.breached,
        )

    def _agent_result(self, seat: _Seat, end: datetime) -> AgentResult:
        agent = seat.agent
        if agent.id in self._online_spans:
            spans = self._online_spans[agent.id]
        elif seat.online:
            spans = [(self._start, end)]
        else:
            spans = []
        online = sum(
            (max(min(e, end) - max(s, self._start), timedelta(0)) for s, e in spans),
            timedelta(0),
        )
        return AgentResult(
            agent_id=agent.id,
            capacity=agent.capacity,
            handled=seat.handled,
            online=online,
            busy=seat.busy,
            overtime=seat.overtime,
        )
