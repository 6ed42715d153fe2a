"""The pricing playbook's two steps: the price range with one qualification question, then
the booking link for a qualified customer (pointed at a tracked redirect by the service)."""

from __future__ import annotations

from dataclasses import replace

from relaydesk.brief.schema import Brief, PricingPlaybook
from relaydesk.domain.decision import Action, Decision, Trigger, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.outbound import Button, Buttons, Text
from relaydesk.domain.outcome import Outcome


def question(
    brief: Brief,
    pricing: PricingPlaybook,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
) -> Outcome:
    """Pricing playbook, step 1: the range and one qualification question."""
    reply = Buttons(
        body=f"{pricing.range}\n\n{pricing.question}",
        buttons=tuple(Button(id=o.reply_id, title=o.title) for o in pricing.options),
    )
    decision = Decision(
        Action.ANSWER,
        brief.version,
        intent=pricing.intent,
        confidence=understanding.confidence,
        triggers=triggers,
        replies=(reply,),
        detail={"playbook": "pricing", "step": "qualify"},
    )
    dialogue = replace(
        after.with_reply(reply.body, tried="gave the price range and asked one question"),
        clarifications=0,
        last_answer_intent=pricing.intent,
    )
    return Outcome(decision, dialogue)


def booking(
    brief: Brief,
    pricing: PricingPlaybook,
    option: str,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
) -> Outcome:
    """Pricing playbook, step 2: the customer qualified; offer the booking link."""
    reply = booking_reply(pricing, str(pricing.booking_link.url))
    decision = Decision(
        Action.ANSWER,
        brief.version,
        intent=pricing.intent,
        confidence=1.0,
        triggers=triggers,
        replies=(reply,),
        detail={"playbook": "pricing", "step": "book", "qualified_as": option},
    )
    dialogue = after.with_reply(reply.body, tried=f"offered a booking link ({option})")
    return Outcome(decision, replace(dialogue, clarifications=0))


def booking_reply(pricing: PricingPlaybook, url: str) -> Text:
    """The booking step's message, with the link to `url`."""
    return Text(f"{pricing.follow_up}\n\n{pricing.booking_link.label}: {url}", preview_url=True)


def with_booking_url(outcome: Outcome, pricing: PricingPlaybook, url: str) -> Outcome:
    """The outcome with the booking step's link pointing at `url` (a tracked redirect);
    any other outcome as it is."""
    decision = outcome.decision
    if decision.detail.get("playbook") != "pricing" or decision.detail.get("step") != "book":
        return outcome
    tracked = replace(
        decision,
        replies=(booking_reply(pricing, url),),
        detail={**decision.detail, "tracked": True},
    )
    return replace(outcome, decision=tracked)
