"""Escalating: the route (queue, tier, priority) a conversation is handed over on, the
frustrated-customer preface, and the one handoff message, worded from the live queue when
the service has it (`with_wait`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from relaydesk.brief.schema import Brief
from relaydesk.domain import handoff
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.decision import Action, Decision, Route, Trigger, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.language import base_language
from relaydesk.domain.outbound import Text
from relaydesk.domain.outcome import HandoffDraft, Outcome

PRIORITY_ORDER = ("P1", "P2", "P3", "P4")
FRUSTRATION_TRIGGERS = frozenset({"negative_sentiment", "frustration", "frustration_trend"})


def escalate(
    brief: Brief,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
    now: datetime,
) -> Outcome:
    """Queue for a person, with the one handoff message. Without live figures the wait is
    the SLA's first-response target; the service re-renders it from the live queue with
    `with_wait` (the policy stays a pure function)."""
    frustrated_playbook = brief.playbooks.frustrated
    extra = (
        (frustrated_playbook.priority,)
        if frustrated_playbook and any(t.type in FRUSTRATION_TRIGGERS for t in triggers)
        else ()
    )
    route = _route(brief, understanding, triggers, extra)
    frustrated = any(t.type in ("negative_sentiment", "frustration_trend") for t in triggers)
    preface = _frustrated_preface(brief, understanding) if frustrated else ()
    decision = Decision(
        Action.ESCALATE,
        brief.version,
        intent=understanding.intent,
        confidence=understanding.confidence,
        triggers=triggers,
        route=route,
        status_after=ConversationStatus.QUEUED,
        detail={
            "playbook": "frustrated_customer" if frustrated else None,
            "sentiment": understanding.sentiment,
            "frustration": understanding.frustration,
            "tried": list(after.tried),
            "at": now.isoformat(),
        },
    )
    draft = HandoffDraft(route.queue, route.priority, preface, after, understanding.language)
    return with_wait(Outcome(decision, after, draft), brief, None, now)


def hand_over(
    brief: Brief,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    dialogue: DialogueState,
    now: datetime,
    preface: tuple[str, ...] = (),
) -> Outcome:
    """An escalation decided outside the policy (the rollout holding the bot back), with
    `preface` said before the handoff message."""
    outcome = escalate(brief, understanding, triggers, dialogue, now)
    if not preface or outcome.handoff is None:
        return outcome
    draft = replace(outcome.handoff, preface=(*preface, *outcome.handoff.preface))
    return with_wait(replace(outcome, handoff=draft), brief, None, now)


def with_wait(
    outcome: Outcome, brief: Brief, snapshot: handoff.QueueSnapshot | None, now: datetime
) -> Outcome:
    """An escalation's outcome with its handoff message worded from `snapshot` (the live
    queue it joins; None: no live figures) and the figures in the decision's detail.
    Anything but an escalation is returned as it is."""
    draft = outcome.handoff
    if draft is None:
        return outcome
    brief = brief.localized(draft.language)  # the customer's language, where the brief has it
    estimate = handoff.estimate_wait(brief, draft.priority, snapshot, now)
    text = handoff.handoff_text(brief, draft.queue, estimate, now)
    body = "\n\n".join((*draft.preface, text))
    decision = replace(
        outcome.decision,
        replies=(Text(body),),
        detail={**outcome.decision.detail, **estimate.as_detail()},
    )
    dialogue = replace(draft.dialogue.with_reply(body, tried="escalated"), clarifications=0)
    return Outcome(decision, dialogue, draft)


def _frustrated_preface(brief: Brief, understanding: Understanding) -> tuple[str, ...]:
    """Acknowledge, and offer one troubleshooting step if the brief has one for the intent
    (the handoff message follows)."""
    frustrated = brief.playbooks.frustrated
    if frustrated is None:
        return ()
    step_text = (
        frustrated.troubleshooting.get(understanding.intent or "") if understanding.intent else None
    )
    return (handoff.fill(frustrated.acknowledge, brief), *((step_text,) if step_text else ()))


def _route(
    brief: Brief,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    extra_priorities: tuple[str, ...] = (),
) -> Route:
    intent = brief.intents.get(understanding.intent or "") if understanding.intent else None
    if intent is not None and (
        understanding.out_of_scope
        or understanding.confidence < brief.confidence_threshold(understanding.intent or "")
    ):
        intent = None  # an unsettled guess does not choose the queue
    keywords = sorted(
        (t for t in triggers if t.queue and t.type == "keyword"),
        key=lambda t: PRIORITY_ORDER.index(t.priority or brief.policy.default_priority),
    )
    specific = [t.queue for t in keywords]
    queue = (
        (specific[0] if specific else None)
        or _language_queue(brief, understanding.language)
        or (intent.queue if intent else None)
        or next((t.queue for t in triggers if t.queue), None)
        or brief.policy.default_queue
    )
    priorities = [t.priority for t in triggers if t.priority] + list(extra_priorities)
    if intent is not None and intent.priority:
        priorities.append(intent.priority)
    priority = min(priorities or [brief.policy.default_priority], key=PRIORITY_ORDER.index)
    min_tier = max((t.min_tier for t in triggers if t.min_tier), default=None)
    if min_tier is not None and brief.queues[queue].tier < min_tier:
        queue = _queue_at_tier(brief, queue, min_tier)
    return Route(queue=queue, tier=brief.queues[queue].tier, priority=priority)


def _language_queue(brief: Brief, language: str | None) -> str | None:
    """The queue the brief routes customers writing in `language` to, if any."""
    if language is None:
        return None
    wanted = base_language(language)
    for name, queue in brief.queues.items():
        if any(base_language(code) == wanted for code in queue.customer_languages):
            return name
    return None


def _queue_at_tier(brief: Brief, queue: str, min_tier: int) -> str:
    """The first queue up the ladder from `queue` at `min_tier` or above."""
    for step_ in brief.ladder:
        for candidate in step_.queue:
            if brief.queues[candidate].tier >= min_tier:
                return candidate
    return next((name for name, q in brief.queues.items() if q.tier >= min_tier), queue)
