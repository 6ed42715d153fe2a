"""The customer's language: which one a conversation is kept in, from one message's guess.

Short chat messages are weak evidence ("ok", "gracias", an order number), so a language,
once known, is kept unless a new message is confidently and substantially in another one;
a message with nothing to read (emoji, numbers, a greeting used in every language) changes
nothing. Pure: the guess comes from `nlu.language`, the previous language from the
customer's row."""

from __future__ import annotations

from dataclasses import dataclass

#: A first guess at least this sure sets the customer's language.
FIRST_CONFIDENCE = 0.6
#: A guess of another language switches it only at this confidence...
SWITCH_CONFIDENCE = 0.9
#: ...and with at least this many words (a "merci" from a Spanish speaker changes nothing).
SWITCH_WORDS = 3

#: `customers.language_source`: detected from the customer's messages.
DETECTED = "detected"


@dataclass(frozen=True, slots=True)
class Guess:
    """What one message suggests: a language code, how sure (0..1) and from how many words."""

    language: str
    confidence: float
    words: int


def base_language(code: str) -> str:
    """`pt_BR`, `pt-br` and `PT` are all `pt`."""
    return code.replace("-", "_").split("_")[0].lower()


def settle(previous: str | None, guess: Guess | None) -> str | None:
    """The customer's language after a message: `previous` unless `guess` is a confident
    first one, or confidently and substantially another language."""
    if guess is None:
        return previous
    if previous is None:
        return guess.language if guess.confidence >= FIRST_CONFIDENCE else None
    if base_language(guess.language) == base_language(previous):
        return previous
    if guess.words >= SWITCH_WORDS and guess.confidence >= SWITCH_CONFIDENCE:
        return guess.language
    return previous
