"""The pre-launch rubric: accuracy, tone and actionability of one replayed bot turn, each
scored 0, 1 or 2 with the reason, from the brief's tone guide and the history's labels.

Accuracy compares what the bot did with what should have happened: the turn's labels
(`needs_human`, `intent`, `queue`) where the history has them, otherwise what the business
did in the history (a person answered the turn, or the old bot did). A history with no bot
in it and no labels says nothing about a turn, so that turn's accuracy is not scored.

Tone: banned phrases and replies that read like one of the guide's anti-patterns score 0;
a reply longer than the guide allows for its kind, or one that misses a checked required
element, loses a point each. Actionability: a reply that ends in a next step (a link,
buttons, a question, a handoff) scores 2, and so does a social reply (an intent the brief
marks `repeatable`, such as thanks and goodbyes); one with a next step elsewhere scores 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from relaydesk.brief.schema import Brief

_WORD = re.compile(r"[\w']+")
_LINK = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ORDER_NUMBER = re.compile(r"\b[A-Z]{2,4}-?\d{4,}\b")
#: how alike (cosine of word counts) a reply and an anti-pattern's example must be for the
#: reply to count as that anti-pattern
ANTI_PATTERN_SIMILARITY = 0.6
NO_NEXT_STEP = "no clear next step at the end"


@dataclass(frozen=True, slots=True)
class Score:
    value: int  #: 0, 1 or 2
    reason: str


@dataclass(frozen=True, slots=True)
class Expected:
    """What should have happened at a customer turn, as far as the history tells."""

    needs_human: bool | None
    intent: str | None = None
    queue: str | None = None
    basis: str = "labels"  #: "labels", "history" (what the business did) or "none"


@dataclass(frozen=True, slots=True)
class BotTurn:
    """What the bot did at one customer turn (from the replay)."""

    customer_text: str
    escalated: bool
    intent: str | None
    queue: str | None
    replies: tuple[str, ...]
    buttons: tuple[str, ...]
    answer_length: str | None = None  #: the intent's declared answer length, if it answered
    #: a social reply (an intent the brief marks `repeatable`: greetings, thanks, goodbyes)
    social: bool = False


def accuracy(turn: BotTurn, expected: Expected) -> Score | None:
    """None: nothing to compare with (no labels, no bot in the history)."""
    if expected.needs_human is None and expected.intent is None:
        return None
    if expected.needs_human is not None and turn.escalated != expected.needs_human:
        if expected.needs_human:
            return Score(0, f"answered by the bot, but a person was needed ({expected.basis})")
        return Score(0, f"escalated, but the bot could have answered ({expected.basis})")
    if expected.intent is not None and turn.intent != expected.intent:
        if expected.needs_human is None:
            return Score(0, f"understood as {turn.intent or 'nothing'}, not {expected.intent}")
        return Score(
            1, f"right action, but understood as {turn.intent or 'nothing'}, not {expected.intent}"
        )
    if turn.escalated and expected.queue is not None and turn.queue != expected.queue:
        return Score(1, f"escalated to {turn.queue}, but a person worked it in {expected.queue}")
    return Score(2, "escalated as needed" if turn.escalated else "answered as expected")


def tone(turn: BotTurn, brief: Brief) -> Score:
    text = "\n".join(turn.replies)
    lowered = text.casefold()
    for phrase in brief.tone.banned_phrases:
        if phrase.casefold() in lowered:
            return Score(0, f"contains the banned phrase {phrase!r}")
    for pattern in brief.tone.anti_patterns:
        if similarity(text, pattern.example) >= ANTI_PATTERN_SIMILARITY:
            return Score(0, f"reads like the anti-pattern {pattern.example!r}: {pattern.why}")
    problems: list[str] = []
    kind = turn.answer_length or "medium"
    limit = getattr(brief.tone.max_chars, kind)
    if len(text) > limit:
        problems.append(f"{len(text)} characters, over the {limit} allowed for a {kind} reply")
    problems.extend(missing_elements(turn, brief))
    if not problems:
        return Score(2, "fits the tone guide")
    return Score(max(0, 2 - len(problems)), "; ".join(problems))


def missing_elements(turn: BotTurn, brief: Brief) -> list[str]:
    """The checked required elements (`tone.required_elements` with a `check`) the reply
    misses. Elements without a check are guidance for whoever writes copy."""
    missing: list[str] = []
    text = "\n".join(turn.replies)
    for element in brief.tone.required_elements:
        check = getattr(element, "check", None)
        if check == "next_step" and actionability(turn).value < 2:
            missing.append(NO_NEXT_STEP)
        elif check == "echo_order_number":
            given = _ORDER_NUMBER.findall(turn.customer_text.upper())
            if given and not any(number in text.upper() for number in given):
                missing.append("does not use the order number the customer gave")
        elif check == "avoid_words":
            used = [w for w in getattr(element, "words", ()) if _says(text, w)]
            if used:
                missing.append(f"uses {used[0]!r} (the tone guide asks for plain words)")
    return missing


def actionability(turn: BotTurn) -> Score:
    if turn.escalated:
        return Score(2, "hands over to a person")
    if turn.social:
        return Score(2, "a social reply (greeting, thanks) needs no next step")
    if turn.buttons:
        return Score(2, "offers buttons")
    text = "\n".join(turn.replies).strip()
    if not text:
        return Score(0, "no reply")
    last = _SENTENCE_END.split(text)[-1]
    if _LINK.search(last) or text.rstrip(" .!)").endswith("?"):
        return Score(2, "ends with a next step")
    if _LINK.search(text) or "?" in text:
        return Score(1, "has a next step, but not at the end")
    return Score(0, "no next step: no link, button, question or handoff")


def _says(text: str, words: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text, re.IGNORECASE) is not None


def similarity(first: str, second: str) -> float:
    """Cosine similarity of two texts' word counts (0..1)."""
    a, b = _counts(first), _counts(second)
    if not a or not b:
        return 0.0
    dot = sum(count * b.get(word, 0) for word, count in a.items())
    norm = math.sqrt(sum(c * c for c in a.values()) * sum(c * c for c in b.values()))
    return dot / norm


def _counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _WORD.findall(text.casefold()):
        counts[word] = counts.get(word, 0) + 1
    return counts


def cohen_kappa(first: Sequence[int], second: Sequence[int]) -> float | None:
    """Agreement of two raters beyond chance (1 perfect, 0 chance); None if undefined."""
    if len(first) != len(second) or not first:
        return None
    labels = sorted(set(first) | set(second))
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    expected = sum((first.count(x) / n) * (second.count(x) / n) for x in labels)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)
