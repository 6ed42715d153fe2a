"""The first decision policy: answer with approved copy when confident, otherwise hand the
conversation to a person. A pure function of (state, message, understanding, brief, time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from relaydesk.brief.schema import Brief, Intent
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision, Route, Trigger, Understanding
from relaydesk.domain.outbound import Button, Buttons, OutboundContent, Text

#: Types that carry nothing to answer: reactions, deletions, edits, identity notices.
NOTHING_TO_ANSWER = frozenset({"reaction", "revoke", "edit", "system"})
#: Types the bot reads as text (the parser puts what a person would read in `text`).
READABLE = frozenset({"text", "interactive", "button", "request_welcome"})
HUMAN_BUTTON = "human"


@dataclass(frozen=True, slots=True)
class MessageView:
    """What the policy needs of an inbound message."""

    type: str
    text: str | None
    reply_id: str | None
    sent_at: datetime


def decide(
    state: ConversationState,
    message: MessageView,
    understanding: Understanding,
    brief: Brief,
    now: datetime,
) -> Decision:
    version = brief.version
    if state.status in (ConversationStatus.QUEUED, ConversationStatus.ASSIGNED):
        return Decision(
            Action.SILENT, version, detail={"reason": f"conversation is {state.status.value}"}
        )
    if message.type in NOTHING_TO_ANSWER:
        return Decision(Action.IGNORE, version, detail={"reason": f"{message.type} message"})
    if message.type not in READABLE:
        trigger = Trigger("unsupported_type", f"{message.type} message", 1.0, 1.0)
        return _escalate(brief, None, None, (trigger,), now)
    if message.reply_id == HUMAN_BUTTON:
        trigger = Trigger("human_request", "tapped the talk-to-a-person button", 1.0, 1.0)
        return _escalate(brief, None, None, (trigger,), now)
    intent_name, confidence = understanding.intent, understanding.confidence
    if intent_name is None or intent_name not in brief.intents:
        trigger = Trigger("low_confidence", "no intent matched", confidence, _threshold(brief))
        return _escalate(brief, None, confidence, (trigger,), now)
    intent = brief.intents[intent_name]
    threshold = brief.confidence_threshold(intent_name)
    if intent.policy == "escalate":
        trigger = Trigger("policy_matrix", f"{intent_name} is escalate-only", confidence, threshold)
        return _escalate(brief, intent_name, confidence, (trigger,), now)
    if confidence < threshold or intent.answers is None:
        trigger = Trigger("low_confidence", f"best intent {intent_name}", confidence, threshold)
        return _escalate(brief, intent_name, confidence, (trigger,), now)
    return Decision(
        Action.ANSWER,
        version,
        intent=intent_name,
        confidence=confidence,
        replies=(_answer(intent, brief),),
        detail={"example": understanding.example, "length": brief.policy.answer_length},
    )


def _threshold(brief: Brief) -> float:
    return brief.policy.confidence_threshold


def _answer(intent: Intent, brief: Brief) -> OutboundContent:
    if intent.answers is None:  # guarded by the caller; keeps mypy honest
        raise ValueError("intent has no approved answers")
    body = intent.answers.get(brief.policy.answer_length)
    action = intent.next_action
    if action is None:
        return Text(body)
    if action.link is not None:
        return Text(f"{body}\n\n{action.link.label}: {action.link.url}", preview_url=True)
    buttons = tuple(Button(id=b.reply_id, title=b.title) for b in action.buttons)
    return Buttons(body=body, buttons=buttons)


def _escalate(
    brief: Brief,
    intent_name: str | None,
    confidence: float | None,
    triggers: tuple[Trigger, ...],
    now: datetime,
) -> Decision:
    intent = brief.intents.get(intent_name) if intent_name else None
    queue = (intent.queue if intent else None) or brief.policy.default_queue
    priority = (intent.priority if intent else None) or brief.policy.default_priority
    team = brief.queues[queue]
    wait = brief.slas[priority].first_response if priority in brief.slas else None
    message = brief.handoff.message.format_map(
        _Copy(
            team=queue.replace("_", " "),
            wait=_humanise(wait) if wait else "shortly",
            business=brief.business.name,
            customer_name="",
        )
    )
    return Decision(
        Action.ESCALATE,
        brief.version,
        intent=intent_name,
        confidence=confidence,
        triggers=triggers,
        replies=(Text(message),),
        route=Route(queue=queue, tier=team.tier, priority=priority),
        status_after=ConversationStatus.QUEUED,
        detail={"wait_basis": "sla_first_response", "at": now.isoformat()},
    )


class _Copy(dict[str, str]):
    """Placeholders the copy may use; an unknown one is left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _humanise(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minutes"
    hours = minutes // 60
    return f"{hours} hour" + ("s" if hours != 1 else "")
