"""Routing: who waits first, which agent may take a conversation, and the tier ladder.

Pure values and functions: no I/O, no clock reads (`now` is always a parameter). The
functions decide; the service layer acts on what they return (`Assignment`, `LadderMove`).

One tick of the assignment loop, run whenever capacity may have freed (an agent comes
online, resolves or hands back a conversation) and on a timer for the ladder:

1. `assign(waiting, agents, queues, now)`: give every conversation an agent that can take it.
2. `ladder_step(...)` for each conversation still waiting: move those past their timeout.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relaydesk.brief.schema import PRIORITIES, LadderStep, Priority, Queue


class RoutingError(ValueError):
    """Routing was given inconsistent input (an unknown queue, a naive datetime, ...)."""


class Presence(enum.StrEnum):
    ONLINE = "online"  #: takes new conversations
    AWAY = "away"  #: keeps the conversations they have, gets no new ones
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as routing sees them: what they can handle and how busy they are."""

    id: int
    skills: frozenset[str]
    languages: frozenset[str]
    capacity: int  #: conversations they can hold at once
    presence: Presence = Presence.OFFLINE
    active_conversations: int = 0
    last_assigned_at: datetime | None = None  #: for round robin; None: never assigned

    def __post_init__(self) -> None:
        if self.capacity < 0 or self.active_conversations < 0:
            raise RoutingError(
                f"agent {self.id}: capacity ({self.capacity}) and active_conversations "
                f"({self.active_conversations}) must be 0 or more."
            )
        _check_aware(self.last_assigned_at, f"agent {self.id}: last_assigned_at")

    @property
    def has_capacity(self) -> bool:
        return self.active_conversations < self.capacity


@dataclass(frozen=True, slots=True)
class Waiting:
    """A conversation waiting in a queue for an agent."""

    conversation_id: int
    queue: str
    priority: Priority
    queued_at: datetime  #: when it started waiting for a human (the age that orders it)
    language: str | None = None  #: the customer's language; None: unknown, matches any
    window_closes_at: datetime | None = None  #: end of the 24-hour customer-service window
    entered_target_at: datetime | None = None  #: when it entered `queue`; None: queued_at
    preferred_queues: tuple[str, ...] = ()  #: queues triage asked for (intent, keywords)

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise RoutingError(
                f"conversation {self.conversation_id}: priority {self.priority!r} is not one "
                f"of {', '.join(PRIORITIES)}."
            )
        where = f"conversation {self.conversation_id}"
        _check_aware(self.queued_at, f"{where}: queued_at")
        _check_aware(self.window_closes_at, f"{where}: window_closes_at")
        _check_aware(self.entered_target_at, f"{where}: entered_target_at")

    @property
    def in_target_since(self) -> datetime:
        return self.entered_target_at or self.queued_at


@dataclass(frozen=True, slots=True)
class Assignment:
    """Give `conversation_id` to `agent_id`; the caller stores it and tells the agent."""

    conversation_id: int
    agent_id: int
    queue: str
    assigned_at: datetime


class MoveReason(enum.StrEnum):
    TIMEOUT = "timeout"  #: nobody picked it up within the step's timeout
    SLA_BREACH = "sla_breach"  #: an SLA breach whose brief action is move_up_tier
    AGENT = "agent"  #: a person moved it up (escalate)


@dataclass(frozen=True, slots=True)
class LadderMove:
    """Move a waiting conversation up the ladder; the caller re-queues it and records why."""

    conversation_id: int
    from_queue: str
    to_queue: str
    to_step: int  #: index in the brief's ladder
    tier: int
    reason: MoveReason
    waited: timedelta  #: time counted against the timeout
    skipped: tuple[str, ...] = ()  #: queues passed over: nobody available


# -- the waiting order ------------------------------------------------------------------

PRIORITY_RANK: Mapping[str, int] = {p: i for i, p in enumerate(PRIORITIES)}
WINDOW_SOON = timedelta(hours=2)


def closing_soon(waiting: Waiting, now: datetime, window_soon: timedelta = WINDOW_SOON) -> bool:
    """The customer-service window is still open but closes within `window_soon`."""
    closes = waiting.window_closes_at
    return closes is not None and now < closes <= now + window_soon


