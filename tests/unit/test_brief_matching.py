from __future__ import annotations

import pytest

from relaydesk.brief import EXAMPLE_BRIEF, load_brief
from relaydesk.brief.matching import ExampleMatcher, Match


@pytest.fixture(scope="module")
def matcher() -> ExampleMatcher:
    return ExampleMatcher.from_brief(load_brief(EXAMPLE_BRIEF))


def test_built_from_every_example_in_the_brief(matcher: ExampleMatcher) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    assert len(matcher) == sum(len(intent.examples) for intent in brief.intents.values())


@pytest.mark.parametrize(
    ("text", "intent", "min_score"),
    [
        ("where is my order 12345", "order_status", 0.8),  # order numbers fold to one token
        ("hola", "greeting", 0.99),
        ("HOLA!!", "greeting", 0.9),  # case and punctuation do not matter
        ("Dónde esta mi pedido?", "order_status", 0.8),  # nor accents
        ("i want my mony back", "returns_refund", 0.6),  # typo
        ("can i talk to a person pls", "human_request", 0.5),
        ("cancel order NW-99812", "cancel_order", 0.5),
    ],
)
def test_matches_the_nearest_intent(
    matcher: ExampleMatcher, text: str, intent: str, min_score: float
) -> None:
    match = matcher.match(text)
    assert match is not None
    assert match.intent == intent
    assert min_score <= match.score <= 1.0


def test_exact_example_scores_one(matcher: ExampleMatcher) -> None:
    assert matcher.match("where is my order") == Match("order_status", 1.0, "where is my order")


@pytest.mark.parametrize("text", ["xqzv kplm wrrt", "asdfghjkl", "blorp"])
def test_gibberish_scores_low(matcher: ExampleMatcher, text: str) -> None:
    match = matcher.match(text)
    assert match is None or match.score < 0.15


@pytest.mark.parametrize("text", ["", "   ", "???"])
def test_nothing_to_match_gives_none(matcher: ExampleMatcher, text: str) -> None:
    assert matcher.match(text) is None


def test_rank_gives_the_best_example_of_each_intent(matcher: ExampleMatcher) -> None:
    ranked = matcher.rank("i want to cancel my order and get a refund", limit=3)
    assert len(ranked) == 3
    assert len({m.intent for m in ranked}) == 3
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    assert {"cancel_order", "returns_refund"} <= {m.intent for m in ranked}


def test_needs_at_least_one_example() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ExampleMatcher([])
