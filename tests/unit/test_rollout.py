"""The rollout's pure core: buckets, segments, figures, gates, promotion and rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from relaydesk.brief import EXAMPLE_BRIEF, Brief, load_brief
from relaydesk.brief.schema import Rollout, RolloutGates
from relaydesk.domain import rollout, rollout_gates
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.policy import MessageView, step
from relaydesk.domain.rollout import (
    BASELINE,
    PILOT,
    SEGMENT,
    Arrival,
    RolloutState,
    Segment,
)
from relaydesk.domain.rollout_gates import Breach, Metrics

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
GATES = RolloutGates(min_drafts=30, min_feedback=20, min_conversations=50, min_sends=50)
STEPS = [5, 20, 50, 100]


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def state(percent: int = 20, since: datetime = NOW - WINDOW, **modes: rollout.Mode) -> RolloutState:
    modes = modes or {"pricing": "draft", "shipping": "live"}
    return RolloutState("pilot", Segment(percent), since, modes, dict.fromkeys(modes, since))


def metrics(**overrides: Any) -> Metrics:
    """Figures under which every gate holds; `overrides` break some."""
    values: dict[str, Any] = {
        "acceptance": {"pricing": (40, 36), "shipping": (40, 38)},
        "breaches": (),
        "high_priority": 12,
        "feedback": (25, 22),
        "csat": {PILOT: (60, 54), BASELINE: (60, 48)},
        "resolution": {PILOT: (80, 70), BASELINE: (80, 60)},
        "sends": (500, 3),
    }
    values.update(overrides)
    return Metrics(**values)


# -- buckets and segments ----------------------------------------------------------------------


@pytest.mark.parametrize("percent", [1, 5, 10, 20, 33, 50, 80, 95])
def test_buckets_are_uniform_within_one_point_over_100000_ids(percent: int) -> None:
    phones = [f"34{600000000 + i}" for i in range(100_000)]
    inside = sum(rollout.bucket_of(None, p) < percent * 100 for p in phones)
    assert abs(inside / 1000 - percent) < 1.0


def test_user_ids_are_uniform_too() -> None:
    ids = [f"CO.{i:012d}" for i in range(100_000)]
    inside = sum(rollout.bucket_of(i, None) < 2000 for i in ids)
    assert abs(inside / 1000 - 20) < 1.0


def test_the_user_id_decides_the_bucket_when_there_is_one() -> None:
    """A user id is what stays when a number changes; the phone number is the fallback."""
    assert rollout.bucket_of("CO.1", "34600000001") == rollout.bucket_of("CO.1", "34699999999")
    assert rollout.bucket_of(None, "34600000001") == rollout.bucket_of(None, "34600000001")
    assert rollout.bucket_of(None, "34600000001") != rollout.bucket_of(None, "34600000002")


@pytest.mark.parametrize(
    ("segment", "arrival", "cohort"),
    [
        # the percentage alone
        (Segment(20), Arrival(1999, "pn1", None, None), PILOT),
        (Segment(20), Arrival(2000, "pn1", None, None), BASELINE),
        (Segment(0), Arrival(0, "pn1", None, None), BASELINE),
        (Segment(100), Arrival(9999, "pn1", None, None), PILOT),
        # a click-to-WhatsApp ad by its source id
        (Segment(100, sources=("ad7",)), Arrival(5, "pn1", {"source_id": "ad7"}, None), PILOT),
        (Segment(100, sources=("ad7",)), Arrival(5, "pn1", {"source_id": "ad8"}, None), BASELINE),
        (Segment(100, sources=("ad7",)), Arrival(5, "pn1", None, None), BASELINE),
        # a campaign by the ad URL's utm_campaign
        (
            Segment(100, campaigns=("spring",)),
            Arrival(5, "pn1", {"source_url": "https://x.example/a?utm_campaign=spring"}, None),
            PILOT,
        ),
        (
            Segment(100, campaigns=("spring",)),
            Arrival(5, "pn1", {"source_url": "https://x.example/a?utm_campaign=fall"}, None),
            BASELINE,
        ),
        # the business number written to
        (Segment(100, business_numbers=("pn2",)), Arrival(5, "pn2", None, None), PILOT),
        (Segment(100, business_numbers=("pn2",)), Arrival(5, "pn1", None, None), BASELINE),
        # the first message's intent
        (Segment(100, intents=("shipping",)), Arrival(5, "pn1", None, "shipping"), PILOT),
        (Segment(100, intents=("shipping",)), Arrival(5, "pn1", None, None), BASELINE),
        # every part must match: inside the source, outside the percentage
        (Segment(20, sources=("ad7",)), Arrival(5000, "pn1", {"source_id": "ad7"}, None), BASELINE),
    ],
)
def test_cohort_for(segment: Segment, arrival: Arrival, cohort: str) -> None:
    assert rollout.cohort_for(segment, arrival) == cohort


def test_a_wider_segment_keeps_everyone_it_held() -> None:
    buckets = [rollout.bucket_of(None, f"3460{i:07d}") for i in range(2000)]

    def pilot(percent: int) -> set[int]:
        return {
            b
            for b in buckets
            if rollout.cohort_for(Segment(percent), Arrival(b, "p", None, None)) == PILOT
        }

    assert pilot(20) < pilot(50)


def test_initial_state_follows_the_brief(brief: Brief) -> None:
    config = brief.rollout.model_copy(update={"off_intents": ["complaint"], "traffic_percent": 20})
    first = rollout.initial_state(brief.model_copy(update={"rollout": config}), NOW)
    assert first.phase == "pilot"
    assert first.segment == Segment(20)
    assert first.mode("pricing") == "draft"
    assert first.mode("complaint") == "off"
    assert first.mode("shipping") == "live"
    assert first.mode("an_intent_added_later") == "live"


# -- figures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # Wilson's interval for 8 of 10
        (0, 10, 0.0, 0.2775),  # no successes: the interval still has width
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),  # Newcombe (1998), single proportion, example
    ],
)
def test_wilson(hits: int, n: int, low: float, high: float) -> None:
    figure = rollout_gates.wilson(hits, n)
    assert figure.n == n
    assert figure.low == pytest.approx(low, abs=1e-4)
    assert figure.high == pytest.approx(high, abs=1e-4)


def test_wilson_without_data_has_no_value() -> None:
    assert rollout_gates.wilson(0, 0) == rollout_gates.Figure(None, 0, None, None, 0)


def test_lift_is_newcombes_difference_interval() -> None:
    """Newcombe (1998), 56/70 vs 48/80, method 10: 0.2000, 0.0524 to 0.3339."""
    gained = rollout_gates.lift(rollout_gates.wilson(56, 70), rollout_gates.wilson(48, 80))
    assert gained.value == pytest.approx(0.2, abs=1e-4)
    assert gained.low == pytest.approx(0.0524, abs=1e-4)
    assert gained.high == pytest.approx(0.3339, abs=1e-4)
    assert gained.n == 70


# -- gates with a frozen clock ----------------------------------------------------------------


def _by_key(found: list[rollout_gates.Gate]) -> dict[str, rollout_gates.Gate]:
    return {g.name if g.subject is None else f"{g.name}:{g.subject}": g for g in found}


def test_every_gate_holds_on_good_figures() -> None:
    found = _by_key(rollout_gates.evaluate(state(), metrics(), GATES))
    assert sorted(found) == [
        "acceptance:pricing",
        "acceptance:shipping",
        "csat_lift",
        "escalation_precision",
        "high_priority_sla",
        "resolution_lift",
        "send_errors",
    ]
    assert all(g.holds and g.measured for g in found.values())
    assert found["acceptance:pricing"].figure.value == pytest.approx(0.9)
    assert found["csat_lift"].figure.value == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("overrides", "failing", "measured"),
    [
        # 23 of 30 unchanged: below 0.8
        ({"acceptance": {"pricing": (30, 23), "shipping": (40, 38)}}, "acceptance:pricing", True),
        # 29 drafts: too few to judge, so it does not hold
        ({"acceptance": {"pricing": (29, 29), "shipping": (40, 38)}}, "acceptance:pricing", False),
        # one P2 past its SLA
        ({"breaches": (Breach(7, "P2", "shipping", NOW),)}, "high_priority_sla", True),
        ({"feedback": (25, 15)}, "escalation_precision", True),
        ({"feedback": (19, 19)}, "escalation_precision", False),
        ({"csat": {PILOT: (60, 40), BASELINE: (60, 48)}}, "csat_lift", True),
        ({"csat": {PILOT: (60, 54)}}, "csat_lift", False),  # no baseline
        ({"resolution": {PILOT: (80, 50), BASELINE: (80, 60)}}, "resolution_lift", True),
        ({"sends": (500, 40)}, "send_errors", True),
    ],
)
def test_a_gate_fails(overrides: dict[str, Any], failing: str, measured: bool) -> None:
    found = _by_key(rollout_gates.evaluate(state(), metrics(**overrides), GATES))
    assert [k for k, g in found.items() if not g.holds] == [failing]
    assert found[failing].measured is measured


def test_an_intent_that_is_off_has_no_acceptance_gate() -> None:
    found = _by_key(rollout_gates.evaluate(state(pricing="off", shipping="live"), metrics(), GATES))
    assert "acceptance:pricing" not in found


# -- promotion ---------------------------------------------------------------------------------


def test_a_draft_intent_is_promoted_when_its_gates_hold() -> None:
    now_state = state()
    found = rollout_gates.evaluate(now_state, metrics(), GATES)
    change, failing = rollout_gates.promotion(now_state, found, "pricing", STEPS)
    assert failing == []
    assert change is not None
    assert (change.subject, change.before, change.after) == ("pricing", "draft", "live")
    assert change.figures["acceptance:pricing"]["n"] == 40


def test_promotion_names_the_gates_that_fail() -> None:
    now_state = state()
    bad = metrics(acceptance={"pricing": (30, 20)}, breaches=(Breach(3, "P1", None, NOW),))
    change, failing = rollout_gates.promotion(
        now_state, rollout_gates.evaluate(now_state, bad, GATES), "pricing", STEPS
    )
    assert change is None
    assert [g.name for g in failing] == ["acceptance", "high_priority_sla"]


def test_the_segment_widens_a_step_and_needs_the_lift() -> None:
    now_state = state(percent=20)
    change, _ = rollout_gates.promotion(
        now_state, rollout_gates.evaluate(now_state, metrics(), GATES), SEGMENT, STEPS
    )
    assert change is not None and (change.before, change.after) == ("20", "50")
    flat = metrics(csat={PILOT: (60, 30), BASELINE: (60, 48)})
    change, failing = rollout_gates.promotion(
        now_state, rollout_gates.evaluate(now_state, flat, GATES), SEGMENT, STEPS
    )
    assert change is None and [g.name for g in failing] == ["csat_lift"]


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (WINDOW - timedelta(seconds=1), []),  # not held for the whole window yet
        (WINDOW, [("pricing", "draft", "live"), (SEGMENT, "20", "50")]),
    ],
)
def test_due_promotions_wait_for_the_window(
    held: timedelta, expected: list[tuple[str, str, str]]
) -> None:
    now_state = state(since=NOW - held)
    found = rollout_gates.evaluate(now_state, metrics(), GATES)
    changes = rollout_gates.due_promotions(now_state, found, STEPS, WINDOW, NOW)
    assert [(c.subject, c.before, c.after) for c in changes] == expected


@pytest.mark.parametrize(
    ("percent", "wider", "narrower"),
    [(0, 5, None), (5, 20, 0), (20, 50, 5), (30, 50, 20), (100, None, 50)],
)
def test_traffic_steps(percent: int, wider: int | None, narrower: int | None) -> None:
    assert rollout.wider(percent, STEPS) == wider
    assert rollout.narrower(percent, STEPS) == narrower


# -- rollback ----------------------------------------------------------------------------------


def _rollbacks(now_state: RolloutState, found: Metrics) -> list[tuple[str, str, str]]:
    gates = rollout_gates.evaluate(now_state, found, GATES)
    return [
        (c.subject, c.before, c.after)
        for c in rollout_gates.rollbacks(now_state, gates, found, GATES, STEPS)
    ]


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        # every guard holds: nothing moves
        (metrics(), []),
        # a live intent's acceptance falls below the gate
        (
            metrics(acceptance={"pricing": (40, 36), "shipping": (40, 20)}),
            [("shipping", "live", "draft")],
        ),
        # a P1 the live intent escalated passed its SLA
        (metrics(breaches=(Breach(9, "P1", "shipping", NOW),)), [("shipping", "live", "draft")]),
        # a P1 no live intent escalated: the segment shrinks a step
        (metrics(breaches=(Breach(9, "P1", None, NOW),)), [(SEGMENT, "20", "5")]),
        (metrics(breaches=(Breach(9, "P1", "pricing", NOW),)), [(SEGMENT, "20", "5")]),
        # a P2 past its SLA fails the gate but is not a guard
        (metrics(breaches=(Breach(9, "P2", "shipping", NOW),)), []),
        # CSAT 0.20 below the baseline, beyond max_csat_drop 0.10
        (metrics(csat={PILOT: (60, 36), BASELINE: (60, 48)}), [(SEGMENT, "20", "5")]),
        # 0.05 below: within what the brief tolerates
        (metrics(csat={PILOT: (60, 45), BASELINE: (60, 48)}), []),
        # a send-error spike
        (metrics(sends=(500, 40)), [(SEGMENT, "20", "5")]),
        # a spike on too few sends to judge
        (metrics(sends=(10, 5)), []),
    ],
)
def test_rollback_conditions(found: Metrics, expected: list[tuple[str, str, str]]) -> None:
    assert _rollbacks(state(), found) == expected


def test_a_breach_from_before_the_last_change_rolls_nothing_back_again() -> None:
    """After a rollback the intent's `since` moves on; the same breach is not a new one."""
    earlier = Breach(9, "P1", "shipping", NOW - timedelta(hours=1))
    assert _rollbacks(state(since=NOW - timedelta(minutes=5)), metrics(breaches=(earlier,))) == []


