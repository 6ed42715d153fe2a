"""Draft mode, as pure functions: which intents the bot only drafts for, which answers are
held as drafts, what an agent's edit makes of a draft, whether a draft is past its limit,
and the escalation that hands a rejected or expired draft's conversation to people.
No I/O and no clock: time is a parameter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from relaydesk.brief.schema import Brief, format_duration
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.decision import Action, Decision, Route, Trigger
from relaydesk.domain.desk import edit_distance
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.outbound import Buttons, OutboundContent, Text
from relaydesk.domain.policy import HandoffDraft, Outcome, with_wait

Mode = Literal["off", "draft", "live"]
#: Which mode an intent is in: `draft` holds the bot's answer for a person's approval.
IntentMode = Callable[[str], Mode]

#: The states of a draft: waiting, then exactly one of the others.
PENDING = "pending"
SENT = "sent"  #: approved, as drafted or edited; its message is queued
REJECTED = "rejected"  #: an agent rejected it; the conversation went to people
EXPIRED = "expired"  #: nobody handled it within the brief's limit; it went to people
STATES = (PENDING, SENT, REJECTED, EXPIRED)

#: WhatsApp's limits on what an edit may make of a draft's body.
TEXT_MAX = 4096
BUTTONS_BODY_MAX = 1024


def brief_modes(brief: Brief) -> IntentMode:
    """The modes the brief starts with: `rollout.draft_intents` in draft, the rest live."""
    drafted = frozenset(brief.rollout.draft_intents)

    def mode(intent: str) -> Mode:
        return "draft" if intent in drafted else "live"

    return mode


def held(decision: Decision, mode: IntentMode) -> OutboundContent | None:
    """The reply to hold as a draft instead of sending it, or None to send as decided: an
    answer (not a clarifying question, an escalation's handoff message or a cancellation)
    of an intent in draft mode, one text or buttons message."""
    if decision.action is not Action.ANSWER or decision.intent is None:
        return None
    if mode(decision.intent) != "draft" or len(decision.replies) != 1:
        return None
    (reply,) = decision.replies
    return reply if isinstance(reply, Text | Buttons) else None


def body_of(content: OutboundContent) -> str:
    """What the agent reads and may edit: the message's text (buttons stay as drafted)."""
    if isinstance(content, Text | Buttons):
        return content.body
    raise ValueError(f"a draft is a text or buttons message, not {type(content).__name__}")


def edited(content: OutboundContent, text: str) -> OutboundContent:
    """The draft with its text replaced by `text` (its buttons kept); ValueError naming
    the limit when WhatsApp would refuse it."""
    body = text.strip()
    if isinstance(content, Buttons):
        if not 1 <= len(body) <= BUTTONS_BODY_MAX:
            raise ValueError(
                f"the text is {len(body)} characters; a message with buttons takes 1 to "
                f"{BUTTONS_BODY_MAX}"
            )
        return replace(content, body=body)
    if isinstance(content, Text):
        if not 1 <= len(body) <= TEXT_MAX:
            raise ValueError(f"the text is {len(body)} characters; WhatsApp takes 1 to {TEXT_MAX}")
        return replace(content, body=body)
    raise ValueError(f"a draft is a text or buttons message, not {type(content).__name__}")


def outcome_of_edit(drafted: str, sent: str) -> tuple[float, bool]:
    """(edit distance, sent unchanged) of what was sent against the draft."""
    distance = edit_distance(drafted, sent)
    return distance, distance == 0.0


def is_due(created_at: datetime, timeout: timedelta, now: datetime) -> bool:
    """Whether a pending draft created at `created_at` is past the brief's limit."""
    return now >= created_at + timeout


def escalation(
    brief: Brief,
    *,
    intent: str,
    confidence: float | None,
    reason: Literal["draft_rejected", "draft_expired"],
    dialogue: DialogueState,
    language: str | None,
    now: datetime,
) -> Outcome:
    """The conversation of a rejected or expired draft goes to people as any escalation
    does: the intent's queue and priority (else the brief's defaults), the one handoff
    message (worded with the SLA's target; the service re-words it from the live queue
    with `with_wait`)."""
    known = brief.intents.get(intent)
    queue = known.queue if known and known.queue in brief.queues else None
    queue = queue or brief.policy.default_queue
    priority = (known.priority if known else None) or brief.policy.default_priority
    waited = format_duration(brief.rollout.draft_timeout)
    detail = (
        f"an agent rejected the bot's {intent} draft"
        if reason == "draft_rejected"
        else f"the bot's {intent} draft waited {waited} unhandled"
    )
    decision = Decision(
        Action.ESCALATE,
        brief.version,
        intent=intent,
        confidence=confidence,
        triggers=(Trigger(reason, detail, 1.0, 1.0),),
        route=Route(queue=queue, tier=brief.queues[queue].tier, priority=priority),
        status_after=ConversationStatus.QUEUED,
        detail={"tried": list(dialogue.tried), "at": now.isoformat()},
    )
    draft = HandoffDraft(queue, priority, (), dialogue, language)
    return with_wait(Outcome(decision, dialogue, draft), brief, None, now)
