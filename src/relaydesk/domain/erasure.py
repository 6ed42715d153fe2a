"""Blanking one person's words in a stored document (an uploaded history, a replay report):
every whole-word occurrence of their identifiers and of what they wrote, in the spellings
a JSON, CSV or HTML file gives them, becomes `[erased]`.

Texts shorter than `MIN_TEXT` are left alone: "yes" or "thanks" say nothing about anyone
and occur in everybody's conversations. Phone numbers are also matched with a leading `+`
and in the spaced form WhatsApp chat exports use (`+34 600 00 00 01` is matched by its
digits, whatever the grouping)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

ERASED = "[erased]"
MIN_TEXT = 8


def _spellings(value: str) -> set[str]:
    quoted = json.dumps(value)[1:-1]
    return {
        value,
        quoted,
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(quoted),
        value.replace('"', '""'),
    }


def _phone_pattern(digits: str) -> str:
    # the digits with any spaces, dashes or dots between them, and an optional leading +
    return r"\+?" + r"[\s.\-]?".join(re.escape(d) for d in digits)


def pattern(identifiers: Iterable[str], texts: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression for the person's identifiers (phone numbers, user ids, names)
    and texts; None when there is nothing to look for."""
    parts: set[str] = set()
    for value in identifiers:
        value = value.strip()
        if not value:
            continue
        if value.lstrip("+").isdigit():
            parts.add(_phone_pattern(value.lstrip("+")))
        parts.update(re.escape(s) for s in _spellings(value))
    for text in texts:
        text = text.strip()
        if len(text) >= MIN_TEXT:
            parts.update(re.escape(s) for s in _spellings(text))
    if not parts:
        return None
    # longest first, so a text that contains a name is blanked whole
    alternatives = "|".join(sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<![\w+])(?:{alternatives})(?!\w)")


def blank(document: str, found: re.Pattern[str]) -> tuple[str, int]:
    """The document with every match replaced by `[erased]`, and how many there were."""
    return found.subn(ERASED, document)
