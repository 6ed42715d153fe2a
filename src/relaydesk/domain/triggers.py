"""Escalation triggers: each a pure check of (conversation, message, understanding, brief)
that returns a record {type, detail, score, threshold} when it fires."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from relaydesk.brief.schema import Brief
from relaydesk.domain.decision import Trigger, Understanding
from relaydesk.domain.dialogue import DialogueState, normalise, similarity

HUMAN_REQUEST_THRESHOLD = 0.5
#: Repeating a message this short is chit-chat ("hi", "ok?"), not a question asked again.
MIN_REPEAT_CHARS = 12
QUESTION = "question"  #: Understanding.mode of a message asking about a topic


@dataclass(frozen=True, slots=True)
class TriggerInput:
    message_type: str
    text: str | None
    reply_id: str | None
    understanding: Understanding
    dialogue: DialogueState
    attributes: Mapping[str, str] = field(default_factory=dict)


def fire(brief: Brief, given: TriggerInput) -> tuple[Trigger, ...]:
    """Every trigger that fires for this message, in a stable order."""
    checks = (
        _unsupported_type,
        _human_request,
        _keywords,
        _policy_matrix,
        _negative_sentiment,
        _frustration,
        _sentiment_trend,
        _repeated_question,
        _low_confidence,
        _attributes,
    )
    fired: list[Trigger] = []
    for check in checks:
        fired.extend(check(brief, given))
    return tuple(fired)


def is_low_confidence(brief: Brief, understanding: Understanding) -> bool:
    return (
        understanding.intent is None
        or understanding.out_of_scope
        or understanding.confidence < brief.policy.clarify_threshold
    )


def _unsupported_type(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.unsupported_types
    if not config.enabled or given.message_type not in config.types:
        return []
    return [
        Trigger(
            "unsupported_type",
            f"a {given.message_type} message the bot cannot read",
            1.0,
            1.0,
            queue=config.queue,
            priority=config.priority,
        )
    ]


def _human_request(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.human_request
    if not config.enabled:
        return []
    u = given.understanding
    if given.reply_id == "human":
        score, detail = 1.0, "tapped the talk-to-a-person button"
    elif u.human_request >= HUMAN_REQUEST_THRESHOLD:
        score, detail = u.human_request, f"asked for a person: {u.human_request_phrase!r}"
    else:
        return []
    return [
        Trigger(
            "human_request",
            detail,
            score,
            HUMAN_REQUEST_THRESHOLD,
            queue=config.queue,
            priority=config.priority,
        )
    ]


@lru_cache(maxsize=256)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(normalise(keyword))}(?!\w)")


@lru_cache(maxsize=16)
def _any_keyword(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that matches wherever one of `keywords`' own patterns does."""
    either = "|".join(re.escape(normalise(k)) for k in keywords)
    return re.compile(rf"(?<!\w)(?:{either})(?!\w)")


def _keywords(brief: Brief, given: TriggerInput) -> list[Trigger]:
    rules = brief.triggers.keywords
    if not given.text or not rules:
        return []
    text = normalise(given.text)
    if not _any_keyword(tuple(k for rule in rules for k in rule.keywords)).search(text):
        return []  # most messages name no keyword: one search instead of one per keyword
    fired = []
    for rule in rules:
        hit = next((k for k in rule.keywords if _keyword_pattern(k).search(text)), None)
        if hit is not None:
            asks = given.understanding.mode == QUESTION
            fired.append(
                Trigger(
                    "keyword",
                    f"mentions {hit!r}" + (" in a question" if asks else ""),
                    1.0,
                    1.0,
                    queue=rule.queue,
                    priority=rule.priority,
                    escalates=rule.escalate is True or (rule.escalate == "request" and not asks),
                )
            )
    return fired


def _policy_matrix(brief: Brief, given: TriggerInput) -> list[Trigger]:
    u = given.understanding
    if u.intent is None or u.out_of_scope or u.intent not in brief.intents:
        return []
    intent = brief.intents[u.intent]
    threshold = brief.confidence_threshold(u.intent)
    if intent.action(u.mode) != "escalate" or u.confidence < threshold:
        return []
    detail = (
        f"{u.intent} is escalate-only"
        if isinstance(intent.policy, str)
        else f"a {u.mode or 'request'} about {u.intent} escalates"
        + (f" ({u.mode_cue!r})" if u.mode_cue else "")
    )
    return [
        Trigger(
            "policy_matrix",
            detail,
            u.confidence,
            threshold,
            queue=intent.queue,
            priority=intent.priority,
        )
    ]


def _negative_sentiment(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.sentiment
    u = given.understanding
    if not config.enabled or u.sentiment > config.negative_below:
        return []
    return [
        Trigger(
            "negative_sentiment",
            f"sentiment {u.sentiment:+.2f}, frustration {u.frustration:.2f}",
            u.sentiment,
            config.negative_below,
            priority=config.priority,
        )
    ]


def _frustration(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.sentiment
    u = given.understanding
    if not config.enabled or u.frustration < config.frustration_above:
        return []
    if u.sentiment <= config.negative_below:
        return []  # already reported as negative sentiment
    return [
        Trigger(
            "frustration",
            f"frustration {u.frustration:.2f}, sentiment {u.sentiment:+.2f}",
            u.frustration,
            config.frustration_above,
            priority=config.priority,
        )
    ]


def _sentiment_trend(brief: Brief, given: TriggerInput) -> list[Trigger]:
    """Sentiment falling over the last turns: patience running out, message by message."""
    config = brief.triggers.sentiment
    if not config.enabled:
        return []
    window = [t.sentiment for t in given.dialogue.turns][-(config.trend_turns - 1) :]
    scores = [*window, given.understanding.sentiment]
    if len(scores) < config.trend_turns:
        return []
    drop = max(scores[:-1]) - scores[-1]
    if drop < config.trend_drop or scores[-1] >= 0:
        return []
    return [
        Trigger(
            "frustration_trend",
            f"sentiment fell by {drop:.2f} over the last {len(scores)} messages",
            drop,
            config.trend_drop,
            priority=config.priority,
        )
    ]


def _repeated_question(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.repeated_question
    if not config.enabled or not given.text or len(normalise(given.text)) < MIN_REPEAT_CHARS:
        return []
    recent = given.dialogue.turns[-config.within_turns :]
    best = max((similarity(given.text, turn.text) for turn in recent), default=0.0)
    if best < config.similarity:
        return []
    return [
        Trigger(
            "repeated_question",
            "asked the same thing again",
            best,
            config.similarity,
        )
    ]


def _low_confidence(brief: Brief, given: TriggerInput) -> list[Trigger]:
    config = brief.triggers.low_confidence
    if not config.enabled or not is_low_confidence(brief, given.understanding):
        return []
    if given.message_type not in ("text", "interactive", "button"):
        return []
    streak = given.dialogue.low_confidence_streak + 1
    if streak < config.consecutive:
        return []
    return [
        Trigger(
            "low_confidence",
            f"{streak} messages in a row the bot could not understand",
            float(streak),
            float(config.consecutive),
        )
    ]


def _attributes(brief: Brief, given: TriggerInput) -> list[Trigger]:
    fired = []
    for rule in brief.triggers.attributes:
        if given.attributes.get(rule.attribute, "").lower() == rule.equals.lower():
            fired.append(
                Trigger(
                    "customer_attribute",
                    f"{rule.attribute} = {rule.equals}",
                    1.0,
                    1.0,
                    queue=rule.queue,
                    priority=rule.priority,
                    min_tier=rule.min_tier,
                    escalates=False,
                )
            )
    return fired
