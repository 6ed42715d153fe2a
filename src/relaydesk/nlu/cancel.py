"""A customer cancelling a pending handoff: "never mind", "olvídalo", "deixa pra lá", anywhere
in a longer message ("oh wait, I found it, thanks, no need for a person anymore", "ah non
c'est bon j'ai trouvé, merci").

Phrases come in four kinds, from strongest to weakest:

- a **call-off** says the handoff is not wanted ("never mind", "no need", "olvídalo");
- **solved** says the problem went away ("I sorted it out", "ho risolto", "hat sich erledigt");
- **news** says what was missing turned up, with "it" or "already" in it ("I found it", "ya
  llegó", "já achei", "l'ho trovato", "sudah sampai");
- a **hint** is the same news said bare ("achei", "gefunden", "è arrivato", "all good"): it is
  also how a problem is described ("ho trovato un addebito doppio"), so it only counts with
  thanks in the message ("è arrivato, grazie") or on its own ("all good!").

A phrase counts unless:

- it is about something else: a call-off with its own object ("never mind the delay", "no need
  to apologise", "olvídate del color"), unless that object is the handoff itself ("no need for
  a person anymore", "no hace falta que me llaméis");
- someone else does the minding ("I don't mind", "no me importa");
- it is negated: solved, news and hints after a "not" in the same clause ("still not all
  good", "il pacco non è arrivato", "não achei nada", "ich habe es nicht gefunden");
- a problem is described with it: a problem word after it ("ya llegó roto", "ho trovato un
  addebito doppio") or, for solved, news and hints, before it in the same clause ("ich habe
  einen Fehler gefunden");
- a contrast with more than thanks after it follows ("das Paket ist angekommen, aber es fehlt
  ein Teil", "sudah dapat email tapi uangnya belum masuk"; "no need, but thanks anyway" is
  fine);
- a new request or question follows it ("never mind the color, where is my order?",
  "olvídalo, ¿cuánto cuesta el envío?", "..., I still want a refund"): the customer still
  wants something, so the handoff stays. Thanks, reasons and explanations may follow ("never
  mind, it just arrived, thanks").

When unsure the handoff stays: a person left waiting costs an agent a look, a person dropped
from the queue goes unhelped. A renewed request for a person in the same message ("no need to
apologise, just get me a person") is left to the human-request detector, which the policy
checks first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from relaydesk.nlu import ask
from relaydesk.nlu._text import fold, phrase_pattern

__all__ = ["Cancel", "CancelDetector"]

BUILTIN = 0.9
BRIEF = 0.9

Kind = Literal["call_off", "solved", "news", "hint"]

_CALL_OFF: dict[str, str] = {
    "en": r"never ?mind|nvm|forget (?:it|about it)|no need(?: anymore| any more)?|not needed"
    r"|don'?t need (?:it|help|an agent|a human|a person|anyone|someone|the agent)(?: anymore)?"
    r"|cancel (?:that|it|the request|my request)|no longer needed|no longer need"
    r"|ignore (?:that|my last message|my message)",
    "es": r"olvidalo|olvidelo|olvidate|dejalo|dejelo|ya no(?: hace falta| es necesario)?"
    r"|no hace falta|no importa|cancela(?:lo|la)?|ya no lo necesito",
    "pt": r"deixa (?:pra|para) la|esquece|esqueca|nao precisa mais|nao precisa|pode cancelar"
    r"|cancela|deixa quieto",
    "fr": r"laisse(?:z)? tomber|oubliez?|pas besoin|plus besoin|c'?est bon|annule(?:z)?",
    "de": r"egal|schon gut|vergiss es|vergessen sie es|nicht mehr notig|brauche ich nicht mehr"
    r"|abbrechen|passt schon|brauche keinen",
    "it": r"lascia stare|lasci stare|lascia perdere|lasci perdere|non importa|non serve piu"
    r"|non serve|annulla|fa niente",
    "id": r"tidak jadi|gak jadi|ga jadi|nggak jadi|enggak jadi|batal|gak usah|ga usah"
    r"|tidak usah|udah gak perlu|tidak perlu lagi",
}
_SOLVED: dict[str, str] = {
    "en": r"all good now|all sorted|sorted now|it'?s (?:ok|okay|fine|all good) now"
    r"|i'?m (?:good|fine|ok|okay) now|(?:i )?(?:figured|sorted) it out|problem solved"
    r"|solved it",
    "es": r"ya esta resuelto|ya lo resolvi|todo bien ya|ya esta todo bien|ya esta solucionado",
    "pt": r"ja resolvi|ja resolveu|tudo certo agora",
    "fr": r"c'?est regle|tout est regle",
    "de": r"hat sich erledigt",
    "it": r"ho risolto",
    "id": r"udah beres|sudah beres|sudah selesai",
}
_NEWS: dict[str, str] = {
    "en": r"(?:i )?found it",
    "es": r"ya lo encontre|lo encontre|ya llego|ya me llego|ya lo tengo",
    "pt": r"ja achei|ja encontrei|ja chegou",
    "fr": r"je l'?ai trouve|c'?est arrive",
    "de": r"(?:hab|habe) (?:es|ihn|sie|das) gefunden|hab'?s gefunden|ist schon (?:angekommen|da)",
    "it": r"l'?ho trovat[oa]|e gia arrivat[oa]",
    "id": r"(?:udah|sudah) (?:ketemu|sampai|nyampe|dapat)",
}
_HINTS: dict[str, str] = {
    "en": r"all good",
    "pt": r"achei|ta tudo certo|esta tudo certo",
    "fr": r"j'?ai trouve|tout est bon",
    "de": r"gefunden|ist angekommen|ist (?:doch )?da|alles gut",
    "it": r"trovat[oa]|e arrivat[oa]|tutto a posto|tutto ok|niente",
}
_KINDS: tuple[tuple[Kind, dict[str, str]], ...] = (
    ("call_off", _CALL_OFF),
    ("solved", _SOLVED),
    ("news", _NEWS),
    ("hint", _HINTS),
)

# What the handoff is: a call-off followed by one of these still cancels ("no need for a
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
# A negation among the last few words before a phrase, in the phrase's language (English
# always). French "non" and English "no" are interjections ("ah non c'est bon", "no I found
# it"), not negations of what follows.
_NEGATION: Mapping[str, str] = MappingProxyType(
    {
        "en": r"not|never|nothing|cannot|\w+n't|dont|didnt|doesnt|havent|hasnt|hadnt|isnt"
        r"|wasnt|arent|werent|cant|couldnt|wont|wouldnt",
        "es": r"no|nunca|nada|tampoco|ni|jamas",
        "pt": r"nao|nunca|nada|nem|jamais",
        "fr": r"ne|n'\w*|pas|jamais|rien",
        "de": r"nicht|nie|niemals|kein\w*|nichts",
        "it": r"non|mai|niente|nulla",
        "id": r"tidak|tak|gak|ga|gk|nggak|enggak|ngga|ndak|tdk|belum|blm|blom|bukan",
    }
)
_NEGATION_WORDS = 3
# "Already" at the start of a phrase makes a negation before it an interjection ("ah no ya
# llegó"): "no ya llegó" is no way to say it did not arrive.
_ALREADY = re.compile(r"(?:ya|ja|gia|schon|already|udah|sudah)\b")
# Nothing found: "achei nada", "trovato niente".
_NOTHING = re.compile(r"^\W*(?:nada|niente|nulla|nothing|rien|nichts|apa-apa|apapun)\b")
# A contrast, in the phrase's language (English always); ambiguous words ("mas" is "more" in
# Spanish, "mais" in Portuguese) only in their own language.
_CONTRAST: Mapping[str, str] = MappingProxyType(
    {
        "en": r"but|however|though|although|except|apart from",
        "es": r"pero|aunque|sin embargo|excepto|salvo|solo que",
        "pt": r"mas|porem|contudo|entretanto|so que|exceto",
        "fr": r"mais|cependant|pourtant|sauf|par contre",
        "de": r"aber|jedoch|allerdings|ausser|sondern",
        "it": r"ma|pero|tuttavia|eppure|tranne|se non che",
        "id": r"tapi|tetapi|tp|tpi|namun|kecuali|sayangnya",
    }
)
# Something wrong described with the phrase: missing, broken, damaged, empty, wrong, charged
# twice, an error, not there yet.
_PROBLEM = re.compile(
    r"\b(?:missing|lacking|broken|damaged|defective|faulty|cracked|torn|smashed|empty"
    r"|(?<!was )(?<!were )(?<!i'm )(?<!am )wrong|incorrect|double|twice|charged|overcharged"
    r"|debited|error|errors|glitch"
    # es / pt
    r"|(?<!hace )(?<!haga )(?<!faz )falta(?:n|ba|ban|m|ndo)?|faltando|rot[oa]s?|danad[oa]s?"
    r"|estropead[oa]s?|defectuos[oa]s?|vaci[oa]s?|(?<!estaba )(?<!estoy )equivocad[oa]s?"
    r"|incorrect[oa]s?|doble|dos veces|cobr(?:o|aron|ado|ada|ando)|duplicad[oa]s?"
    r"|error(?:es)?|quebrad[oa]s?|danificad[oa]s?|estragad[oa]s?|defeituos[oa]s?|vazi[oa]s?"
    r"|(?<!estava )(?<!estou )errad[oa]s?|duas vezes|cobrad[oa]s?|cobranca|cobraram|erro"
    # fr
    r"|manque\w*|casse\w*|abime\w*|endommage\w*|defectueu\w*|vide|mauvais\w*|deux fois"
    r"|preleve\w*|debite\w*|erreur\w*"
    # de
    r"|fehlt|fehlen|fehlend\w*|kaputt\w*|beschadigt\w*|defekt\w*|(?<!lag )falsch\w*|doppelt\w*"
    r"|zweimal|abgebucht|belastet|fehler\w*"
    # it
    r"|manca(?:no|nte|nti)?|rott[oaie]|danneggiat[oaie]|difettos[oaie]|vuot[oaie]"
    r"|(?<!ho )sbagliat[oaie]|doppi[oa]|due volte|addebit\w*|error[ei]|guast[oaie]"
    # id
    r"|rusak|pecah|cacat|hilang|kurang|kosong|(?<!saya )(?<!aku )(?<!maaf )salah|keliru"
    r"|dua kali|dobel|terpotong|kepotong|ditagih|eror|belum(?! (?:perlu|butuh)))\b"
)
_THANKS = re.compile(
    r"\b(?:thanks?|thank you|thank u|thx|tks|ty|cheers|appreciated?|gracias|grax|obrigad[oa]"
    r"|brigad[oa]|valeu|merci|danke\w*|vielen dank|grazie|terima ?kasih|makasih?|trims|tq)\b"
)
# Words that add nothing: interjections, courtesy, "now", "here".
_FILLER = frozenset(
    "oh ah ahh eh ehm hmm hm ok okay oke okey wait actually sorry yes yeah yep si sim oui ja ya"
    " kak deh sih nah ach och oops ops hey well so lol haha now ahora agora maintenant jetzt"
    " gerade adesso ora sekarang here aqui ici hier qui sini you u much lot a very anyway"
    " anyways again for the your help all quand meme trotzdem comunque lo stesso igual todos"
    " modos de todas formas mesmo assim muito mucho muchas muchisimas mille beaucoup vielmals"
    " tanto tante banyak bang gan sis mas mbak".split()
)
_CLAUSE_END = re.compile(r".*[,.;:!?¿¡]")
_NO_EXTRA: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Cancel:
    """A detected cancellation; `phrase` is the matched span of the folded text."""

    score: float
    language: str
    phrase: str


@dataclass(frozen=True, slots=True)
class _Rule:
    language: str
    score: float
    kind: Kind
    pattern: re.Pattern[str]
    negation: re.Pattern[str]
    contrast: re.Pattern[str]


class CancelDetector:
    """Detects "never mind" cancelling a pending handoff. `extra_phrases` (language ->
    phrases, as in the brief's `triggers.cancel.phrases`) are matched on top of the built-ins,
    as call-offs."""

    def __init__(self, extra_phrases: Mapping[str, Sequence[str]] = _NO_EXTRA) -> None:
        rules = [
            _rule(language, BUILTIN, kind, r"\b(?:" + phrases[language] + r")(?!\w)")
            for language in _CALL_OFF
            for kind, phrases in _KINDS
            if language in phrases
        ]
        rules.extend(
            _rule(language, BRIEF, "call_off", phrase_pattern(phrase))
            for language, phrases in extra_phrases.items()
            for phrase in phrases
        )
        self._rules = tuple(rules)

    def detect(self, text: str) -> Cancel | None:
        """The cancellation in `text`, or None (also when a new request follows it)."""
        folded = fold(text)
        for rule in self._rules:
            for match in rule.pattern.finditer(folded):
                if _counts(rule, folded, match):
                    return Cancel(rule.score, rule.language, match.group(0))
        return None


def _rule(language: str, score: float, kind: Kind, source: str) -> _Rule:
    negation = _NEGATION["en"] + "|" + _NEGATION.get(language, _NEGATION["en"])
    contrast = _CONTRAST["en"] + "|" + _CONTRAST.get(language, _CONTRAST["en"])
    return _Rule(
        language,
        score,
        kind,
        re.compile(source),
        re.compile(r"^(?:" + negation + r")$"),
        re.compile(r"\b(?:" + contrast + r")\b"),
    )


def _counts(rule: _Rule, folded: str, match: re.Match[str]) -> bool:
    """Whether this occurrence of the phrase calls the handoff off."""
    before, after = folded[: match.start()], folded[match.end() :]
    if _NOT_MINE.search(before[-20:]):
        return False
    if rule.kind == "call_off" and _OBJECT.match(after):
        return False
    if rule.kind != "call_off":
        clause = _CLAUSE_END.sub("", before)
        if _negated(rule, clause, match.group(0)) or _NOTHING.match(after):
            return False
        if _PROBLEM.search(clause):
            return False
    if rule.kind == "hint" and not _THANKS.search(folded) and _has_content(before + " " + after):
        return False
    if _PROBLEM.search(after) or _contrast_follows(rule, after):
        return False
    return not _asks_again(after)


def _negated(rule: _Rule, clause: str, phrase: str) -> bool:
    """A negation among the last few words of the clause before the phrase."""
    if _ALREADY.match(phrase):
        return False
    words = re.findall(r"[\w']+", clause)[-_NEGATION_WORDS:]
    return any(rule.negation.match(word) for word in words)


def _contrast_follows(rule: _Rule, after: str) -> bool:
    """A "but" after the phrase with more than thanks after it ("..., but it's broken")."""
    found = rule.contrast.search(after)
    return found is not None and _has_content(_THANKS.sub(" ", after[found.end() :]))


def _has_content(text: str) -> bool:
    """Any word besides interjections and courtesy ("oh", "now", "thanks anyway")."""
    return any(word not in _FILLER for word in re.findall(r"\w+", _THANKS.sub(" ", text)))


def _asks_again(after: str) -> bool:
    """A new request or question after the cancel phrase (thanks and reasons are fine)."""
    if not any(c.isalnum() or c in "?¿" for c in after):
        return False
    mode = ask.detect(after)
    return mode.kind == ask.QUESTION or bool(mode.cue)
