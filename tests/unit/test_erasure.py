"""Blanking a person's identifiers and words in a stored document."""

from __future__ import annotations

import json

from relaydesk.domain.erasure import ERASED, blank, pattern


def test_identifiers_and_texts_are_blanked_in_every_spelling() -> None:
    found = pattern(["34600000001", "Ana Ruiz"], ['Where is my "order" 4411?', "ok"])
    assert found is not None
    lines = [
        json.dumps(
            {"customer": "34600000001", "name": "Ana Ruiz", "text": 'Where is my "order" 4411?'}
        ),
        '2024-01-02,+34 600 00 00 01,"Where is my ""order"" 4411?"',
        "<td>Ana Ruiz</td><td>Where is my &quot;order&quot; 4411?</td>",
    ]
    out, count = blank("\n".join(lines), found)
    assert "34600000001" not in out and "600 00 00 01" not in out
    assert "Ana Ruiz" not in out and "order" not in out
    assert count == 7
    assert out.count(ERASED) == 7


def test_short_texts_and_parts_of_words_stay() -> None:
    found = pattern(["Ana"], ["ok", "thanks"])
    assert found is not None
    out, count = blank("Banana ok thanks; Ana said ok", found)
    assert out == f"Banana ok thanks; {ERASED} said ok"
    assert count == 1


def test_other_numbers_stay() -> None:
    found = pattern(["34600000001"], [])
    assert found is not None
    out, count = blank("34600000002 and 134600000001 and +34600000001", found)
    assert out == f"34600000002 and 134600000001 and {ERASED}"
    assert count == 1


def test_nothing_to_look_for() -> None:
    assert pattern(["", "  "], ["ok"]) is None
