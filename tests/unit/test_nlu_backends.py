"""Backend options as typed on the command line: checked, converted, applied."""

from __future__ import annotations

import pytest

from relaydesk.nlu.backends import BackendOptionError, build, check_options, options_of
from relaydesk.nlu.tfidf import TfidfIntentClassifier


def test_options_are_converted_to_the_constructor_types() -> None:
    converted = check_options(
        "tfidf",
        {"c": "none", "semantic": "False", "few_shot": "12", "skip_confidence": "0.95"},
    )
    assert converted == {"c": None, "semantic": False, "few_shot": 12, "skip_confidence": 0.95}


def test_build_applies_options_over_what_the_name_implies() -> None:
    classifier = build("tfidf-baseline", {"c": "3"})
    assert isinstance(classifier, TfidfIntentClassifier)
    assert (classifier.name, classifier.c, classifier.calibrated) == ("tfidf-baseline", 3.0, False)
    assert build("tfidf").name == "tfidf"


def test_the_name_is_not_an_option() -> None:
    assert "name" not in options_of("tfidf")
    with pytest.raises(BackendOptionError, match="unknown option 'name'"):
        check_options("tfidf", {"name": "x"})


@pytest.mark.parametrize(
    ("backend", "options", "message"),
    [
        ("nope", {}, "unknown backend 'nope'; choose one of: embeddings, tfidf"),
        ("tfidf", {"colour": "red"}, "valid options: c, calibrated, embedding_weight"),
        ("tfidf", {"folds": "five"}, "option folds='five' of backend 'tfidf': expected a number"),
        ("tfidf", {"semantic": "perhaps"}, "expected true or false"),
    ],
)
def test_bad_options_name_the_value_and_the_valid_ones(
    backend: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(BackendOptionError, match=message):
        check_options(backend, options)
