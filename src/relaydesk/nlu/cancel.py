"""A customer cancelling a pending handoff: "never mind", "olvídalo", "deixa pra lá", anywhere
in a longer message ("oh wait, I found it, thanks, no need for a person anymore", "ah non
c'est bon j'ai trouvé, merci").

A cancel phrase counts unless:

- it is about something else: a look-alike with its own object ("never mind the delay",
  "no need to apologise", "olvídate del color"), unless that object is the handoff itself
  ("no need for a person anymore", "no hace falta que me llaméis");
- a new request or question follows it ("never mind the color, where is my order?",
  "olvídalo, ¿cuánto cuesta el envío?", "..., I still want a refund"): the customer still
  wants something, so the handoff stays. Thanks, reasons and explanations may follow
  ("never mind, it just arrived, thanks");
- someone else does the minding ("I don't mind", "no me importa").

A renewed request for a person in the same message ("no need to apologise, just get me a
person") is left to the human-request detector, which the policy checks first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from relaydesk.nlu import ask
from relaydesk.nlu._text import fold, phrase_pattern

__all__ = ["Cancel", "CancelDetector"]

BUILTIN = 0.9
BRIEF = 0.9

_PHRASES: dict[str, str] = {
    "en": r"never ?mind|nvm|forget (?:it|about it)|no need(?: anymore| any more)?|not needed"
    r"|don'?t need (?:it|help|an agent|a human|a person|anyone|someone|the agent)(?: anymore)?"
    r"|cancel (?:that|it|the request|my request)|all good(?: now)?|all sorted|sorted now"
    r"|it'?s (?:ok|okay|fine|all good) now|i'?m (?:good|fine|ok|okay) now"
    r"|(?:i )?(?:figured|sorted) it out|problem solved|no longer needed|no longer need"
    r"|ignore (?:that|my last message|my message)|solved it|(?:i )?found it",
    "es": r"olvidalo|olvidelo|olvidate|dejalo|dejelo|ya no(?: hace falta| es necesario)?"
    r"|no hace falta|ya esta resuelto|ya lo resolvi|no importa|cancela(?:lo|la)?"
    r"|ya no lo necesito|ya lo encontre|lo encontre|ya llego|ya me llego|todo bien ya"
    r"|ya esta todo bien|ya esta solucionado|ya lo tengo",
    "pt": r"deixa (?:pra|para) la|esquece|esqueca|nao precisa mais|nao precisa|ja resolvi"
    r"|ja resolveu|pode cancelar|cancela|tudo certo agora|deixa quieto|ja achei|ja encontrei"
    r"|achei|ja chegou|ta tudo certo|esta tudo certo",
    "fr": r"laisse(?:z)? tomber|oubliez?|pas besoin|plus besoin|c'?est bon|c'?est regle"
    r"|j'?ai trouve|annule(?:z)?|c'?est arrive|tout est bon|tout est regle",
    "de": r"egal|schon gut|vergiss es|vergessen sie es|hat sich erledigt|nicht mehr notig"
    r"|brauche ich nicht mehr|abbrechen|passt schon|(?:hab|habe) (?:es|ihn|sie|das) gefunden"
    r"|gefunden|ist angekommen|ist (?:doch )?da|alles gut|brauche keinen",
    "it": r"lascia stare|lasci stare|lascia perdere|lasci perdere|non importa|non serve piu"
    r"|non serve|ho risolto|annulla|fa niente|niente|l'?ho trovat[oa]|trovato|e arrivato"
    r"|tutto a posto|tutto ok",
    "id": r"tidak jadi|gak jadi|ga jadi|nggak jadi|enggak jadi|batal|gak usah|ga usah"
    r"|tidak usah|udah beres|sudah beres|sudah selesai|udah gak perlu|tidak perlu lagi"
    r"|(?:udah|sudah) (?:ketemu|sampai|nyampe|dapat)",
}
# What the handoff is: a phrase followed by one of these still cancels ("no need for a
# person anymore"); followed by any other object it is a look-alike ("never mind the delay").
_HANDOFF = (
    r"(?:(?:a|an|the|any|un|una|um|uma|une|einen|einem|ein|un'|uno)\s+)?(?:person|human"
    r"|agent|someone|somebody|anyone|anybody|help|call|transfer|request|chat|it|that|this"
    r"|talk|speak|wait|waiting|contact|escalate|bother|people|persona|agente|humano|nadie"
    r"|ayuda|pessoa|atendente|ninguem|personne|conseiller|humain|mensch|menschen"
    r"|mitarbeiter|jemand|hilfe|operatore|persona|nessuno|aiuto|orang|admin|cs|manusia)\b"
)
_OBJECT = re.compile(
    r"^\s*(?:the|your|my|about|to|for|with|if|that|el|la|los|las|del|de|que|con|o|a|as|os"
    r"|do|da|le|les|du|des|pour|den|die|das|dem|mit|il|lo|gli|i|di|per|soal|masalah"
    r"|untuk)\s+(?!" + _HANDOFF + ")"
)
_NOT_MINE = re.compile(
    r"\b(?:i|you|we|they|he|she) (?:don'?t|do not|didn'?t|wouldn'?t) $|\b(?:me|te|le|nos) $"
)
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
                after = folded[match.end() :]
                if _OBJECT.match(after) or _asks_again(after):
                    continue
                return Cancel(score, language, match.group(0))
        return None


def _asks_again(after: str) -> bool:
    """A new request or question after the cancel phrase (thanks and reasons are fine)."""
    if not any(c.isalnum() or c in "?¿" for c in after):
        return False
    mode = ask.detect(after)
    return mode.kind == ask.QUESTION or bool(mode.cue)
