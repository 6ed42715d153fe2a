"""The escalation policy over the bundled example brief: one decision per message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.dialogue import DialogueState, Turn
from relaydesk.domain.outbound import Buttons, Text
from relaydesk.domain.policy import MessageView, decide, step

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def state(
    status: ConversationStatus = ConversationStatus.BOT, queue: str | None = None
) -> ConversationState:
    return ConversationState(id=1, status=status, last_inbound_at=NOW, queue=queue)


def view(
    kind: str = "text",
    text: str | None = "hi",
    reply_id: str | None = None,
    attributes: dict[str, str] | None = None,
) -> MessageView:
    return MessageView(kind, text, reply_id, NOW, attributes or {})


def sure(intent: str, **signals: float) -> Understanding:
    return Understanding(intent, 0.95, ranking=((intent, 0.95),), **signals)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "understanding", "expected", "triggers"),
    [
        # confident answerable intent: the approved answer
        ("text", sure("order_status"), Action.ANSWER, []),
        # escalate-only intent, however confident: the policy matrix
        ("text", sure("returns_refund"), Action.ESCALATE, ["policy_matrix"]),
        # in between the clarify and the answer thresholds: one question with buttons
        (
            "text",
            Understanding(
                "order_status", 0.45, ranking=(("order_status", 0.45), ("shipping", 0.3))
            ),
            Action.CLARIFY,
            [],
        ),
        # nothing understood, the first time: ask, with the talk-to-a-person button
        ("text", Understanding(None, 0.0), Action.CLARIFY, []),
        # a voice note cannot be read by the bot
        ("audio", Understanding(None, 0.0), Action.ESCALATE, ["unsupported_type"]),
        # reactions and deletions carry nothing to answer
        ("reaction", Understanding(None, 0.0), Action.IGNORE, []),
        ("revoke", Understanding(None, 0.0), Action.IGNORE, []),
        # an explicit request for a person
        ("text", Understanding(None, 0.0, human_request=0.9), Action.ESCALATE, ["human_request"]),
        # a strongly negative message: the frustrated-customer path
        ("text", sure("order_status", sentiment=-0.85), Action.ESCALATE, ["negative_sentiment"]),
        # one mildly negative message is not a reason to escalate
        ("text", sure("order_status", sentiment=-0.3), Action.ANSWER, []),
    ],
)
def test_decisions(
    brief: Brief, kind: str, understanding: Understanding, expected: Action, triggers: list[str]
) -> None:
    decision = decide(state(), view(kind), understanding, brief, NOW)
    assert decision.action is expected
    assert decision.policy_version == brief.version
    assert [t.type for t in decision.triggers] == triggers


def test_escalation_queues_with_one_handoff_message(brief: Brief) -> None:
    decision = decide(state(), view(), sure("payment_problem"), brief, NOW)
    assert decision.status_after is ConversationStatus.QUEUED
    assert decision.route is not None
    assert decision.route.queue == brief.intents["payment_problem"].queue
    assert decision.route.tier == brief.queues[decision.route.queue].tier
    (reply,) = decision.replies
    assert isinstance(reply, Text)
    assert "{" not in reply.body


def test_second_message_not_understood_escalates(brief: Brief) -> None:
    first = step(state(), view(text="blorp"), Understanding(None, 0.0), brief, NOW, DialogueState())
    assert first.decision.action is Action.CLARIFY
    second = step(
        state(), view(text="zzzz qqq"), Understanding(None, 0.0), brief, NOW, first.dialogue
    )
    assert second.decision.action is Action.ESCALATE
    assert "low_confidence" in [t.type for t in second.decision.triggers]
    assert second.decision.route is not None
    assert second.decision.route.queue == brief.policy.default_queue


def test_clarify_then_still_unsure_escalates(brief: Brief) -> None:
    unsure = Understanding("shipping", 0.5, ranking=(("shipping", 0.5), ("order_status", 0.4)))
    first = step(state(), view(text="when"), unsure, brief, NOW, DialogueState())
    assert first.decision.action is Action.CLARIFY
    (buttons,) = first.decision.replies
    assert isinstance(buttons, Buttons)
    assert [b.id for b in buttons.buttons] == ["shipping", "order_status", "human"]
    second = step(state(), view(text="the thing"), unsure, brief, NOW, first.dialogue)
    assert second.decision.action is Action.ESCALATE
    assert "clarification_limit" in [t.type for t in second.decision.triggers]


def test_keyword_rule_routes_and_sets_priority(brief: Brief) -> None:
    decision = decide(state(), view(text="I will call my lawyer"), sure("complaint"), brief, NOW)
    assert decision.action is Action.ESCALATE
    assert decision.route is not None
    assert (decision.route.queue, decision.route.priority) == ("management", "P1")


def test_vip_customers_skip_tier_two(brief: Brief) -> None:
    decision = decide(
        state(),
        view(attributes={"vip": "true"}),
        sure("human_request", human_request=0.9),
        brief,
        NOW,
    )
    assert decision.route is not None
    assert decision.route.tier >= 3
    assert decision.route.priority == "P2"


def test_falling_sentiment_over_turns_escalates(brief: Brief) -> None:
    history = DialogueState(
        turns=(
            Turn("where is it", "order_status", 0.9, 0.3),
            Turn("still?", "order_status", 0.9, -0.1),
        )
    )
    outcome = step(
        state(),
        view(text="this is getting annoying"),
        sure("order_status", sentiment=-0.4),
        brief,
        NOW,
        history,
    )
    assert outcome.decision.action is Action.ESCALATE
    assert "frustration_trend" in [t.type for t in outcome.decision.triggers]


def test_same_question_again_escalates(brief: Brief) -> None:
    history = DialogueState(turns=(Turn("where is my order 12345", "order_status", 0.9),))
    outcome = step(
        state(), view(text="where is my order 12345??"), sure("order_status"), brief, NOW, history
    )
    assert outcome.decision.action is Action.ESCALATE
    assert "repeated_question" in [t.type for t in outcome.decision.triggers]


def test_bot_loop_escalates_instead_of_repeating(brief: Brief) -> None:
    dialogue = DialogueState()
    actions = []
    for text in ("track my parcel", "tracking please", "and the courier number"):
        outcome = step(state(), view(text=text), sure("order_status"), brief, NOW, dialogue)
        dialogue = outcome.dialogue
        actions.append(outcome.decision.action)
    assert actions == [Action.ANSWER, Action.ANSWER, Action.ESCALATE]


def test_answer_length_grows_when_the_topic_comes_back(brief: Brief) -> None:
    first = step(
        state(), view(text="shipping times?"), sure("shipping"), brief, NOW, DialogueState()
    )
    second = step(
        state(), view(text="and to the islands?"), sure("shipping"), brief, NOW, first.dialogue
    )
    assert first.decision.detail["length"] == brief.policy.answer_length
    assert second.decision.detail["length"] == "detailed"


def test_never_mind_cancels_a_pending_handoff(brief: Brief) -> None:
    decision = decide(
        state(ConversationStatus.QUEUED, "billing"),
        view(text="never mind"),
        Understanding(None, 0.0, cancel=0.9),
        brief,
        NOW,
    )
    assert decision.action is Action.ANSWER
    assert decision.status_after is ConversationStatus.BOT
    assert decision.triggers[0].type == "handoff_cancelled"
    (reply,) = decision.replies
    assert isinstance(reply, Text)
    assert "billing" in reply.body


@pytest.mark.parametrize("status", [ConversationStatus.QUEUED, ConversationStatus.ASSIGNED])
def test_bot_stays_silent_while_a_human_owns_or_is_coming(
    brief: Brief, status: ConversationStatus
) -> None:
    decision = decide(state(status), view(), sure("order_status"), brief, NOW)
    assert decision.action is Action.SILENT
    assert decision.replies == ()


def test_answer_carries_its_next_action(brief: Brief) -> None:
    with_buttons = [
        name
        for name, intent in brief.intents.items()
        if intent.policy == "answer" and intent.next_action and intent.next_action.buttons
    ]
    assert with_buttons, "the example brief offers buttons on at least one answer"
    decision = decide(state(), view(), sure(with_buttons[0]), brief, NOW)
    (reply,) = decision.replies
    assert isinstance(reply, Buttons)
    assert 1 <= len(reply.buttons) <= 3


def test_talk_to_a_person_button_escalates(brief: Brief) -> None:
    decision = decide(
        state(),
        view("interactive", "Talk to a person", "human"),
        Understanding(None, 0.0),
        brief,
        NOW,
    )
    assert decision.action is Action.ESCALATE
    assert decision.triggers[0].type == "human_request"


def test_asking_again_while_queued_gets_no_second_handoff_message(brief: Brief) -> None:
    for kind, text, reply_id in (
        ("text", "talk to a human!!", None),
        ("interactive", "Talk to a person", "human"),
    ):
        outcome = step(
            state(ConversationStatus.QUEUED, "general"),
            view(kind, text, reply_id),
            Understanding(None, 0.0, human_request=0.95, sentiment=-0.9),
            brief,
            NOW,
            DialogueState(),
        )
        assert outcome.decision.action is Action.SILENT
        assert outcome.decision.replies == ()
        assert outcome.handoff is None


def test_escalation_records_its_wait_basis_and_keeps_the_language(brief: Brief) -> None:
    outcome = step(
        state(),
        view(text="quiero hablar con un agente"),
        Understanding(None, 0.0, human_request=0.9, language="es"),
        brief,
        NOW,
        DialogueState(),
    )
    assert outcome.decision.detail["wait_basis"] == "sla_first_response"
    assert outcome.handoff is not None
    assert outcome.handoff.language == "es"
    assert outcome.handoff.queue == outcome.decision.route.queue  # type: ignore[union-attr]


# --- questions are not requests -------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("returns_refund", "can I return a sale item?"),
        ("cancel_order", "can I cancel an order after it ships?"),
        ("payment_problem", "what happens if my payment fails?"),
        ("login_technical", "how do I change my email?"),
    ],
)
def test_a_question_about_a_split_topic_gets_the_approved_answer(
    brief: Brief, intent: str, text: str
) -> None:
    """policy {question: answer, request: escalate}: a question is answered."""
    understanding = Understanding(intent, 0.95, ranking=((intent, 0.95),), mode="question")
    decision = decide(state(), view(text=text), understanding, brief, NOW)
    assert decision.action is Action.ANSWER, decision
    assert decision.intent == intent
    assert decision.detail["mode"] == "question"


@pytest.mark.parametrize(
    ("intent", "mode"),
    [
        ("returns_refund", "request"),
        ("cancel_order", "request"),
        ("payment_problem", "request"),
        ("login_technical", "request"),
        ("returns_refund", None),  # a tap on the intent's button chooses to act
        ("complaint", "question"),  # escalate-only stays escalate-only
    ],
)
def test_a_request_on_a_split_topic_escalates(brief: Brief, intent: str, mode: str | None) -> None:
    understanding = Understanding(
        intent, 0.95, ranking=((intent, 0.95),), mode=mode, mode_cue="i want"
    )
    decision = decide(state(), view(text="i want it sorted"), understanding, brief, NOW)
    assert decision.action is Action.ESCALATE
    assert "policy_matrix" in [t.type for t in decision.triggers]


def test_a_refund_keyword_in_a_question_routes_but_does_not_escalate(brief: Brief) -> None:
    """`escalate: request` keyword rules fire on requests only."""
    text = "how long does a refund take once you get the return?"
    asked = Understanding("returns_refund", 0.95, ranking=(("returns_refund", 0.95),))
    question = decide(state(), view(text=text), _with_mode(asked, "question"), brief, NOW)
    assert question.action is Action.ANSWER
    [keyword] = [t for t in question.triggers if t.type == "keyword"]
    assert not keyword.escalates and "in a question" in keyword.detail
    wanted = Understanding("order_status", 0.95, ranking=(("order_status", 0.95),))
    request = decide(state(), view(text="refund now"), _with_mode(wanted, "request"), brief, NOW)
    assert request.action is Action.ESCALATE
    assert request.route is not None and request.route.queue == "billing"


def _with_mode(understanding: Understanding, mode: str) -> Understanding:
    return Understanding(
        understanding.intent,
        understanding.confidence,
        ranking=understanding.ranking,
        mode=mode,
        mode_cue="?",
    )


def test_an_unplaced_request_on_a_split_topic_escalates_instead_of_clarifying(
    brief: Brief,
) -> None:
    """A clear request the classifier is unsure of, likely about a topic whose requests go
    to a person, is not asked "which topic?" first."""
    ranking = (("shipping", 0.4), ("payment_problem", 0.3))
    unsure = Understanding("shipping", 0.4, ranking=ranking, mode="request", mode_cue="fallo")
    decision = decide(state(), view(text="el pago falló"), unsure, brief, NOW)
    assert decision.action is Action.ESCALATE
    assert decision.triggers[-1].type == "unplaced_request"
    vague = Understanding("shipping", 0.4, ranking=ranking, mode="request", mode_cue="")
    assert decide(state(), view(text="the lamp"), vague, brief, NOW).action is Action.CLARIFY


# --- harmless messages stay with the bot ----------------------------------------------


@pytest.mark.parametrize("text", ["👍", "🙏", "👍👍", "❤️", "👌🏻"])
def test_an_emoji_alone_is_ignored(brief: Brief, text: str) -> None:
    understanding = Understanding("greeting", 0.45, out_of_scope=True, sentiment=0.24)
    for dialogue in (DialogueState(), DialogueState(low_confidence_streak=1, clarifications=1)):
        outcome = step(state(), view(text=text), understanding, brief, NOW, dialogue)
        assert outcome.decision.action is Action.IGNORE
        assert outcome.dialogue == dialogue


@pytest.mark.parametrize("kind", ["image", "video", "document"])
def test_a_photo_with_an_emoji_caption_is_not_ignored(brief: Brief, kind: str) -> None:
    """A photo of a damaged item captioned "👇" is what the unsupported-types trigger is for."""
    understanding = Understanding("greeting", 0.45, out_of_scope=True, sentiment=0.24)
    decision = decide(state(), view(kind=kind, text="👇"), understanding, brief, NOW)
    assert decision.action is Action.ESCALATE
    assert "unsupported_type" in {t.type for t in decision.triggers}


def test_an_angry_emoji_or_a_question_mark_is_not_ignored(brief: Brief) -> None:
    angry = Understanding(None, 0.0, out_of_scope=True, sentiment=-0.9, frustration=0.8)
    assert decide(state(), view(text="😡😡"), angry, brief, NOW).action is Action.ESCALATE
    puzzled = Understanding(None, 0.0, out_of_scope=True)
    assert decide(state(), view(text="??"), puzzled, brief, NOW).action is Action.CLARIFY


def test_an_out_of_scope_question_gets_the_out_of_scope_answer_and_buttons(brief: Brief) -> None:
    understanding = Understanding(
        "shipping", 0.29, ranking=(("shipping", 0.29), ("order_status", 0.2)), out_of_scope=True
    )
    decision = decide(state(), view(text="what are your opening hours?"), understanding, brief, NOW)
    assert decision.action is Action.CLARIFY
    [reply] = decision.replies
    assert isinstance(reply, Buttons)
    assert reply.body == brief.fallback.out_of_scope
    assert reply.buttons[-1].id == "human"


def test_a_cancel_with_a_renewed_request_for_a_person_keeps_the_handoff(brief: Brief) -> None:
    """ "No need to apologise, just get me a person" is no cancellation."""
    decision = decide(
        state(ConversationStatus.QUEUED, "general"),
        view(text="no need to apologise, just get me a person"),
        Understanding(None, 0.0, cancel=0.9, human_request=0.9),
        brief,
        NOW,
    )
    assert decision.action is Action.SILENT
