"""Reading past conversations from files: `read_history` picks the reader by extension.

- `.jsonl`: one JSON object a line (`tabular.parse_jsonl`)
- `.csv`: a header row, then one message a record (`tabular.parse_csv`)
- `.txt`: a WhatsApp "Export chat" file, one conversation (`whatsapp_export.parse_export`)

Files must be UTF-8 (a byte order mark is fine). Every problem in every file is collected
before one `HistoryError` is raised; nothing is returned from a set of files with a
problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from relaydesk.adapters.history.tabular import parse_csv, parse_jsonl
from relaydesk.adapters.history.whatsapp_export import DateOrder, parse_export
from relaydesk.domain.history import History, HistoryConversation, HistoryError

__all__ = ["EXTENSIONS", "DateOrder", "read_history", "read_upload"]

_UTC = ZoneInfo("UTC")
#: the extensions `read_history` reads, with what each holds
EXTENSIONS = {
    ".jsonl": "one JSON object a line",
    ".csv": "CSV with a header row",
    ".txt": 'a WhatsApp "Export chat" file',
}


def read_history(
    paths: Sequence[Path],
    *,
    business_name: str | None = None,
    tz: ZoneInfo = _UTC,
    date_order: DateOrder | None = None,
) -> History:
    """Read every file in `paths` into one `History`, conversations in the order the files
    are given.

    `tz` is the zone of times written without an offset (all of a WhatsApp export's);
    `business_name` is the business's name as WhatsApp exports write it (needed for `.txt`
    files); `date_order` is the order of an export whose dates could be day-first or
    month-first (day-first when None). Raises `HistoryError` listing every problem found in
    all the files; a conversation id may appear in one file only.
    """
    if not paths:
        raise HistoryError(["no history files given; give .jsonl, .csv or .txt files"])
    problems: list[str] = []
    conversations: list[HistoryConversation] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            history = _read(path, business_name=business_name, tz=tz, date_order=date_order)
        except HistoryError as exc:
            problems.extend(exc.problems)
            continue
        for conversation in history.conversations:
            first_file = seen.setdefault(conversation.id, str(path))
            if first_file != str(path):
                problems.append(
                    f'{conversation.turns[0].source}: conversation "{conversation.id}" is '
                    f"also in {first_file}; a conversation's messages must all be in one "
                    "file (rename one of the ids, or one of the exports)"
                )
        conversations.extend(history.conversations)
        notes.extend(history.notes)
    if problems:
        raise HistoryError(problems)
    return History(tuple(conversations), tuple(notes))


def read_upload(
    name: str,
    data: bytes,
    *,
    business_name: str | None = None,
    tz: ZoneInfo = _UTC,
    date_order: DateOrder | None = None,
) -> History:
    """One file's bytes (an upload) read as `read_history` reads a file called `name`:
    the extension picks the reader, problems are reported as `name:line`, and an export's
    conversation id is `name` without its extension. `name` is a file name, not a path."""
    if not name or Path(name).name != name:
        raise HistoryError([f"{name!r} is not a file name; give the file's own name"])
    parse = _parser(Path(name), business_name=business_name, tz=tz, date_order=date_order)
    return parse(_text(data, name), name)


def _read(
    path: Path, *, business_name: str | None, tz: ZoneInfo, date_order: DateOrder | None
) -> History:
    source = str(path)
    if not path.exists():
        raise HistoryError([f"{source}: no such file"])
    if path.is_dir():
        raise HistoryError([f"{source}: is a directory; give the history files in it"])
    parse = _parser(path, business_name=business_name, tz=tz, date_order=date_order)
    return parse(_text(path.read_bytes(), source), source)


def _parser(
    path: Path, *, business_name: str | None, tz: ZoneInfo, date_order: DateOrder | None
) -> Callable[[str, str], History]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return lambda text, source: parse_jsonl(text, source=source, tz=tz)
    if suffix == ".csv":
        return lambda text, source: parse_csv(text, source=source, tz=tz)
    if suffix == ".txt":
        return lambda text, source: parse_export(
            text,
            source=source,
            conversation_id=path.stem,
            business_name=business_name,
            tz=tz,
            date_order=date_order,
        )
    accepted = "; ".join(f"{ext} ({what})" for ext, what in EXTENSIONS.items())
    raise HistoryError(
        [f'{path}: cannot read "{path.suffix or "no extension"}" files; give {accepted}']
    )


def _text(data: bytes, source: str) -> str:
    """The file's text, from UTF-8 with or without a byte order mark."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HistoryError([f"{source}: the file is UTF-16; save it as UTF-8"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise HistoryError(
            [f"{source}:{line}: byte 0x{byte} is not UTF-8; save the file as UTF-8"]
        ) from None
