"""Judging replayed turns per intent against the brief's launch gates."""

from __future__ import annotations

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import launch
from relaydesk.domain.history import Labels
from relaydesk.domain.launch import ReplayedTurn


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def turn(
    conversation: str = "c1",
    *,
    action: str = "answer",
    intent: str | None = "order_status",
    replies: tuple[str, ...] = ("Follow it here: https://x.test/track",),
    labels: Labels | None = None,
    answered_by: str | None = None,
    has_bot: bool = False,
    queue: str | None = None,
    text: str = "where is my order",
    confidence: float = 0.9,
    triggers: tuple[str, ...] = (),
) -> ReplayedTurn:
    return ReplayedTurn(
        conversation_id=conversation,
        turn=1,
        source="h.jsonl:1",
        text=text,
        action=action,
        intent=intent,
        confidence=confidence,
        triggers=triggers,
        replies=replies,
        buttons=(),
        queue=queue,
        priority=None,
        status_after="bot",
        language="en",
        answer_length="medium",
        labels=labels,
        answered_by=answered_by,
        history_has_bot=has_bot,
    )


def small_gates(brief: Brief, samples: int = 2) -> Brief:
    launch_gates = brief.rollout.launch
    rollout = brief.rollout.model_copy(
        update={"launch": launch_gates.model_copy(update={"min_samples": samples})}
    )
    return brief.model_copy(update={"rollout": rollout})


class TestExpected:
    def test_labels_come_first(self) -> None:
        item = turn(
            labels=Labels(needs_human=True, queue="billing"), answered_by="bot", has_bot=True
        )
        assert launch.expected_of(item) == launch.rubric.Expected(True, None, "billing", "labels")

    def test_a_bot_history_tells_what_the_business_did(self) -> None:
        assert launch.expected_of(turn(answered_by="agent", has_bot=True)).needs_human is True
        assert launch.expected_of(turn(answered_by="bot", has_bot=True)).needs_human is False

    def test_a_history_of_people_only_tells_nothing(self) -> None:
        assert launch.expected_of(turn(answered_by="agent")).basis == "none"


class TestJudge:
    def test_ready_when_every_gate_passes(self, brief: Brief) -> None:
        good = [
            launch.score(
                turn(f"c{n}", labels=Labels(intent="order_status", needs_human=False)), brief
            )
            for n in range(3)
        ]
        verdict = launch.judge(good, small_gates(brief, 3))
        assert verdict.ready
        (intent,) = verdict.intents
        assert intent.intent == "order_status" and intent.samples == 3
        assert intent.rates == {"accuracy": 1.0, "tone": 1.0, "actionability": 1.0}

    def test_too_few_samples(self, brief: Brief) -> None:
        good = [launch.score(turn(labels=Labels(needs_human=False)), brief)]
        verdict = launch.judge(good, small_gates(brief, 2))
        assert not verdict.ready
        assert verdict.intents[0].failures == ("1 samples, fewer than the 2 needed",)

    def test_unscored_accuracy_is_not_ready(self, brief: Brief) -> None:
        items = [launch.score(turn(f"c{n}"), brief) for n in range(2)]
        verdict = launch.judge(items, small_gates(brief))
        assert verdict.intents[0].failures == (
            "accuracy not scored: label the turns or replay a bot history",
        )

    def test_a_missed_escalation_fails_the_brief(self, brief: Brief) -> None:
        items = [
            launch.score(turn("a", labels=Labels(needs_human=True)), brief),
            launch.score(
                turn(
                    "b",
                    action="escalate",
                    queue="general",
                    replies=("A colleague will reply",),
                    labels=Labels(needs_human=True),
                ),
                brief,
            ),
        ]
        verdict = launch.judge(items, small_gates(brief, 1))
        assert verdict.missed_escalations == ("a",)
        assert not verdict.ready
        assert any(r.pattern == "needed a person and was never escalated" for r in verdict.remedies)

    def test_remedies_are_ordered_by_impact_with_a_fix(self, brief: Brief) -> None:
        wrong = [
            launch.score(
                turn(
                    f"w{n}",
                    intent="shipping",
                    text=f"where's my parcel {n}",
                    labels=Labels(intent="order_status", needs_human=False),
                ),
                brief,
            )
            for n in range(3)
        ]
        rude = [
            launch.score(
                turn(
                    f"r{n}",
                    replies=("Dear customer, track it here: https://x.test",),
                    labels=Labels(intent="order_status", needs_human=False),
                ),
                brief,
            )
            for n in range(2)
        ]
        verdict = launch.judge([*wrong, *rude], small_gates(brief, 1))
        first, second = verdict.remedies[:2]
        assert (first.intent, first.pattern, first.count) == (
            "order_status",
            "understood as shipping",
            3,
        )
        assert first.fix == "add these phrasings to intents.order_status.examples"
        assert first.examples == (
            "where's my parcel 0",
            "where's my parcel 1",
            "where's my parcel 2",
        )
        assert second.count == 2 and second.pattern.startswith("tone: contains the banned phrase")

    def test_over_escalation_by_a_trigger_names_it(self, brief: Brief) -> None:
        items = [
            launch.score(
                turn(
                    f"c{n}",
                    action="escalate",
                    queue="billing",
                    replies=("A colleague",),
                    triggers=("keywords",),
                    labels=Labels(needs_human=False),
                ),
                brief,
            )
            for n in range(2)
        ]
        (remedy,) = [r for r in launch.judge(items, brief).remedies if "could have" in r.pattern]
        assert "keywords trigger" in remedy.fix


def test_clusters_of_unanswered_messages_become_candidate_intents(brief: Brief) -> None:
    items = [
        launch.score(turn(f"c{n}", intent=None, text=f"gift wrap {n}?"), brief) for n in range(4)
    ]
    remedies = launch.cluster_unanswered(items, {0: 7, 1: 7, 2: 7, 3: 9}, min_size=3)
    (remedy,) = remedies
    assert remedy.count == 3 and remedy.examples == ("gift wrap 0?", "gift wrap 1?", "gift wrap 2?")
    assert remedy.fix.startswith("add a new intent")
