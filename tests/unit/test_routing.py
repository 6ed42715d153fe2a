"""Routing over a frozen clock: the waiting order, eligibility, assignment rounds, the
tier ladder and wait estimates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import LadderStep, Queue
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.routing import (
    Agent,
    Assignment,
    MoveReason,
    Presence,
    RoutingError,
    Waiting,
    assign,
    eligible,
    estimate_wait,
    ladder_step,
    order_queue,
    staffed,
)

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)

ANA, BEN, CHO = 1, 2, 3  # agent ids


def brief_queue(tier: int, skills: list[str], languages: list[str] | None = None) -> Queue:
    return Queue.model_validate({"tier": tier, "skills": skills, "languages": languages or []})


QUEUES: Mapping[str, Queue] = {
    "general": brief_queue(2, ["orders", "delivery", "complaints"], ["en", "es"]),
    "web": brief_queue(2, ["orders", "website"], ["en"]),
    "billing": brief_queue(3, ["payments", "refunds"], ["en", "es"]),
    "technical": brief_queue(3, ["accounts", "website"], ["en"]),
    "management": brief_queue(4, ["complaints", "legal"], ["en", "es"]),
    "partners": brief_queue(2, ["wholesale"]),  # no languages listed
}


def ladder(*steps: dict[str, Any]) -> list[LadderStep]:
    return [LadderStep.model_validate(step) for step in steps]


LADDERS = {
    # the example brief's shape: general -> billing or technical -> management
    "shop": ladder(
        {"queue": "general", "timeout": "10m"},
        {"queue": ["billing", "technical"], "timeout": "30m", "skip_if_unavailable": True},
        {"queue": "management"},
    ),
    # same, entered from a tier-2 queue that shares skills with technical
    "web": ladder(
        {"queue": "web", "timeout": "10m"},
        {"queue": ["billing", "technical"], "timeout": "30m"},
        {"queue": "management"},
    ),
    # the middle step is never skipped
    "strict": ladder(
        {"queue": "general", "timeout": "10m"},
        {"queue": "billing", "timeout": "30m", "skip_if_unavailable": False},
        {"queue": "management"},
    ),
}


def agent(id: int = ANA, **overrides: Any) -> Agent:
    values: dict[str, Any] = {
        "skills": frozenset({"orders", "refunds", "complaints", "website"}),
        "languages": frozenset({"en"}),
        "capacity": 3,
        "presence": Presence.ONLINE,
    }
    return Agent(id=id, **(values | overrides))


def waiting(id: int = 100, **overrides: Any) -> Waiting:
    values: dict[str, Any] = {
        "queue": "general",
        "priority": "P3",
        "queued_at": NOW - 5 * MIN,
        "language": "en",
    }
    return Waiting(conversation_id=id, **(values | overrides))


# -- the waiting order ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # priority beats age: a new P1 before an old P3
        ([(1, "P3", 60, None), (2, "P1", 1, None)], [2, 1]),
        # same priority: oldest first
        ([(1, "P2", 5, None), (2, "P2", 30, None)], [2, 1]),
        # a window closing within 2 h beats priority: the P4 goes before the P1
        ([(1, "P1", 30, None), (2, "P4", 5, 60)], [2, 1]),
        # closing in 3 h is not soon: priority decides
        ([(1, "P1", 30, None), (2, "P4", 5, 180)], [1, 2]),
        # a window that has already closed gains nothing from haste: queues normally
        ([(1, "P2", 5, None), (2, "P4", 90, -10)], [1, 2]),
        # two closing soon: priority first within the band
        ([(1, "P3", 5, 20), (2, "P2", 1, 100)], [2, 1]),
        # two closing soon at the same priority: the window that closes first
        ([(1, "P3", 50, 90), (2, "P3", 5, 30)], [2, 1]),
        # closing exactly at the 2 h edge still counts as soon
        ([(1, "P1", 30, None), (2, "P4", 5, 120)], [2, 1]),
        # a full tie breaks on the conversation id, whatever the input order
        ([(9, "P3", 5, None), (4, "P3", 5, None)], [4, 9]),
    ],
)
def test_order_queue(rows: list[tuple[int, str, int, int | None]], expected: list[int]) -> None:
    """rows: (conversation id, priority, minutes waiting, minutes until the window closes)."""
    items = [
        waiting(
            cid,
            priority=priority,
            queued_at=NOW - age * MIN,
            window_closes_at=None if closes is None else NOW + closes * MIN,
        )
        for cid, priority, age, closes in rows
    ]
    assert [w.conversation_id for w in order_queue(items, NOW)] == expected
    assert [w.conversation_id for w in order_queue(reversed(items), NOW)] == expected


def test_order_queue_window_soon_is_a_parameter() -> None:
    """With a 30-minute band, a window closing in an hour is no longer urgent."""
    items = [waiting(1, priority="P1"), waiting(2, priority="P4", window_closes_at=NOW + HOUR)]
    ordered = order_queue(items, NOW, window_soon=30 * MIN)
    assert [w.conversation_id for w in ordered] == [1, 2]


# -- eligibility ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_overrides", "waiting_overrides", "expected"),
    [
        # online, spare capacity, a queue skill, the customer's language
        ({}, {}, True),
        # away agents keep what they have but get nothing new
        ({"presence": Presence.AWAY}, {}, False),
        # offline
        ({"presence": Presence.OFFLINE}, {}, False),
        # at capacity
        ({"active_conversations": 3}, {}, False),
        # capacity 0 (e.g. a supervisor who only watches)
        ({"capacity": 0}, {}, False),
        # none of the queue's skills
        ({"skills": frozenset({"payments"})}, {}, False),
        # one of the queue's skills is enough
        ({"skills": frozenset({"delivery"})}, {}, True),
        # a Spanish customer in a queue that serves Spanish needs a Spanish speaker
        ({}, {"language": "es"}, False),
        # regional codes compare on the base language
        ({"languages": frozenset({"es"})}, {"language": "es_MX"}, True),
        # unknown customer language matches any agent
        ({"languages": frozenset({"fr"})}, {"language": None}, True),
        # a language the queue does not serve falls back to its main language (en)
        ({}, {"language": "de"}, True),
        # ... so a Spanish-only agent does not take the German customer in general
        ({"languages": frozenset({"es"})}, {"language": "de"}, False),
        # a queue that lists no languages does not filter on language
        ({"skills": frozenset({"wholesale"})}, {"queue": "partners", "language": "es"}, True),
    ],
)
def test_eligible(
    agent_overrides: dict[str, Any], waiting_overrides: dict[str, Any], expected: bool
) -> None:
    assert eligible(agent(**agent_overrides), waiting(**waiting_overrides), QUEUES) is expected


def test_eligible_unknown_queue_names_the_known_ones() -> None:
    with pytest.raises(RoutingError, match=r"queue 'sales' is not in the brief \(queues: billing"):
        eligible(agent(), waiting(queue="sales"), QUEUES)


@pytest.mark.parametrize(
    ("agents", "language", "expected"),
    [
        # someone online with the skill, even if busy, is available: they free up soon
        ([agent(active_conversations=3)], "en", True),
        # only away or offline agents: nobody available
        ([agent(presence=Presence.AWAY), agent(BEN, presence=Presence.OFFLINE)], "en", False),
        # online but not speaking the customer's language
        ([agent()], "es", False),
        # no agents at all
        ([], "en", False),
    ],
)
def test_staffed(agents: list[Agent], language: str, expected: bool) -> None:
    assert staffed("general", agents, QUEUES, language) is expected


# -- assignment rounds ------------------------------------------------------------------

EARLY, LATE = NOW - 2 * HOUR, NOW - HOUR


@pytest.mark.parametrize(
    ("agents", "queue", "expected"),
    [
        # nobody online: nothing assigned, everything stays queued
        ([agent(presence=Presence.OFFLINE), agent(BEN, presence=Presence.AWAY)], [waiting(1)], []),
        # least busy first
        (
            [agent(active_conversations=2), agent(BEN, active_conversations=1)],
            [waiting(1)],
            [(1, BEN)],
        ),
        # equally busy: the one assigned longest ago (round robin)
        (
            [agent(last_assigned_at=LATE), agent(BEN, last_assigned_at=EARLY)],
            [waiting(1)],
            [(1, BEN)],
        ),
        # equally busy: never assigned goes before assigned
        ([agent(last_assigned_at=EARLY), agent(BEN)], [waiting(1)], [(1, BEN)]),
        # a full tie breaks on the lowest id
        ([agent(BEN), agent(ANA)], [waiting(1)], [(1, ANA)]),
        # within a round the load is updated: work alternates between equals
        (
            [agent(capacity=2), agent(BEN, capacity=2)],
            [waiting(i, queued_at=NOW - (10 - i) * MIN) for i in (1, 2, 3, 4)],
            [(1, ANA), (2, BEN), (3, ANA), (4, BEN)],
        ),
        # capacity exhausted mid-round: the rest wait, in queue order (P1 first)
        (
            [agent(capacity=2)],
            [waiting(1), waiting(2, priority="P1"), waiting(3, priority="P2")],
            [(2, ANA), (3, ANA)],
        ),
        # the only free slot goes to the window that closes soon
        (
            [agent(capacity=1)],
            [waiting(1, priority="P1"), waiting(2, priority="P4", window_closes_at=NOW + HOUR)],
            [(2, ANA)],
        ),
        # skills decide before load: the refund goes to the busier billing agent
        (
            [agent(skills=frozenset({"orders"})), agent(BEN, active_conversations=2)],
            [waiting(1, queue="billing")],
            [(1, BEN)],
        ),
        # the Spanish speaker takes the Spanish customer, the other takes the English one
        (
            [agent(), agent(BEN, languages=frozenset({"es", "en"}), active_conversations=1)],
            [waiting(1, language="es"), waiting(2, queued_at=NOW)],
            [(1, BEN), (2, ANA)],
        ),
        # nobody eligible for the first conversation does not block the next one
        (
            [agent(capacity=1)],
            [waiting(1, language="es", priority="P1"), waiting(2)],
            [(2, ANA)],
        ),
    ],
)
def test_assign(agents: list[Agent], queue: list[Waiting], expected: list[tuple[int, int]]) -> None:
    assignments = assign(queue, agents, QUEUES, NOW)
    assert [(a.conversation_id, a.agent_id) for a in assignments] == expected
    assert all(a.assigned_at == NOW for a in assignments)


def test_assign_returns_decisions_with_the_queue() -> None:
    assert assign([waiting(7, queue="billing")], [agent()], QUEUES, NOW) == [
        Assignment(conversation_id=7, agent_id=ANA, queue="billing", assigned_at=NOW)
    ]


def test_assign_rejects_an_agent_listed_twice() -> None:
    with pytest.raises(RoutingError, match="agent 1 is listed twice"):
        assign([waiting()], [agent(), agent()], QUEUES, NOW)


# -- the tier ladder --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "queue", "waited", "preferred", "unavailable", "expected"),
    [
        # general before its 10 m timeout: stays
        ("shop", "general", 10 * MIN - timedelta(seconds=1), (), set(), None),
        # general at 10 m: the next step, first queue when nothing is preferred
        ("shop", "general", 10 * MIN, (), set(), ("billing", 3, ())),
        # the step's queue triage preferred (the intent's queue)
        ("shop", "general", 10 * MIN, ("technical",), set(), ("technical", 3, ())),
        # nobody in billing (the step's pick): skipped at once, L2 -> L4; technical being
        # staffed does not catch a conversation that belongs to billing
        ("shop", "general", 15 * MIN, (), {"billing"}, ("management", 4, ("billing",))),
        # L3 at 30 m -> L4
        ("shop", "billing", 30 * MIN, (), set(), ("management", 4, ())),
        # L3 before its 30 m timeout: stays
        ("shop", "technical", 29 * MIN, (), set(), None),
        # the last step is never skipped, even with nobody there
        ("shop", "billing", HOUR, (), {"management"}, ("management", 4, ())),
        # the last step has no timeout: stays for ever
        ("shop", "management", 10 * HOUR, (), {"management"}, None),
        # a queue that is not on the ladder never moves
        ("shop", "partners", 10 * HOUR, (), set(), None),
        # several queues, none preferred: the one sharing skills with the current queue
        ("web", "web", 10 * MIN, (), set(), ("technical", 3, ())),
        # a step without skip_if_unavailable takes it even with nobody there
        ("strict", "general", 10 * MIN, (), {"billing"}, ("billing", 3, ())),
    ],
)
def test_ladder_step(
    name: str,
    queue: str,
    waited: timedelta,
    preferred: tuple[str, ...],
    unavailable: set[str],
    expected: tuple[str, int, tuple[str, ...]] | None,
) -> None:
    conversation = waiting(
        queue=queue,
        queued_at=NOW - 2 * waited,
        entered_target_at=NOW - waited,
        preferred_queues=preferred,
    )
    move = ladder_step(conversation, LADDERS[name], QUEUES, lambda q: q not in unavailable, NOW)
    if expected is None:
        assert move is None
        return
    assert move is not None
    assert (move.to_queue, move.tier, move.skipped) == expected
    assert (move.from_queue, move.reason, move.waited) == (queue, MoveReason.TIMEOUT, waited)


def test_ladder_step_counts_from_queued_at_when_never_moved() -> None:
    conversation = waiting(queued_at=NOW - 10 * MIN)
    move = ladder_step(conversation, LADDERS["shop"], QUEUES, lambda q: True, NOW)
    assert move is not None and move.to_step == 1


def test_ladder_step_out_of_hours_the_clock_stands_still() -> None:
    """Queued at 17:55, the team closed at 18:00: at 09:03 only 8 open minutes count."""
    conversation = waiting(queued_at=NOW - 15 * HOUR - 8 * MIN)

    def open_time(start: datetime, end: datetime) -> timedelta:
        return 8 * MIN

    move = ladder_step(
        conversation, LADDERS["shop"], QUEUES, lambda q: False, NOW, open_time=open_time
    )
    assert move is None


def test_ladder_step_on_the_example_brief() -> None:
    """A refund waiting in general for 10 minutes goes to billing, the intent's queue."""
    brief = load_brief(EXAMPLE_BRIEF)
    conversation = waiting(queued_at=NOW - 10 * MIN, preferred_queues=("billing",), language="es")
    move = ladder_step(conversation, brief.ladder, brief.queues, lambda q: True, NOW)
    assert move is not None
    assert (move.from_queue, move.to_queue, move.tier) == ("general", "billing", 3)


