"""The escalation policy: answer, clarify or escalate, as a pure function of the
conversation, the new message's understanding, the brief and the time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from relaydesk.brief.schema import Brief, Intent
from relaydesk.domain import escalation, handoff, knowledge_answers
from relaydesk.domain import pricing as pricing_playbook
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision, Trigger, Understanding
from relaydesk.domain.dialogue import DialogueState, Turn
from relaydesk.domain.escalation import hand_over as hand_over  # re-exported
from relaydesk.domain.escalation import with_wait as with_wait  # re-exported
from relaydesk.domain.knowledge import Hit, parse_reply_id, topic_of
from relaydesk.domain.outbound import Button, Buttons, OutboundContent, Text
from relaydesk.domain.outcome import HandoffDraft as HandoffDraft  # re-exported
from relaydesk.domain.outcome import MessageView as MessageView  # re-exported
from relaydesk.domain.outcome import Outcome as Outcome  # re-exported
from relaydesk.domain.pricing import booking_reply as booking_reply  # re-exported
from relaydesk.domain.pricing import with_booking_url as with_booking_url  # re-exported
from relaydesk.domain.triggers import (
    HUMAN_REQUEST_THRESHOLD,
    TriggerInput,
    fire,
    is_low_confidence,
)

#: Types that carry nothing to answer: reactions, deletions, edits, identity notices.
NOTHING_TO_ANSWER = frozenset({"reaction", "revoke", "edit", "system"})
#: Types the bot reads as text (the parser puts what a person would read in `text`).
READABLE = frozenset({"text", "interactive", "button", "request_welcome"})
HUMAN_BUTTON = "human"
#: The default title of the button that asks for a person (the brief's
#: `fallback.talk_to_person`, which may be given per language).
HUMAN_BUTTON_TITLE = "Talk to a person"
CANCEL_THRESHOLD = 0.5
#: How many of the likeliest intents an unplaced request is checked against.
UNPLACED_TOP = 2


def decide(
    state: ConversationState,
    message: MessageView,
    understanding: Understanding,
    brief: Brief,
    now: datetime,
    dialogue: DialogueState | None = None,
) -> Decision:
    """The decision alone (see `step` for the dialogue state too)."""
    return step(state, message, understanding, brief, now, dialogue or DialogueState()).decision


def step(
    state: ConversationState,
    message: MessageView,
    understanding: Understanding,
    brief: Brief,
    now: datetime,
    dialogue: DialogueState,
) -> Outcome:
    version = brief.version
    if state.status is ConversationStatus.QUEUED:
        return Outcome(_while_queued(state, understanding, brief, version), dialogue)
    if state.status is ConversationStatus.ASSIGNED:
        silent = Decision(Action.SILENT, version, detail={"reason": "a person owns it"})
        return Outcome(silent, dialogue)
    if message.type in NOTHING_TO_ANSWER:
        ignore = Decision(Action.IGNORE, version, detail={"reason": f"{message.type} message"})
        return Outcome(ignore, dialogue)

    pricing = brief.playbooks.pricing
    if pricing is not None and message.reply_id in {o.reply_id for o in pricing.options}:
        tapped = dialogue.with_turn(Turn(message.text or "", pricing.intent, 1.0))
        return pricing_playbook.booking(brief, pricing, message.reply_id or "", (), tapped)
    chosen = parse_reply_id(message.reply_id)
    if chosen is not None and understanding.knowledge:  # a tapped article (list row)
        tapped = dialogue.with_turn(Turn(message.text or "", None, 1.0))
        hit = understanding.knowledge[0]
        return Outcome(*knowledge_answers.answer(brief, hit, understanding, tapped, tapped=True))
    if message.type == "sticker" and "sticker" not in brief.triggers.unsupported_types.types:
        ignore = Decision(Action.IGNORE, version, detail={"reason": "a sticker"})
        return Outcome(ignore, dialogue)
    if message.type == "text" and is_acknowledgement(message.text) and understanding.sentiment >= 0:
        ignore = Decision(Action.IGNORE, version, detail={"reason": "emoji or symbols only"})
        return Outcome(ignore, dialogue)
    triggers = fire(
        brief,
        TriggerInput(
            message.type,
            message.text,
            message.reply_id,
            understanding,
            dialogue,
            message.attributes,
        ),
    )
    low = message.type not in READABLE or is_low_confidence(brief, understanding)
    turn = Turn(
        message.text or f"[{message.type}]",
        understanding.intent,
        understanding.confidence,
        understanding.sentiment,
        understanding.frustration,
    )
    after = replace(
        dialogue.with_turn(turn),
        low_confidence_streak=dialogue.low_confidence_streak + 1 if low else 0,
    )
    if any(t.escalates for t in triggers):
        return escalation.escalate(brief, understanding, triggers, after, now)
    if (
        pricing is not None
        and understanding.intent == pricing.intent
        and not low
        and understanding.confidence >= brief.confidence_threshold(pricing.intent)
    ):
        return pricing_playbook.question(brief, pricing, understanding, triggers, after)
    if low:
        return _clarify_or_escalate(brief, understanding, triggers, after, now, "no intent fits")
    intent_name = understanding.intent
    if intent_name is None or intent_name not in brief.intents:  # guarded by `low`
        return _clarify_or_escalate(brief, understanding, triggers, after, now, "unknown intent")
    intent = brief.intents[intent_name]
    threshold = brief.confidence_threshold(intent_name)
    action = intent.action(understanding.mode)
    if understanding.confidence < threshold or action == "clarify":
        reason = "below the intent's threshold" if action != "clarify" else "clarify"
        return _clarify_or_escalate(brief, understanding, triggers, after, now, reason)
    if intent.answers is None and _article_hit(intent, understanding) is None:
        return escalation.escalate(
            brief,
            understanding,
            (*triggers, Trigger("no_answer", f"{intent_name} has no approved answer", 1, 1)),
            after,
            now,
        )
    return _answer(brief, intent_name, intent, understanding, triggers, after, dialogue, now)


def is_acknowledgement(text: str | None) -> bool:
    """A message of emoji or symbols only, and no question mark ("👍", "🙏", "ok" is not):
    a nod, like a reaction, with nothing to answer."""
    return bool(text and text.strip()) and not any(c.isalnum() or c in "?¿" for c in text or "")


def _while_queued(
    state: ConversationState, understanding: Understanding, brief: Brief, version: str
) -> Decision:
    """Waiting for a person: silent, unless the customer calls the handoff off."""
    config = brief.triggers.cancel
    asks_again = understanding.human_request >= HUMAN_REQUEST_THRESHOLD
    if config.enabled and understanding.cancel >= CANCEL_THRESHOLD and not asks_again:
        team = (state.queue or brief.policy.default_queue).replace("_", " ")
        trigger = Trigger(
            "handoff_cancelled",
            "the customer called it off",
            understanding.cancel,
            CANCEL_THRESHOLD,
        )
        return Decision(
            Action.ANSWER,
            version,
            intent=understanding.intent,
            confidence=understanding.confidence,
            triggers=(trigger,),
            replies=(Text(_fill(brief.handoff.cancelled, brief, team=team)),),
            status_after=ConversationStatus.BOT,
            detail={"reason": "handoff cancelled"},
        )
    return Decision(Action.SILENT, version, detail={"reason": "waiting for a person"})


def _answer(
    brief: Brief,
    name: str,
    intent: Intent,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
    before: DialogueState,
    now: datetime,
) -> Outcome:
    length = _length(brief, name, before)
    article = _article_hit(intent, understanding)
    reply = (
        _answer_content(brief, name, intent, length)
        if article is None
        else Text(knowledge_answers.answer_text(brief, article, length), preview_url=True)
    )
    body = reply.body if isinstance(reply, Text | Buttons) else ""
    loop = brief.triggers.bot_loop
    if loop.enabled and not intent.repeatable and before.repeats_of(body) + 1 >= loop.repeats:
        trigger = Trigger(
            "bot_loop",
            f"the bot was about to send the {name} answer again",
            float(before.repeats_of(body) + 1),
            float(loop.repeats),
        )
        return escalation.escalate(brief, understanding, (*triggers, trigger), after, now)
    decision = Decision(
        Action.ANSWER,
        brief.version,
        intent=name,
        confidence=understanding.confidence,
        triggers=triggers,
        replies=(reply,),
        detail={
            "length": length,
            "example": understanding.example,
            **(
                {"knowledge": article.as_detail(understanding.knowledge_version)} if article else {}
            ),
            **({"mode": understanding.mode} if understanding.mode else {}),
        },
    )
    dialogue = replace(
        after.with_reply(body, tried=f"answered {name} ({length}{_source(article)})"),
        clarifications=0,
        last_answer_intent=name,
    )
    return Outcome(decision, dialogue)


def _article_hit(intent: Intent, understanding: Understanding) -> Hit | None:
    """The passage of the intent's own article, when it answers from one."""
    if intent.article is None or not understanding.knowledge:
        return None
    found = understanding.knowledge[0]
    return found if topic_of(found.article) == intent.article else None


