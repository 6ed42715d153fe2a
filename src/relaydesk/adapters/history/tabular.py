"""History as one message a row: JSON Lines (`.jsonl`) and CSV (`.csv`).

Each row (a JSON object on its own line, or a CSV record under a header) holds
`conversation_id`, `time`, `author` and `text`, and a customer row may add the labels
`intent`, `needs_human`, `queue` and `priority`. Rows of one conversation may be spread
through the file; its turns are put in time order. Every problem is reported as
`file:line: what is wrong`, with the line a record starts on.

These functions parse text already read (see `relaydesk.adapters.history.read_history`
for files); each returns a `History` or raises `HistoryError` listing every problem.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from relaydesk.brief.schema import PRIORITIES, Priority
from relaydesk.domain.history import (
    AUTHORS,
    Author,
    History,
    HistoryError,
    Labels,
    Turn,
    group_turns,
)

REQUIRED_FIELDS = ("conversation_id", "time", "author", "text")
LABEL_FIELDS = ("intent", "needs_human", "queue", "priority")
FIELDS = REQUIRED_FIELDS + LABEL_FIELDS

_YES = frozenset({"true", "yes", "1"})
_NO = frozenset({"false", "no", "0"})
_HAS_TIME_OF_DAY = re.compile(r"\d[Tt ]\d")
_EXAMPLE_TIME = "2026-01-05T10:11:12+01:00"
_NEEDS = "every message needs conversation_id, time, author and text"
_HEADER_FIRST = (
    f"the first row must name the columns: {', '.join(REQUIRED_FIELDS)}, "
    f"and optionally {', '.join(LABEL_FIELDS)}"
)


def parse_jsonl(text: str, *, source: str, tz: ZoneInfo) -> History:
    """One JSON object a line; blank lines are skipped. `source` names the file."""
    problems: list[str] = []
    turns: list[Turn] = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "each line must be one JSON object"
            )
            continue
        if not isinstance(row, dict):
            problems.append(
                f"{where}: a JSON {_json_kind(row)}, not an object; each line must be one "
                "JSON object with conversation_id, time, author and text"
            )
            continue
        unknown = [key for key in row if key not in FIELDS]
        if unknown:
            problems.append(f"{where}: {_unknown(unknown, 'field')}")
        turns.extend(_turn(row, where, tz, problems))
    return _history(source, turns, problems, "empty file; write one JSON object a line")


def parse_csv(text: str, *, source: str, tz: ZoneInfo) -> History:
    """A header row naming the columns, then one message a record. Quoted fields may hold
    commas and line breaks; blank lines are skipped. `source` names the file."""
    problems: list[str] = []
    turns: list[Turn] = []
    records = _records(text, source, problems)
    header_line, header = next(records, (0, []))
    if not header:
        raise HistoryError([*problems, f"{source}: empty file; {_HEADER_FIRST}"])
    names = [name.strip().lower() for name in header]
    _check_header(f"{source}:{header_line}", names)
    for number, record in records:
        where = f"{source}:{number}"
        if len(record) != len(names):
            problems.append(_width_problem(where, len(record), len(names)))
            continue
        turns.extend(_turn(dict(zip(names, record, strict=True)), where, tz, problems))
    return _history(source, turns, problems, "no messages, only a header")


# -- rows -------------------------------------------------------------------------------


def _turn(row: Mapping[str, object], where: str, tz: ZoneInfo, problems: list[str]) -> list[Turn]:
    """The row's turn (a list of one), or none with the row's problems added to `problems`."""
    found: list[str] = []
    values = {name: _string(row, name, where, found) for name in FIELDS if name != "needs_human"}
    missing = [name for name in REQUIRED_FIELDS if values[name] == ""]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        found.append(f"{where}: {_and(missing)} {verb} missing or empty; {_NEEDS}")
    author = _author(values["author"], where, found)
    at = _time(values["time"], where, tz, found)
    labels = Labels(
        intent=values["intent"] or None,
        needs_human=_needs_human(row.get("needs_human"), where, found),
        queue=values["queue"] or None,
        priority=_priority(values["priority"], where, found),
    )
    if author not in (None, "customer"):
        given = [
            f"{name} {json.dumps(row[name], ensure_ascii=False)}"
            for name in LABEL_FIELDS
            if _given(row.get(name))
        ]
        if given:
            article = "an" if author == "agent" else "a"
            found.append(
                f"{where}: {article} {author} message has labels ({', '.join(given)}); labels "
                "belong on customer messages only: move them to the customer's message or "
                "clear them"
            )
    problems.extend(found)
    if found or author is None or at is None:
        return []
    return [
        Turn(
            conversation_id=str(values["conversation_id"]),
            at=at,
            author=author,
            text=str(values["text"]).replace("\r\n", "\n"),
            labels=labels if author == "customer" else None,
            source=where,
        )
    ]


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _string(row: Mapping[str, object], name: str, where: str, found: list[str]) -> str | None:
    """The field as a stripped string ("" when absent, null or blank); None, with a problem
    added, when it is some other JSON value (a conversation id may be an integer)."""
    value = row.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if name == "conversation_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    found.append(
        f"{where}: {name} is {json.dumps(value, ensure_ascii=False)}, a JSON "
        f"{_json_kind(value)}; write it as a string"
    )
    return None


def _author(value: str | None, where: str, found: list[str]) -> Author | None:
    if not value:
        return None
    for author in AUTHORS:
        if value.lower() == author:
            return author
    found.append(f'{where}: author "{value}" is not customer, bot or agent')
    return None


def _time(value: str | None, where: str, tz: ZoneInfo, found: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        reason = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        found.append(
            f'{where}: time "{value}" is not an ISO 8601 date and time{reason}; '
            f"write it like {_EXAMPLE_TIME}"
        )
        return None
    if not _HAS_TIME_OF_DAY.search(value):
        found.append(f'{where}: time "{value}" has no time of day; write it like {_EXAMPLE_TIME}')
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def _needs_human(value: object, where: str, found: list[str]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else json.dumps(value)
    if not word:
        return None
    if word in _YES | _NO:
        return word in _YES
    shown = f'"{value}"' if isinstance(value, str) else word
    found.append(
        f"{where}: needs_human {shown} is not true, false, yes, no, 1 or 0; "
        "leave it empty when unknown"
    )
    return None


def _priority(value: str | None, where: str, found: list[str]) -> Priority | None:
    if not value:
        return None
    for priority in PRIORITIES:
        if value.upper() == priority:
            return priority
    found.append(
        f'{where}: priority "{value}" is not {_or(PRIORITIES)}; leave it empty when unknown'
    )
    return None


# -- files ------------------------------------------------------------------------------


def _records(text: str, source: str, problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on. A record the csv module cannot
    read ends the file, with a problem added to `problems`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"{source}:{start}: not readable as CSV ({exc})")
            return
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


def _check_header(where: str, names: list[str]) -> None:
    problems = []
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        problems.append(f"{where}: the header has no {_and(missing)} column; {_HEADER_FIRST}")
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        problems.append(f"{where}: {_unknown(unknown, 'column')}")
    doubled = sorted({name for name in names if name in FIELDS and names.count(name) > 1})
    if doubled:
        problems.append(f"{where}: {_and(doubled)} appear more than once in the header")
    if problems:
        raise HistoryError(problems)


def _width_problem(where: str, width: int, expected: int) -> str:
    if width > expected:
        return (
            f"{where}: {width} fields where the header has {expected}; put a text that holds "
            'a comma in double quotes ("like, this")'
        )
    return (
        f"{where}: {width} fields where the header has {expected}; "
        "give every column, empty ones too"
    )


def _history(source: str, turns: list[Turn], problems: list[str], empty: str) -> History:
    if not problems and not turns:
        problems.append(f"{source}: {empty}")
    if problems:
        raise HistoryError(problems)
    return History(group_turns(turns))


def _unknown(names: list[str], kind: str) -> str:
    listed = ", ".join(f'"{name}"' for name in names)
    return (
        f"unknown {kind}{'s' if len(names) > 1 else ''} {listed}; the {kind}s are "
        f"{', '.join(FIELDS)}"
    )


def _json_kind(value: object) -> str:
    kinds: list[tuple[type, str]] = [
        (bool, "boolean"),
        (int, "number"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ]
    return next((kind for cls, kind in kinds if isinstance(value, cls)), "null")


def _and(names: list[str] | tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _or(names: list[str] | tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
