"""Cancelling a pending handoff ("never mind"), in seven languages, and mixed messages."""

from __future__ import annotations

import pytest

from relaydesk.nlu.cancel import CancelDetector

POSITIVES = [
    ("never mind", "en"),  # canonical
    ("nevermind, thanks!", "en"),  # one word + thanks
    ("no need anymore", "en"),  # no need
    ("I don't need an agent anymore", "en"),  # explicit
    ("all good now, sorted it out", "en"),  # two cancel phrases
    ("olvídalo", "es"),  # accent folded
    ("ya no, gracias", "es"),  # ya no + thanks
    ("deixa pra lá", "pt"),  # canonical
    ("não precisa mais, obrigado", "pt"),  # negated need
    ("laisse tomber", "fr"),  # canonical
    ("c'est bon merci", "fr"),  # c'est bon
    ("egal, schon gut", "de"),  # two phrases
    ("hat sich erledigt, danke", "de"),  # erledigt
    ("lascia stare", "it"),  # canonical
    ("non serve più, grazie", "it"),  # non serve
    ("tidak jadi kak", "id"),  # with honorific
    ("gak jadi deh", "id"),  # colloquial
]
NEGATIVES = [
    "I don't mind",  # "mind" without "never"
    "never mind the color, where is my order?",  # new request after the phrase
    "olvídalo, ¿cuánto cuesta el envío?",  # es: new question after
    "no me importa el color, ¿dónde está mi pedido?",  # es: new question after
    "cancel my order please",  # a cancellation intent, not "never mind"
    "egal wie, ich will mein Geld zurück",  # de: "egal wie" then a demand
    "deixa pra lá o presente, quero o reembolso",  # pt: new request after
    "where is my order?",  # ordinary
    "ok",  # short
]


@pytest.fixture(scope="module")
def detector() -> CancelDetector:
    return CancelDetector()


@pytest.mark.parametrize(("text", "language"), POSITIVES)
def test_detects_cancel(detector: CancelDetector, text: str, language: str) -> None:
    """Each cancellation is detected in its language."""
    found = detector.detect(text)
    assert found is not None and found.language == language, (text, found)


@pytest.mark.parametrize("text", NEGATIVES)
def test_ignores_mixed_or_unrelated(detector: CancelDetector, text: str) -> None:
    """A cancel phrase followed by a new request is not a cancellation."""
    assert detector.detect(text) is None, (text, detector.detect(text))


def test_brief_phrases_are_merged() -> None:
    """Phrases from the brief are matched in their language; a new question after one
    keeps the handoff, an explanation or thanks does not."""
    detector = CancelDetector({"nl": ["laat maar"]})
    found = detector.detect("Laat maar, bedankt")
    assert found is not None and found.language == "nl"
    assert detector.detect("laat maar, waar is mijn bestelling?") is None
    found = detector.detect("laat maar!")
    assert found is not None and found.language == "nl"