def order_queue(
    waiting: Iterable[Waiting], now: datetime, window_soon: timedelta = WINDOW_SOON
) -> list[Waiting]:
    """The waiting conversations in the order agents should get them.

    1. Conversations whose 24-hour window closes within `window_soon` come first, the
       most urgent priority first, then the one whose window closes first. Missing the
       window cannot be undone: afterwards only a template may be sent and the customer
       must write again, whereas any other delay is only a delay. Windows that have
       already closed gain nothing from haste and queue normally.
    2. Then everyone else by priority (P1 first), then oldest `queued_at` first.
    3. Ties break on the conversation id, so the order never depends on the input order.
    """
    return sorted(waiting, key=lambda w: _order_key(w, now, window_soon))


def _order_key(
    waiting: Waiting, now: datetime, window_soon: timedelta
) -> tuple[bool, int, datetime, datetime, int]:
    soon = closing_soon(waiting, now, window_soon)
    closes = waiting.window_closes_at if soon and waiting.window_closes_at else waiting.queued_at
    rank = PRIORITY_RANK[waiting.priority]
    return (not soon, rank, closes, waiting.queued_at, waiting.conversation_id)


# -- eligibility ------------------------------------------------------------------------


def eligible(agent: Agent, waiting: Waiting, queues: Mapping[str, Queue]) -> bool:
    """May `agent` take `waiting` now: online, with spare capacity, and qualified."""
    return (
        agent.presence is Presence.ONLINE
        and agent.has_capacity
        and qualified(agent, _queue(queues, waiting.queue), waiting.language)
    )


def qualified(agent: Agent, queue: Queue, language: str | None) -> bool:
    """Can `agent` work a conversation in `queue` in `language`, whatever their load.

    Skills: any one of the queue's skills. A queue's skills list the topics it covers
    (general: orders, delivery, complaints, ...) and a conversation is not tagged with
    one of them, so requiring all would leave only generalists able to take anything.

    Language: only when the queue lists languages. The customer's language is required
    when the queue serves it; otherwise the queue's first (main) language, since that is
    the language the team answers in. An unknown customer language matches any agent.
    Codes compare on the base language, so en_US matches en.
    """
    if not agent.skills & set(queue.skills):
        return False
    required = required_language(queue, language)
    return required is None or required in {base_language(code) for code in agent.languages}


def staffed(
    queue_name: str, agents: Iterable[Agent], queues: Mapping[str, Queue], language: str | None
) -> bool:
    """Is anyone online who could take a conversation in this queue (busy or not)?

    This is "available" for the ladder's skip rule: a busy agent frees up soon, an
    absent one does not. Use it as `agents_available` for `ladder_step`.
    """
    queue = _queue(queues, queue_name)
    return any(a.presence is Presence.ONLINE and qualified(a, queue, language) for a in agents)


def required_language(queue: Queue, language: str | None) -> str | None:
    """The base language an agent needs for `queue` (see `qualified`); None: any."""
    if language is None or not queue.languages:
        return None
    served = [base_language(code) for code in queue.languages]
    return base_language(language) if base_language(language) in served else served[0]


def base_language(language: str) -> str:
    """The base language of a code: `en_US`, `en-us` and `EN` are all `en`."""
    return language.replace("-", "_").split("_")[0].lower()


# -- assignment -------------------------------------------------------------------------

_NEVER = datetime.min.replace(tzinfo=UTC)


def assign(
    waiting: Iterable[Waiting],
    agents: Iterable[Agent],
    queues: Mapping[str, Queue],
    now: datetime,
    window_soon: timedelta = WINDOW_SOON,
) -> list[Assignment]:
    """One round of assignments: each waiting conversation, in `order_queue` order, goes
    to an eligible agent, or waits if there is none.

    Among eligible agents the least busy (fewest active conversations) wins; among
    equals, the one assigned longest ago (never first), then the lowest id. Capacity and
    load are updated as the round goes, so nobody is given more than they can hold and
    the work spreads round robin. Deterministic for the same input.
    """
    pool = _unique(agents)
    load = {a.id: a.active_conversations for a in pool}
    turn = {a.id: (a.last_assigned_at or _NEVER, 0) for a in pool}
    result: list[Assignment] = []
    for w in order_queue(waiting, now, window_soon):
        queue = _queue(queues, w.queue)
        candidates = [
            a
            for a in pool
            if a.presence is Presence.ONLINE
            and load[a.id] < a.capacity
            and qualified(a, queue, w.language)
        ]
        if not candidates:
            continue
        agent = min(candidates, key=lambda a: (load[a.id], turn[a.id], a.id))
        load[agent.id] += 1
        turn[agent.id] = (now, len(result) + 1)
        result.append(Assignment(w.conversation_id, agent.id, w.queue, now))
    return result


