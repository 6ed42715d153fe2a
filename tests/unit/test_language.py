"""The customer's language: what one message suggests (`nlu.language`) and what the
conversation keeps (`domain.language.settle`)."""

from __future__ import annotations

import pytest

from relaydesk.domain.language import FIRST_CONFIDENCE, Guess, settle
from relaydesk.nlu.language import ONE_WORD_CAP, LanguageDetector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is my order please", "en"),
        ("quiero hablar con una persona", "es"),
        ("cadê meu pedido, já faz uma semana", "pt"),
        ("je voudrais parler à un conseiller", "fr"),
        ("wann kommt mein Paket an", "de"),
        ("vorrei parlare con un operatore", "it"),
        ("saya mau bicara dengan manusia", "id"),
    ],
)
def test_a_short_message_is_read_in_its_language(
    detector: LanguageDetector, text: str, language: str
) -> None:
    guess = detector.detect(text)
    assert guess is not None
    assert guess.language == language
    assert guess.confidence >= 0.9


@pytest.mark.parametrize("text", ["👍🙏", "ok", "NW-10482", "https://example.com/x", "hi 😀", ""])
def test_nothing_to_read_is_no_evidence(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) is None


def test_a_greeting_names_its_language_but_is_never_sure(detector: LanguageDetector) -> None:
    assert detector.detect("hola") == Guess("es", ONE_WORD_CAP, 1)
    assert detector.detect("Obrigada!") == Guess("pt", ONE_WORD_CAP, 1)
    one_word = detector.detect("reembolso")
    assert one_word is not None and one_word.confidence <= ONE_WORD_CAP


def test_the_detector_is_restricted_to_its_languages() -> None:
    only = LanguageDetector(["en", "es_ES"])
    assert only.languages == ("en", "es")
    guess = only.detect("onde está minha encomenda")
    assert guess is not None and guess.language in {"en", "es"}


def test_unknown_languages_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"xx.*ISO 639-1"):
        LanguageDetector(["xx"])


def test_a_first_guess_sets_the_language_when_sure_enough() -> None:
    assert settle(None, Guess("es", FIRST_CONFIDENCE, 1)) == "es"
    assert settle(None, Guess("es", FIRST_CONFIDENCE - 0.01, 4)) is None
    assert settle(None, None) is None


def test_a_known_language_is_kept_unless_confidently_different() -> None:
    assert settle("es", None) == "es"  # an emoji, an order number
    assert settle("es", Guess("fr", ONE_WORD_CAP, 1)) == "es"  # "merci"
    assert settle("es", Guess("pt", 0.8, 4)) == "es"  # close languages, not sure
    assert settle("es", Guess("en", 0.99, 2)) == "es"  # too few words
    assert settle("es", Guess("en", 0.99, 5)) == "en"
    assert settle("pt_BR", Guess("pt", 0.99, 5)) == "pt_BR"  # the same base language
