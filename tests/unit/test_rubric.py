"""The pre-launch rubric: accuracy, tone and actionability of one bot turn."""

from __future__ import annotations

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import rubric
from relaydesk.domain.rubric import BotTurn, Expected


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def bot(
    replies: tuple[str, ...] = ("Track it here: https://example.test/track",),
    *,
    escalated: bool = False,
    intent: str | None = "order_status",
    queue: str | None = None,
    buttons: tuple[str, ...] = (),
    customer: str = "where is my order",
    length: str | None = "medium",
) -> BotTurn:
    return BotTurn(customer, escalated, intent, queue, replies, buttons, length)


class TestAccuracy:
    def test_nothing_to_compare_with_is_not_scored(self) -> None:
        assert rubric.accuracy(bot(), Expected(None, None, None, "none")) is None

    def test_answering_what_needed_a_person_scores_zero(self) -> None:
        score = rubric.accuracy(bot(), Expected(True, basis="history"))
        assert score == rubric.Score(0, "answered by the bot, but a person was needed (history)")

    def test_escalating_what_the_bot_could_answer_scores_zero(self) -> None:
        score = rubric.accuracy(bot(escalated=True), Expected(False))
        assert score is not None and score.value == 0
        assert "could have answered" in score.reason

    def test_right_action_wrong_intent_scores_one(self) -> None:
        score = rubric.accuracy(bot(intent="shipping"), Expected(False, "order_status"))
        assert score == rubric.Score(
            1, "right action, but understood as shipping, not order_status"
        )

    def test_wrong_intent_alone_scores_zero(self) -> None:
        score = rubric.accuracy(bot(intent=None), Expected(None, "order_status"))
        assert score == rubric.Score(0, "understood as nothing, not order_status")

    def test_wrong_queue_scores_one(self) -> None:
        turn = bot(escalated=True, queue="general")
        score = rubric.accuracy(turn, Expected(True, None, "billing"))
        assert score == rubric.Score(1, "escalated to general, but a person worked it in billing")

    def test_all_agree(self) -> None:
        turn = bot(escalated=True, queue="billing", intent="returns_refund")
        assert rubric.accuracy(turn, Expected(True, "returns_refund", "billing")) == rubric.Score(
            2, "escalated as needed"
        )


class TestTone:
    def test_a_clean_reply_fits(self, brief: Brief) -> None:
        assert rubric.tone(bot(), brief) == rubric.Score(2, "fits the tone guide")

    def test_a_banned_phrase_scores_zero(self, brief: Brief) -> None:
        score = rubric.tone(bot(("Dear customer, see https://x.test",)), brief)
        assert score == rubric.Score(0, "contains the banned phrase 'dear customer'")

    def test_a_reply_like_an_anti_pattern_scores_zero(self, brief: Brief) -> None:
        reply = "As per our returns policy, items must be returned within the period."
        score = rubric.tone(bot((reply,)), brief)
        assert score.value == 0 and "anti-pattern" in score.reason

    def test_too_long_for_its_length_loses_a_point(self, brief: Brief) -> None:
        reply = "word " * 70 + "https://x.test"  # 364 characters, over the short 280
        score = rubric.tone(bot((reply,), length="short"), brief)
        assert score.value == 1 and "over the 280 allowed for a short reply" in score.reason

    def test_not_echoing_the_order_number_loses_a_point(self, brief: Brief) -> None:
        turn = bot(customer="where is NW-10482?")
        score = rubric.tone(turn, brief)
        assert score == rubric.Score(1, "does not use the order number the customer gave")
        echoed = bot(("NW-10482 is here: https://x.test/track",), customer="where is NW-10482?")
        assert rubric.tone(echoed, brief).value == 2

    def test_avoided_words_match_whole_words_only(self, brief: Brief) -> None:
        assert rubric.tone(bot(("It ships in 3 business days: https://x.test",)), brief).value == 1
        # "sla" inside "translate" is not the word SLA
        assert rubric.tone(bot(("We translate it for you: https://x.test",)), brief).value == 2

    def test_two_problems_score_zero(self, brief: Brief) -> None:
        turn = bot(("Delivered within the SLA.",), customer="where is NW-10482")
        score = rubric.tone(turn, brief)
        assert score.value == 0
        assert score.reason.count(";") == 2  # no next step; no order number; SLA


class TestActionability:
    @pytest.mark.parametrize(
        ("replies", "buttons", "escalated", "value"),
        [
            (("Follow it here: https://x.test/track",), (), False, 2),
            (("Which size did you order?",), (), False, 2),
            (("Pick one",), ("Small", "Large"), False, 2),
            (("",), (), True, 2),
            (("See https://x.test. It usually arrives in 2 days.",), (), False, 1),
            (("It usually arrives in 2 days.",), (), False, 0),
            ((), (), False, 0),
        ],
    )
    def test_next_steps(
        self, replies: tuple[str, ...], buttons: tuple[str, ...], escalated: bool, value: int
    ) -> None:
        turn = bot(replies, buttons=buttons, escalated=escalated)
        assert rubric.actionability(turn).value == value


def test_similarity() -> None:
    assert rubric.similarity("a b c", "a b c") == pytest.approx(1.0)
    assert rubric.similarity("a b", "c d") == 0.0
    assert rubric.similarity("", "a") == 0.0


def test_cohen_kappa() -> None:
    assert rubric.cohen_kappa([2, 2, 0, 0], [2, 2, 0, 0]) == pytest.approx(1.0)
    assert rubric.cohen_kappa([2, 0, 2, 0], [2, 2, 0, 0]) == pytest.approx(0.0)
    assert rubric.cohen_kappa([], []) is None
    assert rubric.cohen_kappa([2, 2], [2, 2]) is None  # chance explains everything


def test_a_social_reply_needs_no_next_step() -> None:
    goodbye = BotTurn("thanks, bye", False, "thanks_goodbye", None, ("You're welcome!",), ())
    assert rubric.actionability(goodbye).value == 0
    social = BotTurn(
        "thanks, bye", False, "thanks_goodbye", None, ("You're welcome!",), (), social=True
    )
    assert rubric.actionability(social) == rubric.Score(
        2, "a social reply (greeting, thanks) needs no next step"
    )