def _unique(agents: Iterable[Agent]) -> list[Agent]:
    pool = list(agents)
    seen: set[int] = set()
    for agent in pool:
        if agent.id in seen:
            raise RoutingError(f"agent {agent.id} is listed twice; pass each agent once.")
        seen.add(agent.id)
    return pool


# -- the tier ladder --------------------------------------------------------------------


def _wall_clock(start: datetime, end: datetime) -> timedelta:
    return end - start


def ladder_index(queue: str, ladder: Sequence[LadderStep]) -> int | None:
    """The ladder step that holds `queue`, or None when the queue is not on the ladder.

    The brief check guarantees a queue appears in one step at most, so the step is
    derived from the queue rather than stored beside it (it also survives ladder edits).
    """
    return next((i for i, step in enumerate(ladder) if queue in step.queue), None)


def ladder_step(
    waiting: Waiting,
    ladder: Sequence[LadderStep],
    queues: Mapping[str, Queue],
    agents_available: Callable[[str], bool],
    now: datetime,
    *,
    open_time: Callable[[datetime, datetime], timedelta] = _wall_clock,
) -> LadderMove | None:
    """Where `waiting` moves on the ladder now, or None to stay where it is.

    It moves once its step's timeout has passed. The timeout counts `open_time(entered,
    now)`: pass the business calendar's open time between two instants so that out of
    hours the clock stands still and the conversation simply stays queued (the default
    counts wall-clock time). Run `assign` first: a conversation an agent can take now
    should be taken, not moved.

    The next target is the next step; a step with `skip_if_unavailable` whose queue has
    nobody available (`agents_available(queue)`, e.g. `staffed`) is skipped at once. The
    last step is never skipped and never left: when everything above is empty the
    conversation still goes to the last step, where it is most likely to be noticed.
    Queues not on the ladder, and the last step (no timeout), never move.

    A step with several queues takes the one the conversation's triage preferred
    (`preferred_queues`), else the one sharing the most skills with its current queue,
    else the first; availability is judged for that queue only, because moving a refund
    to the technical team just because someone there is online helps nobody.
    """
    index = ladder_index(waiting.queue, ladder)
    if index is None or index == len(ladder) - 1:
        return None
    timeout = ladder[index].timeout
    waited = open_time(waiting.in_target_since, now)
    if timeout is None or waited < timeout:
        return None
    to_step, target, skipped = _next_target(index, ladder, waiting, queues, agents_available)
    return LadderMove(
        conversation_id=waiting.conversation_id,
        from_queue=waiting.queue,
        to_queue=target,
        to_step=to_step,
        tier=_queue(queues, target).tier,
        reason=MoveReason.TIMEOUT,
        waited=waited,
        skipped=skipped,
    )


def ladder_due_at(
    waiting: Waiting,
    ladder: Sequence[LadderStep],
    *,
    add_open_time: Callable[[datetime, timedelta], datetime] = operator.add,
) -> datetime | None:
    """When `waiting` will have sat out its step's timeout (`ladder_step` moves it from
    then on), or None when it never moves by timeout (off the ladder, or on the last step).

    `add_open_time(start, timeout)` must agree with `ladder_step`'s `open_time`: pass the
    business calendar's `add_business_time` with its `business_time`.
    """
    index = ladder_index(waiting.queue, ladder)
    if index is None or index == len(ladder) - 1:
        return None
    timeout = ladder[index].timeout
    return None if timeout is None else add_open_time(waiting.in_target_since, timeout)


