"""Customer-facing copy per language: `{en: ..., es: ...}` beside plain strings, the brief
localized to a customer's language, and `brief check` listing missing variants."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from relaydesk.brief import EXAMPLE_BRIEF, Brief
from relaydesk.brief._checks import advise


@pytest.fixture
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def test_copy_per_language_is_read_and_localized(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál de estas?"}
    brief = Brief.model_validate(data)
    assert brief.fallback.clarify == "Which one?"  # the default language's text
    assert brief.localized("es").fallback.clarify == "¿Cuál de estas?"
    assert brief.localized("es_MX").fallback.clarify == "¿Cuál de estas?"
    assert brief.localized("pt").fallback.clarify == "Which one?"  # not served: default
    assert brief.localized(None) is brief
    assert brief.localized("es") is brief.localized("es")  # built once
    assert brief.localized("es").localized("en") is brief
    assert brief.localized("es").version == brief.version
    assert brief.reply_language("pt") == "en" and brief.reply_language("es-ES") == "es"


def test_each_variant_is_checked_like_plain_copy(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál, {nombre}?"}
    with pytest.raises(ValidationError, match=r"placeholder \{nombre\}"):
        Brief.model_validate(data)


def test_the_default_language_is_required(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"es": "¿Cuál de estas?"}
    with pytest.raises(ValidationError, match=r"no text in the brief's default language en"):
        Brief.model_validate(data)


def test_a_bad_language_code_is_named(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "spanish": "¿Cuál?"}
    with pytest.raises(ValidationError, match=r"'spanish' is not a language code"):
        Brief.model_validate(data)


def test_missing_variants_are_warnings_per_language(data: dict[str, Any]) -> None:
    data["business"]["languages"] = ["en", "es", "fr"]
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál de estas?"}
    warnings = advise(Brief.model_validate(data))
    clarify = [message for loc, message in warnings if loc == ("fallback", "clarify")]
    assert len(clarify) == 1 and "has no fr text" in clarify[0]
    assert any(loc == ("fallback", "talk_to_person") for loc, _ in warnings)
