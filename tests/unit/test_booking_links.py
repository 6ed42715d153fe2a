"""Tracked booking links as pure functions: tokens that only this secret makes, the
booking step's message pointed at the tracked link, and the qualified and conversions
figures on hand-made conversations."""

from __future__ import annotations

from datetime import UTC, datetime

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import policy
from relaydesk.domain.decision import Action, Decision
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.metric_facts import ConversationFacts, DecisionFact
from relaydesk.domain.outbound import Text
from relaydesk.services.links import BookingLinks

BRIEF = load_brief(EXAMPLE_BRIEF)
PRICING = BRIEF.playbooks.pricing
AT = datetime(2026, 11, 23, 10, tzinfo=UTC)
LINKS = BookingLinks("a secret of the tests", "https://desk.example.com/")


def test_a_token_names_its_conversation_and_nothing_else_does() -> None:
    token = LINKS.token(42)
    assert LINKS.url_for(42) == f"https://desk.example.com/r/{token}"
    assert token.startswith("42-") and len(token) == 3 + 22
    assert LINKS.conversation_of(token) == 42
    other = BookingLinks("another secret", "https://desk.example.com")
    assert other.conversation_of(token) is None
    number, _, signature = token.partition("-")
    for forged in (
        f"43-{signature}",
        f"042-{signature}",
        f"{number}-{signature[:-1]}",
        f"{number}-",
        f"-{signature}",
        "42",
        "",
        "٤٢-" + signature,  # non-ASCII digits
        token + "x" * 40,
    ):
        assert LINKS.conversation_of(forged) is None, forged


def booking_outcome() -> policy.Outcome:
    assert PRICING is not None
    reply = policy.booking_reply(PRICING, str(PRICING.booking_link.url))
    decision = Decision(
        Action.ANSWER,
        BRIEF.version,
        intent="pricing",
        confidence=1.0,
        replies=(reply,),
        detail={"playbook": "pricing", "step": "book", "qualified_as": "pricing_home"},
    )
    return policy.Outcome(decision, DialogueState())


def test_the_booking_step_sends_the_tracked_link_instead_of_the_briefs() -> None:
    assert PRICING is not None
    tracked = policy.with_booking_url(booking_outcome(), PRICING, LINKS.url_for(7))
    (reply,) = tracked.decision.replies
    assert isinstance(reply, Text)
    assert reply.body.endswith(f"Book a call: {LINKS.url_for(7)}")
    assert str(PRICING.booking_link.url) not in reply.body
    assert tracked.decision.detail["tracked"] is True
    answer = Decision(Action.ANSWER, BRIEF.version, intent="pricing", replies=(Text("hi"),))
    other = policy.Outcome(answer, DialogueState())
    assert policy.with_booking_url(other, PRICING, LINKS.url_for(7)) is other


def conv(cid: int, *, offered: bool, clicked: bool) -> ConversationFacts:
    decisions = (DecisionFact(AT, "answer", "pricing", ()),)
    if offered:
        decisions += (DecisionFact(AT, "answer", "pricing", (), booking=True),)
    return ConversationFacts(
        id=cid,
        customer_id=cid,
        number="111",
        source="organic",
        created_at=AT,
        status="bot",
        queue=None,
        priority=None,
        assignee_id=None,
        escalated_at=None,
        resolved_at=None,
        csat_state=None,
        csat_rating=None,
        feedback=None,
        decisions=decisions,
        booking_clicked=clicked,
    )


def test_qualified_and_conversions_by_hand() -> None:
    week = [
        conv(1, offered=True, clicked=True),
        conv(2, offered=True, clicked=False),
        conv(3, offered=False, clicked=False),
        conv(4, offered=True, clicked=True),
    ]
    qualified = m.qualified(week)
    assert (qualified.numerator, qualified.denominator) == (3, 4)
    assert qualified.hits == (1, 2, 4)
    converted = m.conversions(week)
    assert (converted.numerator, converted.denominator) == (2, 3)
    assert converted.hits == (1, 4) and converted.value == round(2 / 3, 4)
    assert m.conversions([conv(3, offered=False, clicked=False)]).value is None