def test_a_breach_its_intent_was_rolled_back_for_does_not_shrink_the_segment() -> None:
    """Judged again after `shipping` went back to draft: the same P1 shrinks nothing."""
    now_state = state(since=NOW - WINDOW, pricing="draft", shipping="draft")
    handled = RolloutState(
        now_state.phase,
        now_state.segment,
        now_state.segment_since,
        now_state.modes,
        {"pricing": NOW - WINDOW, "shipping": NOW - timedelta(minutes=5)},
    )
    earlier = Breach(9, "P1", "shipping", NOW - timedelta(hours=1))
    assert _rollbacks(handled, metrics(breaches=(earlier,))) == []


def test_rollback_at_zero_percent_has_nowhere_to_shrink() -> None:
    assert _rollbacks(state(percent=0), metrics(sends=(500, 40))) == []


def test_apply_moves_the_subjects_since() -> None:
    after = rollout.apply(state(), rollout.Change("shipping", "live", "draft", "test"), NOW)
    assert after.mode("shipping") == "draft" and after.mode_since["shipping"] == NOW
    wider = rollout.apply(after, rollout.Change(SEGMENT, "20", "50", "test"), NOW)
    assert wider.segment.percent == 50 and wider.segment_since == NOW
    with pytest.raises(ValueError, match="mode 'on'"):
        rollout.apply(after, rollout.Change("shipping", "draft", "on", "test"), NOW)