def _source(article: Hit | None) -> str:
    if article is None:
        return ""
    return f", from the article {article.title!r} ({article.article}#{article.passage})"


def _length(brief: Brief, name: str, before: DialogueState) -> str:
    """The brief's default length; the detailed answer when the same topic comes straight
    back (the shorter one evidently was not enough)."""
    if before.last_answer_intent == name:
        return "detailed"
    return brief.policy.answer_length


def _answer_content(brief: Brief, name: str, intent: Intent, length: str) -> OutboundContent:
    if intent.answers is None:
        raise ValueError(f"intent {name} has no approved answers")
    body = intent.answers.get(length)  # type: ignore[arg-type]
    action = intent.next_action
    if action is None:
        return Text(body)
    if action.link is not None:
        return Text(f"{body}\n\n{action.link.label}: {action.link.url}", preview_url=True)
    buttons = tuple(Button(id=b.reply_id, title=b.title) for b in action.buttons)
    return Buttons(body=body, buttons=buttons)


def _clarify_or_escalate(
    brief: Brief,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
    now: datetime,
    reason: str,
) -> Outcome:
    unplaced = _unplaced_request(brief, understanding)
    if unplaced is not None:
        return escalation.escalate(brief, understanding, (*triggers, unplaced), after, now)
    found = _from_knowledge(brief, understanding, triggers, after, now)
    if found is not None:
        return found
    if after.clarifications >= brief.policy.clarification_limit:
        trigger = Trigger(
            "clarification_limit",
            f"{after.clarifications} clarifying question(s) did not settle it ({reason})",
            float(after.clarifications),
            float(brief.policy.clarification_limit),
        )
        return escalation.escalate(brief, understanding, (*triggers, trigger), after, now)
    options = _likely_intents(brief, understanding)
    buttons = tuple(Button(id=name, title=_title(brief, name)) for name in options)
    if understanding.out_of_scope and brief.fallback.out_of_scope:
        copy = brief.fallback.out_of_scope
    else:
        copy = brief.fallback.clarify if options else brief.fallback.not_understood
    reply = Buttons(
        body=_fill(copy, brief),
        buttons=(*buttons, Button(id=HUMAN_BUTTON, title=brief.fallback.talk_to_person)),
    )
    decision = Decision(
        Action.CLARIFY,
        brief.version,
        intent=understanding.intent,
        confidence=understanding.confidence,
        triggers=triggers,
        replies=(reply,),
        detail={"reason": reason, "options": list(options)},
    )
    dialogue = replace(
        after.with_reply(reply.body, tried="asked a clarifying question"),
        clarifications=after.clarifications + 1,
    )
    return Outcome(decision, dialogue)


