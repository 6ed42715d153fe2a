"""The first decision policy, as a table over the bundled example brief."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.outbound import Buttons, Text
from relaydesk.domain.policy import MessageView, decide

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def state(status: ConversationStatus = ConversationStatus.BOT) -> ConversationState:
    return ConversationState(id=1, status=status, last_inbound_at=NOW)


def view(kind: str = "text", text: str | None = "hi", reply_id: str | None = None) -> MessageView:
    return MessageView(kind, text, reply_id, NOW)


@pytest.mark.parametrize(
    ("kind", "understanding", "expected", "trigger"),
    [
        # confident answerable intent: the approved answer
        ("text", Understanding("order_status", 0.95), Action.ANSWER, None),
        # escalate-only intent, however confident: the policy matrix
        ("text", Understanding("returns_refund", 0.99), Action.ESCALATE, "policy_matrix"),
        # below the threshold: a person, not a guess
        ("text", Understanding("order_status", 0.2), Action.ESCALATE, "low_confidence"),
        # nothing matched at all
        ("text", Understanding(None, 0.0), Action.ESCALATE, "low_confidence"),
        # a voice note cannot be read by the bot
        ("audio", Understanding(None, 0.0), Action.ESCALATE, "unsupported_type"),
        # reactions and deletions carry nothing to answer
        ("reaction", Understanding(None, 0.0), Action.IGNORE, None),
        ("revoke", Understanding(None, 0.0), Action.IGNORE, None),
    ],
)
def test_decisions(
    brief: Brief, kind: str, understanding: Understanding, expected: Action, trigger: str | None
) -> None:
    decision = decide(state(), view(kind), understanding, brief, NOW)
    assert decision.action is expected
    assert decision.policy_version == brief.version
    assert [t.type for t in decision.triggers] == ([trigger] if trigger else [])


def test_escalation_queues_with_one_handoff_message(brief: Brief) -> None:
    decision = decide(state(), view(), Understanding("payment_problem", 0.9), brief, NOW)
    assert decision.status_after is ConversationStatus.QUEUED
    assert decision.route is not None
    assert decision.route.queue == brief.intents["payment_problem"].queue
    assert decision.route.tier == brief.queues[decision.route.queue].tier
    (reply,) = decision.replies
    assert isinstance(reply, Text)
    assert "{" not in reply.body


def test_low_confidence_goes_to_the_default_queue(brief: Brief) -> None:
    decision = decide(state(), view(), Understanding(None, 0.1), brief, NOW)
    assert decision.route is not None
    assert decision.route.queue == brief.policy.default_queue
    assert decision.route.priority == brief.policy.default_priority
    (trigger,) = decision.triggers
    assert trigger.score == 0.1
    assert trigger.threshold == brief.policy.confidence_threshold


@pytest.mark.parametrize("status", [ConversationStatus.QUEUED, ConversationStatus.ASSIGNED])
def test_bot_stays_silent_while_a_human_owns_or_is_coming(
    brief: Brief, status: ConversationStatus
) -> None:
    decision = decide(state(status), view(), Understanding("order_status", 0.99), brief, NOW)
    assert decision.action is Action.SILENT
    assert decision.replies == ()


def test_answer_carries_its_next_action(brief: Brief) -> None:
    with_buttons = [
        name
        for name, intent in brief.intents.items()
        if intent.policy == "answer" and intent.next_action and intent.next_action.buttons
    ]
    assert with_buttons, "the example brief offers buttons on at least one answer"
    decision = decide(state(), view(), Understanding(with_buttons[0], 1.0), brief, NOW)
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