# -- holding the bot back ------------------------------------------------------------------------


def _answer(brief: Brief) -> tuple[ConversationState, Understanding, Any]:
    conversation = ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=NOW)
    understanding = Understanding("shipping", 0.95)
    view = MessageView("text", "how long does delivery take?", None, NOW)
    outcome = step(conversation, view, understanding, brief, NOW, DialogueState())
    assert outcome.decision.action is Action.ANSWER
    return conversation, understanding, outcome


def test_held_back_hands_an_answer_to_people(brief: Brief) -> None:
    conversation, understanding, outcome = _answer(brief)
    held = rollout.held_back(outcome, brief, conversation, understanding, "outside the pilot", NOW)
    assert held.decision.action is Action.ESCALATE
    assert [t.type for t in held.decision.triggers] == ["rollout"]
    assert held.decision.triggers[0].detail == "outside the pilot"
    assert held.handoff is not None


def test_held_back_with_a_greeting_says_it_first(brief: Brief) -> None:
    conversation, understanding, outcome = _answer(brief)
    held = rollout.held_back(
        outcome, brief, conversation, understanding, "outside the pilot", NOW, ("Hi there!",)
    )
    (reply,) = held.decision.replies
    assert reply.body.startswith("Hi there!\n\n")  # type: ignore[union-attr]


