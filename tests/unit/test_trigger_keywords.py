"""The keyword trigger's one-search pre-check finds a keyword exactly where the rules'
own per-keyword patterns do (`domain.triggers._keywords`)."""

from __future__ import annotations

import random

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import triggers
from relaydesk.domain.decision import Understanding
from relaydesk.domain.dialogue import DialogueState, normalise


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


def _one_by_one(brief: Brief, text: str) -> list[str | None]:
    folded = normalise(text)
    return [
        next((k for k in rule.keywords if triggers._keyword_pattern(k).search(folded)), None)
        for rule in brief.triggers.keywords
    ]


def _texts(brief: Brief) -> list[str]:
    keywords = [k for rule in brief.triggers.keywords for k in rule.keywords]
    words = [w for k in keywords for w in k.split()] + ["my", "the", "order", "é", "-", "?"]
    rnd = random.Random(8)
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 6))) for _ in range(2000)]
    texts += keywords + [f"{k.upper()}!!" for k in keywords] + [f"x{k}x" for k in keywords]
    return [*texts, "where is my order?", "hi", "", "👌"]


def test_the_pre_check_fires_exactly_where_a_keyword_does(brief: Brief) -> None:
    assert brief.triggers.keywords
    fired = 0
    for text in _texts(brief):
        given = triggers.TriggerInput("text", text, None, Understanding(None, 0.0), DialogueState())
        hits = [hit for hit in _one_by_one(brief, text) if hit is not None] if text else []
        found = triggers._keywords(brief, given)
        assert [t.detail for t in found] == [f"mentions {hit!r}" for hit in hits], text
        fired += bool(found)
    assert fired > 100  # the texts exercise both outcomes
