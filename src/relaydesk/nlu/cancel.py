"""A customer cancelling a pending handoff: "never mind", "olvídalo", "deixa pra lá".

Decision for mixed messages: a cancel phrase followed by a new request or question
("never mind the color, where is my order?", "olvídalo, ¿cuánto cuesta el envío?") is NOT
a cancellation - the customer still wants something, so the handoff stays. A cancel phrase
with only thanks/filler after it ("never mind, thanks!", "ya no, gracias") is one.
"I don't mind" / "no me importa" style uses never match (the phrases need their own words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from relaydesk.nlu._text import fold, phrase_pattern

__all__ = ["Cancel", "CancelDetector"]

BUILTIN = 0.9
BRIEF = 0.9

_PHRASES: dict[str, str] = {
    "en": r"never ?mind|nvm|forget (?:it|about it)|no need(?: anymore| any more)?|not needed"
    r"|don'?t need (?:it|help|an agent|a human|anyone)(?: anymore)?|cancel (?:that|it|the request)"
    r"|all good now|it'?s (?:ok|fine) now|(?:i )?(?:figured|sorted) it out|problem solved"
    r"|no longer needed|ignore (?:that|my last message)|solved it",
    "es": r"olvidalo|olvidelo|olvidate|dejalo|dejelo|ya no(?: hace falta| es necesario)?"
    r"|no hace falta|ya esta resuelto|ya lo resolvi|no importa|cancela(?:lo)?|ya no lo necesito",
    "pt": r"deixa (?:pra|para) la|esquece|esqueca|nao precisa mais|nao precisa|ja resolvi"
    r"|ja resolveu|pode cancelar|cancela|tudo certo agora|deixa quieto",
    "fr": r"laisse(?:z)? tomber|oubliez?|pas besoin|plus besoin|c'?est bon|c'?est regle"
    r"|j'?ai trouve|annule(?:z)?",
    "de": r"egal|schon gut|vergiss es|vergessen sie es|hat sich erledigt|nicht mehr notig"
    r"|brauche ich nicht mehr|abbrechen|passt schon",
    "it": r"lascia stare|lasci stare|lascia perdere|lasci perdere|non importa|non serve piu"
    r"|non serve|ho risolto|annulla|fa niente|niente",
    "id": r"tidak jadi|gak jadi|ga jadi|nggak jadi|enggak jadi|batal|gak usah|ga usah"
    r"|tidak usah|udah beres|sudah beres|sudah selesai|udah gak perlu|tidak perlu lagi",
}
# After the cancel phrase only these may follow: thanks, filler, sign-offs.
_TRAILING_OK = re.compile(
    r"^[\s\W]*(?:(?:thanks?|thank you|thx|ty|anyway|anyways|then|now|please|pls|ok|okay|bye"
    r"|sorry|all good|i'?m good|gracias|igual|ya|entonces|perdon|obrigad[oa]|valeu|entao|ja"
    r"|merci|alors|desole|danke|trotzdem|dann|sorry|grazie|comunque|allora|scusa|makasih"
    r"|terima kasih|aja|deh|ya|kak|min|dong|sih|mas|mbak|:\)|:\(|lol|haha|it|please)[\s\W]*)*$"
)
_NOT_MINE = re.compile(r"\b(?:i|you|we|they|he|she) (?:don'?t|do not|didn'?t|wouldn'?t) $")
_NO_EXTRA: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Cancel:
    """A detected cancellation; `phrase` is the matched span of the folded text."""

    score: float
    language: str
    phrase: str


class CancelDetector:
    """Detects "never mind" cancelling a pending handoff. `extra_phrases` (language ->
    phrases, as in the brief's `triggers.cancel.phrases`) are matched on top of the built-ins."""

    def __init__(self, extra_phrases: Mapping[str, Sequence[str]] = _NO_EXTRA) -> None:
        rules = [
            (language, BUILTIN, re.compile(r"\b(?:" + source + r")(?!\w)"))
            for language, source in _PHRASES.items()
        ]
        rules.extend(
            (language, BRIEF, re.compile(phrase_pattern(phrase)))
            for language, phrases in extra_phrases.items()
            for phrase in phrases
        )
        self._rules = tuple(rules)

    def detect(self, text: str) -> Cancel | None:
        """The cancellation in `text`, or None (also when a new request follows it)."""
        folded = fold(text)
        for language, score, pattern in self._rules:
            for match in pattern.finditer(folded):
                if _NOT_MINE.search(folded[max(0, match.start() - 20) : match.start()]):
                    continue
                if _TRAILING_OK.match(folded[match.end() :]):
                    return Cancel(score, language, match.group(0))
        return None
