"""Language identification of short chat messages with py3langid (langid.py's model,
shipped inside the package: nothing is downloaded at run time).

The model is restricted to the languages Relaydesk can act on (the seven its detectors read
and any the brief names), which on 3-10 word messages is far more accurate than choosing
among all 97 (see bench/language.py). Before the model reads a message, links, e-mail
addresses, @mentions, numbers, emoji and words every language uses ("ok", "hi", "bye",
"lol") are removed; a message with nothing left carries no evidence (None). A one-word
message never counts as sure (see `domain.language.settle` for how a guess is used)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from relaydesk.domain.language import Guess, base_language

#: The languages the NLU's detectors (human request, cancel, mode) have words for.
NLU_LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "id")
#: Words used in every language's chats: no evidence of any one.
NEUTRAL = frozenset(
    "ok okay okey oki k kk hi hey hello helo yo bye lol haha hahaha jaja jajaja kkk hmm mmm "
    "hm ah oh uh thx ty pls plz xd wow omg super top ciao".split()
)
#: A guess from one word is never surer than this (it can set a language, not switch it).
ONE_WORD_CAP = 0.75

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|@\w+|\S*\d\S*")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
#: One-word greetings and thanks that the model reads poorly but that name their language.
GREETINGS: dict[str, str] = {
    word: language
    for language, words in {
        "en": "thanks thank you cheers morning evening",
        "es": "hola gracias buenas buenos días dias vale adiós adios",
        "pt": "olá ola oi obrigado obrigada tchau valeu bom dia",
        "fr": "bonjour bonsoir salut merci",
        "de": "hallo danke moin tschüss servus guten tag morgen",
        "it": "buongiorno buonasera grazie salve",
        "id": "halo terima kasih makasih selamat pagi siang sore malam",
    }.items()
    for word in words.split()
}


@cache
def _identifier(languages: tuple[str, ...] | None) -> Any:
    """py3langid's model restricted to `languages` (None: all 97), loaded once per set
    and process (about 2 s: the model ships xz-compressed)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages is not None:
        identifier.set_languages(list(languages))
    return identifier


def model_languages() -> frozenset[str]:
    """Every language code the model knows."""
    return frozenset(_identifier(None).labels)


def classify_unrestricted(text: str) -> str:
    """The library's default: the likeliest of all its languages (for the benchmark)."""
    return str(_identifier(None).classify(text)[0])


class LanguageDetector:
    """`detect(text)`: the likeliest of `languages` with its probability among them."""

    def __init__(self, languages: Iterable[str] = NLU_LANGUAGES) -> None:
        known = model_languages()
        wanted = sorted({base_language(code) for code in languages} & known)
        if not wanted:
            raise ValueError(
                f"none of the languages {sorted(set(languages))} is known to the language "
                "model; use ISO 639-1 codes like en, es, pt"
            )
        self.languages = tuple(wanted)
        self._identifier = _identifier(self.languages)

    def detect(self, text: str | None) -> Guess | None:
        """None when `text` has no words to read (emoji, numbers, links, "ok", "hi")."""
        words = [w for w in _WORD.findall(_NOISE.sub(" ", text or "")) if w.lower() not in NEUTRAL]
        if not words:
            return None
        folded = [w.lower() for w in words]
        named = {GREETINGS.get(w) for w in folded}
        if len(words) <= 2 and len(named) == 1 and None not in named:
            (language,) = named
            if language in self.languages:
                return Guess(str(language), ONE_WORD_CAP, len(words))
        language, confidence = self._identifier.classify(" ".join(words))
        if len(words) == 1:
            confidence = min(confidence, ONE_WORD_CAP)
        return Guess(str(language), round(float(confidence), 4), len(words))
