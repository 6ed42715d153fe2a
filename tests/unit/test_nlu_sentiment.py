"""Sentiment and frustration on short WhatsApp messages, and the trend over turns."""

from __future__ import annotations

import pytest

from relaydesk.nlu.sentiment import load_model, score, trend


def test_short_messages_are_sensible() -> None:
    """Neutral and thankful messages are not frustrated; an angry repeat is."""
    threshold = load_model().threshold
    assert score("ok").frustration < threshold
    assert score("thanks!!").sentiment > 0.5
    assert score("thanks!!").frustration < threshold
    angry = score("this is the third time I ask 😡")
    assert angry.frustration >= threshold and angry.sentiment < 0
    assert {"angry_emoji", "repeat"} <= set(angry.signals)


def test_shouting_raises_frustration() -> None:
    """ALL CAPS raises frustration over the same words in lowercase."""
    assert score("WHERE IS MY ORDER").frustration > score("where is my order").frustration
    assert "caps" in score("WHERE IS MY ORDER").signals


@pytest.mark.parametrize(
    "text",
    [
        "otra vez?? es una vergüenza",  # es
        "já faz 5 dias, que absurdo",  # pt
        "c'est inadmissible, toujours pas de réponse",  # fr
        "schon wieder nichts, eine Frechheit",  # de
        "che schifo, nessuno risponde",  # it
        "parah, sudah 3 hari belum juga sampai",  # id
        "I've been waiting 3 days, this is ridiculous",  # en
    ],
)
def test_strong_words_in_seven_languages(text: str) -> None:
    """The strongest complaints are frustrated in every supported language."""
    result = score(text)
    assert result.frustration >= load_model().threshold, result
    assert result.sentiment < 0


def test_ranges() -> None:
    for text in ["", "ok", "FUCK THIS 🤬🤬 !!!", "thank you so much, perfect ❤"]:
        result = score(text)
        assert -1.0 <= result.sentiment <= 1.0 and 0.0 <= result.frustration <= 1.0


def test_trend() -> None:
    """Slope, mean and drop over the last turns."""
    falling = trend([0.5, 0.6, 0.2, -0.4], turns=3)
    assert falling.slope == pytest.approx(-0.5)
    assert falling.mean == pytest.approx(0.4 / 3)
    assert falling.drop == pytest.approx(1.0)
    assert trend([0.1, 0.3], turns=3).drop == 0.0
    assert trend([], turns=3).mean == 0.0


def test_trend_rejects_bad_turns() -> None:
    with pytest.raises(ValueError, match="turns=0"):
        trend([0.1], turns=0)