def _from_knowledge(
    brief: Brief,
    understanding: Understanding,
    triggers: tuple[Trigger, ...],
    after: DialogueState,
    now: datetime,
) -> Outcome | None:
    """Level 0: the knowledge base's passage when it is sure (a person when it would be
    the same passage again: the bot-loop trigger), the top three articles as a list when
    it is unsure (within the clarification limit), else None (go on as before)."""
    hit = knowledge_answers.confident(brief, understanding)
    if hit is not None:
        decision, dialogue = knowledge_answers.answer(brief, hit, understanding, after)
        body = knowledge_answers.answer_text(brief, hit, brief.policy.answer_length)
        loop = brief.triggers.bot_loop
        if loop.enabled and after.repeats_of(body) + 1 >= loop.repeats:
            trigger = Trigger(
                "bot_loop",
                f"the bot was about to send the passage of {hit.article} again",
                float(after.repeats_of(body) + 1),
                float(loop.repeats),
            )
            return escalation.escalate(brief, understanding, (*triggers, trigger), after, now)
        return Outcome(replace(decision, triggers=triggers), dialogue)
    offered = knowledge_answers.worth_offering(brief, understanding)
    if offered and after.clarifications < brief.policy.clarification_limit:
        decision, dialogue = knowledge_answers.offer(brief, offered, understanding, after)
        return Outcome(replace(decision, triggers=triggers), dialogue)
    return None


def _unplaced_request(brief: Brief, understanding: Understanding) -> Trigger | None:
    """A clear request to act ("el pago falló", "no me llega el código") that the bot cannot
    place for sure, when one of the two likeliest topics is one where the brief sends
    requests to a person and answers questions: asking which topic it is would only delay
    the person."""
    if understanding.mode != "request" or not understanding.mode_cue:
        return None
    for name, probability in understanding.ranking[:UNPLACED_TOP]:
        intent = brief.intents.get(name)
        if intent is not None and intent.actions == {"escalate", "answer"}:
            return Trigger(
                "unplaced_request",
                f"asks us to act ({understanding.mode_cue!r}); {name} is among the likeliest "
                "topics and its requests go to a person",
                probability,
                brief.confidence_threshold(name),
            )
    return None


def _likely_intents(brief: Brief, understanding: Understanding) -> tuple[str, ...]:
    """Up to two answerable intents from the ranking, for the clarify buttons."""
    ranked = [name for name, _ in understanding.ranking] or (
        [understanding.intent] if understanding.intent else []
    )
    usable = [
        name
        for name in ranked
        if name in brief.intents
        and brief.intents[name].action(None) != "escalate"
        and name != "human_request"
    ]
    return tuple(usable[:2])


def _title(brief: Brief, name: str) -> str:
    return (brief.intents[name].title or name.replace("_", " ").capitalize())[:20]


def _fill(copy: str, brief: Brief, **values: str) -> str:
    return handoff.fill(copy, brief, **values)