# -- wait estimates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "serving", "handle", "expected"),
    [
        # next in line, one slot, 10 m per conversation: 10 m
        (0, 1, 10 * MIN, 10 * MIN),
        # third in line, three slots: one slot frees every 3m20s, three needed
        (2, 3, 10 * MIN, 10 * MIN),
        # 2.5 m rounds up to the whole minute
        (0, 4, 10 * MIN, 3 * MIN),
        # 15 s is clamped up to 1 m: never promise "0 minutes"
        (0, 20, 5 * MIN, MIN),
        # 101 conversations ahead on one slot: clamped to 4 h
        (100, 1, 10 * MIN, 4 * HOUR),
        # nobody online: no estimate ("unknown"), not a made-up number
        (0, 0, 10 * MIN, None),
    ],
)
def test_estimate_wait(
    position: int, serving: int, handle: timedelta, expected: timedelta | None
) -> None:
    assert estimate_wait(position, serving, handle) == expected


def test_estimate_wait_clamps_are_parameters() -> None:
    assert estimate_wait(50, 1, 10 * MIN, ceiling=HOUR) == HOUR
    assert estimate_wait(0, 20, 5 * MIN, floor=timedelta(0)) == MIN


@pytest.mark.parametrize(
    ("position", "handle", "message"),
    [
        # a negative position is a caller bug
        (-1, 10 * MIN, "position is -1"),
        # a zero handle time would promise instant service
        (0, timedelta(0), "average_handle_time is 0:00:00; it must be positive"),
    ],
)
def test_estimate_wait_rejects_nonsense(position: int, handle: timedelta, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        estimate_wait(position, 1, handle)


# -- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # priorities are P1-P4
        (lambda: waiting(priority="urgent"), "priority 'urgent' is not one of P1, P2, P3, P4"),
        # naive datetimes are refused at the boundary
        (lambda: waiting(queued_at=NOW.replace(tzinfo=None)), "queued_at .* without a time zone"),
        # negative capacity
        (lambda: agent(capacity=-1), r"capacity \(-1\)"),
        # naive last_assigned_at
        (lambda: agent(last_assigned_at=datetime(2026, 1, 1)), "last_assigned_at .* time zone"),
    ],
)
def test_values_reject_bad_input(build: Any, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        build()


def test_agent_replace_keeps_validation() -> None:
    with pytest.raises(RoutingError):
        replace(agent(), active_conversations=-1)