def test_held_back_is_silent_while_people_own_the_conversation(brief: Brief) -> None:
    _, understanding, outcome = _answer(brief)
    queued = ConversationState(id=1, status=ConversationStatus.QUEUED, last_inbound_at=NOW)
    held = rollout.held_back(outcome, brief, queued, understanding, "outside the pilot", NOW)
    assert held.decision.action is Action.SILENT
    assert held.decision.replies == ()


def test_held_back_leaves_escalations_alone(brief: Brief) -> None:
    conversation = ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=NOW)
    understanding = Understanding("complaint", 0.95)
    view = MessageView("text", "this is unacceptable, I want to complain", None, NOW)
    outcome = step(conversation, view, understanding, brief, NOW, DialogueState())
    assert outcome.decision.action is Action.ESCALATE
    assert rollout.held_back(outcome, brief, conversation, understanding, "x", NOW) is outcome


# -- the brief's rollout section -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"phase": "beta"}, "phase 'beta' is not one of phases"),
        ({"traffic_steps": [20, 5]}, "must rise"),
        ({"fallback": "greeting"}, "there is no `greeting`"),
        ({"off_intents": ["pricing"], "draft_intents": ["pricing"]}, "one mode"),
        ({"fallback": "bot"}, "fallback"),
    ],
)
def test_the_rollout_section_refuses(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rollout.model_validate(values)


def test_the_example_brief_rollout_section(brief: Brief) -> None:
    config = brief.rollout
    assert config.phases == ["simulation", "pilot", "expand", "scale"]
    assert config.fallback == "greeting" and config.greeting
    assert config.draft_intents == ["pricing"]
