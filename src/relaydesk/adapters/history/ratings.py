"""People's scores for replayed turns: a CSV with `conversation_id`, `turn` (the 1-based
customer turn, as the replay's JSON numbers them) and any of `accuracy`, `tone`,
`actionability` (0, 1 or 2; empty: not rated)."""

from __future__ import annotations

import csv
from pathlib import Path

from relaydesk.domain.history import HistoryError

DIMENSIONS = ("accuracy", "tone", "actionability")
KEYS = ("conversation_id", "turn")


def read_ratings(path: Path) -> dict[tuple[str, int], dict[str, int]]:
    """(conversation_id, turn) -> {dimension: score}; raises `HistoryError` listing every
    bad line."""
    problems: list[str] = []
    ratings: dict[tuple[str, int], dict[str, int]] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise HistoryError([f"{path}: no such file"]) from None
    except UnicodeDecodeError:
        raise HistoryError([f"{path}: not UTF-8 text; save the ratings as UTF-8 CSV"]) from None
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    missing = [k for k in KEYS if k not in columns]
    unknown = [c for c in columns if c not in (*KEYS, *DIMENSIONS)]
    if missing or unknown or not any(d in columns for d in DIMENSIONS):
        problem = f"{path}:1: the header must name {', '.join(KEYS)} and at least one of "
        problem += ", ".join(DIMENSIONS)
        if missing:
            problem += f"; missing {', '.join(missing)}"
        if unknown:
            problem += f"; unknown column(s) {', '.join(unknown)}"
        raise HistoryError([problem])
    for row in reader:
        line = reader.line_num
        where = f"{path}:{line}"
        conversation = (row.get("conversation_id") or "").strip()
        turn_text = (row.get("turn") or "").strip()
        if not conversation:
            problems.append(f"{where}: conversation_id is empty")
            continue
        if not turn_text.isdigit() or int(turn_text) < 1:
            problems.append(
                f"{where}: turn {turn_text!r} is not a customer turn number (1, 2, ...)"
            )
            continue
        scores: dict[str, int] = {}
        for dimension in DIMENSIONS:
            value = (row.get(dimension) or "").strip()
            if not value:
                continue
            if value not in ("0", "1", "2"):
                problems.append(f"{where}: {dimension} {value!r} must be 0, 1 or 2 (or empty)")
                continue
            scores[dimension] = int(value)
        key = (conversation, int(turn_text))
        if key in ratings:
            problems.append(f"{where}: conversation {conversation} turn {turn_text} is rated twice")
        ratings[key] = scores
    if problems:
        raise HistoryError(problems)
    return ratings
