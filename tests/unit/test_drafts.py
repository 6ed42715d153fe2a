"""Draft mode's pure rules (`domain.drafts`) over the example brief, and who may see a
draft (`services.drafts.may_see`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relaydesk.adapters.storage.drafts import Draft
from relaydesk.brief import BriefError
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import drafts
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.outbound import Button, Buttons, Template, Text
from relaydesk.domain.policy import MessageView, decide
from relaydesk.services.accounts import User
from relaydesk.services.drafts import may_see

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
PRICE = Buttons("From €49 to €899.\n\nHome or business?", (Button("h", "Home"),))


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def answer(intent: str | None = "pricing", *replies: Text | Buttons | Template) -> Decision:
    return Decision(Action.ANSWER, "v1", intent=intent, confidence=0.9, replies=replies or (PRICE,))


def test_the_example_brief_drafts_pricing_and_answers_the_rest_live(brief: Brief) -> None:
    mode = drafts.brief_modes(brief)
    assert brief.rollout.draft_intents == ["pricing"]
    assert mode("pricing") == "draft"
    assert mode("order_status") == "live"
    assert brief.rollout.draft_timeout == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("value", "message"),
    [("0s", "is zero; a duration must be longer than 0s"), ("soon", "is not a duration")],
)
def test_a_bad_draft_timeout_names_the_field_and_the_fix(
    tmp_path: Path, value: str, message: str
) -> None:
    text = EXAMPLE_BRIEF.read_text()
    assert "draft_timeout: 15m" in text
    path = tmp_path / "brief.yaml"
    path.write_text(text.replace("draft_timeout: 15m", f"draft_timeout: {value}"))
    with pytest.raises(BriefError) as caught:
        load_brief(path)
    (problem,) = caught.value.problems
    assert problem.field_path == "rollout.draft_timeout"
    assert message in str(problem)


def test_a_pricing_question_is_held_exactly_as_the_policy_composed_it(brief: Brief) -> None:
    decision = decide(
        ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=NOW),
        MessageView("text", "how much does the oak side table cost", None, NOW),
        Understanding("pricing", 0.95),
        brief,
        NOW,
    )
    held = drafts.held(decision, drafts.brief_modes(brief))
    assert decision.action is Action.ANSWER
    assert held is not None and held == decision.replies[0]
    assert isinstance(held, Buttons) and [b.title for b in held.buttons] == [
        "For my home",
        "For a business",
    ]


@pytest.mark.parametrize(
    "decision",
    [
        answer("order_status"),  # live intent
        answer(None),
        replace(answer(), action=Action.CLARIFY),
        replace(answer(), action=Action.ESCALATE),
        answer("pricing", Text("one"), Text("two")),  # not one message
        answer("pricing", Template("reengage", "en")),
    ],
)
def test_only_one_answer_message_of_a_draft_intent_is_held(decision: Decision) -> None:
    assert drafts.held(decision, lambda intent: "draft" if intent == "pricing" else "live") is None


def test_off_and_live_modes_hold_nothing() -> None:
    assert drafts.held(answer(), lambda _: "live") is None
    assert drafts.held(answer(), lambda _: "off") is None


def test_an_edit_replaces_the_text_and_keeps_the_buttons() -> None:
    edited = drafts.edited(PRICE, "  From €59. Home or business?  ")
    assert isinstance(edited, Buttons)
    assert (edited.body, edited.buttons) == ("From €59. Home or business?", PRICE.buttons)
    assert drafts.edited(Text("a", preview_url=True), "b") == Text("b", preview_url=True)


@pytest.mark.parametrize(
    ("content", "text", "message"),
    [
        (PRICE, "x" * 1025, "1025 characters; a message with buttons takes 1 to 1024"),
        (PRICE, "   ", "0 characters; a message with buttons takes 1 to 1024"),
        (Text("a"), "x" * 4097, "4097 characters; WhatsApp takes 1 to 4096"),
        (Template("t", "en"), "x", "a draft is a text or buttons message, not Template"),
    ],
)
def test_an_edit_whatsapp_would_refuse_names_the_limit(
    content: Text | Buttons | Template, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        drafts.edited(content, text)


def test_sent_unchanged_means_the_same_words() -> None:
    assert drafts.outcome_of_edit("From €49.\n\nHome?", "From €49.\r\n\r\nHome?") == (0.0, True)
    distance, unchanged = drafts.outcome_of_edit("From €49. Home?", "From €59. Home?")
    assert not unchanged and 0 < distance < 0.2
    assert drafts.outcome_of_edit("abc", "xyz") == (1.0, False)


def test_a_draft_is_due_at_its_limit() -> None:
    limit = timedelta(minutes=15)
    assert not drafts.is_due(NOW, limit, NOW + limit - timedelta(seconds=1))
    assert drafts.is_due(NOW, limit, NOW + limit)


def test_a_rejected_draft_escalates_to_the_intents_queue_with_the_handoff_message(
    brief: Brief,
) -> None:
    outcome = drafts.escalation(
        brief,
        intent="pricing",
        confidence=0.9,
        reason="draft_rejected",
        dialogue=DialogueState(),
        language="en",
        now=NOW,
    )
    decision = outcome.decision
    assert decision.action is Action.ESCALATE
    assert decision.status_after is ConversationStatus.QUEUED
    assert [t.type for t in decision.triggers] == ["draft_rejected"]
    assert "rejected the bot's pricing draft" in decision.triggers[0].detail
    intent = brief.intents["pricing"]
    assert decision.route is not None
    assert decision.route.queue == (intent.queue or brief.policy.default_queue)
    assert decision.route.priority == (intent.priority or brief.policy.default_priority)
    (reply,) = decision.replies
    assert isinstance(reply, Text) and reply.body
    assert outcome.handoff is not None and outcome.handoff.queue == decision.route.queue


def test_an_expired_draft_says_how_long_it_waited(brief: Brief) -> None:
    outcome = drafts.escalation(
        brief,
        intent="unknown_intent",
        confidence=None,
        reason="draft_expired",
        dialogue=DialogueState(),
        language=None,
        now=NOW,
    )
    (trigger,) = outcome.decision.triggers
    assert trigger.type == "draft_expired" and "waited 15m unhandled" in trigger.detail
    assert outcome.decision.route is not None
    assert outcome.decision.route.queue == brief.policy.default_queue


def draft(state: str, conversation_status: str, **values: object) -> Draft:
    base = Draft(
        id=1,
        conversation_id=2,
        message_id=3,
        intent="pricing",
        confidence=0.9,
        text="x",
        content={},
        state=state,
        created_at=NOW,
        handled_at=None,
        handled_by=None,
        handled_by_name=None,
        sent_text=None,
        edit_distance=None,
        unchanged=None,
        outbox_id=None,
        conversation_status=conversation_status,
        assignee_id=None,
        language=None,
        customer_name=None,
    )
    return replace(base, **values)  # type: ignore[arg-type]


AGENT = User(7, "a@example.com", "A", "agent")
LEAD = User(8, "l@example.com", "L", "supervisor")


@pytest.mark.parametrize(
    ("item", "agent_sees"),
    [
        (draft("pending", "bot"), True),  # waits for anyone, like a queued conversation
        (draft("sent", "bot", handled_by=7), True),  # they sent it
        (draft("sent", "bot", handled_by=9), False),
        (draft("rejected", "queued", handled_by=9), True),  # the queue is visible
        (draft("expired", "assigned", assignee_id=9), False),
        (draft("expired", "assigned", assignee_id=7), True),
        (draft("pending", "assigned", assignee_id=9), False),
    ],
)
def test_who_sees_a_draft(item: Draft, agent_sees: bool) -> None:
    assert may_see(AGENT, item) is agent_sees
    assert may_see(LEAD, item)