def move_up(
    waiting: Waiting,
    ladder: Sequence[LadderStep],
    queues: Mapping[str, Queue],
    agents_available: Callable[[str], bool],
    reason: MoveReason = MoveReason.SLA_BREACH,
    *,
    waited: timedelta = timedelta(0),
) -> LadderMove | None:
    """The next ladder target now, whatever the timeout: for a breach action, or a person
    escalating. Skips like `ladder_step`. None when there is no higher step.

    A queue off the ladder goes to the first step above its tier, so a conversation in a
    side queue can still be escalated.
    """
    index = ladder_index(waiting.queue, ladder)
    if index is None:
        tier = _queue(queues, waiting.queue).tier
        above = [
            i
            for i, step in enumerate(ladder)
            if min(_queue(queues, name).tier for name in step.queue) > tier
        ]
        if not above:
            return None
        index = above[0] - 1
    if index >= len(ladder) - 1:
        return None
    to_step, target, skipped = _next_target(index, ladder, waiting, queues, agents_available)
    return LadderMove(
        conversation_id=waiting.conversation_id,
        from_queue=waiting.queue,
        to_queue=target,
        to_step=to_step,
        tier=_queue(queues, target).tier,
        reason=reason,
        waited=waited,
        skipped=skipped,
    )


def _next_target(
    index: int,
    ladder: Sequence[LadderStep],
    waiting: Waiting,
    queues: Mapping[str, Queue],
    agents_available: Callable[[str], bool],
) -> tuple[int, str, tuple[str, ...]]:
    """(step index, queue, queues skipped) of the step after `index` that takes it."""
    last = len(ladder) - 1
    skipped: list[str] = []
    for to_step in range(index + 1, last):
        step = ladder[to_step]
        target = pick_queue(step, waiting, queues)
        if not step.skip_if_unavailable or agents_available(target):
            return to_step, target, tuple(skipped)
        skipped.append(target)
    return last, pick_queue(ladder[last], waiting, queues), tuple(skipped)


def pick_queue(step: LadderStep, waiting: Waiting, queues: Mapping[str, Queue]) -> str:
    """The queue of a ladder step that fits `waiting` (see `ladder_step`)."""
    for preferred in waiting.preferred_queues:
        if preferred in step.queue:
            return preferred
    current = set(_queue(queues, waiting.queue).skills)
    overlap = [len(current & set(_queue(queues, name).skills)) for name in step.queue]
    return step.queue[overlap.index(max(overlap))]


# -- wait estimate ----------------------------------------------------------------------

MIN_WAIT = timedelta(minutes=1)
MAX_WAIT = timedelta(hours=4)


def estimate_wait(
    position: int,
    agents_serving: int,
    average_handle_time: timedelta,
    *,
    floor: timedelta = MIN_WAIT,
    ceiling: timedelta = MAX_WAIT,
) -> timedelta | None:
    """An honest expected wait for the handoff message, or None when nobody is serving.

    `position` is how many conversations wait ahead of this one in its queue (0: next).
    `agents_serving` is how many conversations the queue's online agents hold at once
    (the sum of their capacities). With every slot busy, a slot frees on average every
    `average_handle_time / agents_serving`, and this conversation needs `position + 1`
    of them:

        wait = (position + 1) * average_handle_time / agents_serving

    rounded up to the whole minute and clamped to [floor, ceiling], so we never promise
    "0 minutes" nor a precise-looking figure hours out (the copy can say "up to 4 hours").
    """
    if position < 0:
        raise RoutingError(f"position is {position}; it counts conversations ahead, 0 or more.")
    if average_handle_time <= timedelta(0):
        raise RoutingError(
            f"average_handle_time is {average_handle_time}; it must be positive "
            "(use a default such as 10 minutes until there is history)."
        )
    if agents_serving <= 0:
        return None
    seconds = (position + 1) * average_handle_time.total_seconds() / agents_serving
    wait = timedelta(minutes=math.ceil(seconds / 60))
    return max(floor, min(ceiling, wait))


# -- helpers ----------------------------------------------------------------------------


def _queue(queues: Mapping[str, Queue], name: str) -> Queue:
    try:
        return queues[name]
    except KeyError:
        known = ", ".join(sorted(queues)) or "none"
        raise RoutingError(f"queue {name!r} is not in the brief (queues: {known}).") from None


def _check_aware(value: datetime | None, what: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise RoutingError(f"{what} is {value.isoformat()}, without a time zone; pass UTC.")
