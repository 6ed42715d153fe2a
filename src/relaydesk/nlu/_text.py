"""Text normalisation shared by the rule-based detectors."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_LONG_RUNS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lowercase, fold accents ("atención" -> "atencion", "ß" -> "ss"), unify apostrophes,
    squeeze letters repeated 3+ times ("pleeease" -> "please") and collapse whitespace."""
    lowered = text.translate(_APOSTROPHES).casefold()
    if not lowered.isascii():
        lowered = _COMBINING.sub("", unicodedata.normalize("NFKD", lowered))
    return _SPACES.sub(" ", _LONG_RUNS.sub(r"\1", lowered)).strip()


def phrase_pattern(phrase: str) -> str:
    """A regex source matching the folded `phrase` as whole words, with any run of spaces or
    punctuation between its words ("talk to a human" matches "talk to a... human")."""
    words = re.findall(r"\w+", fold(phrase))
    if not words:
        raise ValueError(f"Phrase {phrase!r} has no letters or digits; give a word or two.")
    return r"(?<!\w)" + r"\W+".join(re.escape(word) for word in words) + r"(?!\w)"
