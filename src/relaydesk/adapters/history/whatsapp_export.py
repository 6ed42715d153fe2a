"""WhatsApp's "Export chat" text files, from iPhone and Android, in any of the date shapes
phones write.

A message starts on a line that begins with a date and time:

    [05/01/26, 10:11:12] Ana García: Hello          (iOS)
    05/01/26, 10:11 - Ana García: Hello             (Android)

and every following line that does not is part of it. Dates may be day-first or
month-first, with `/`, `.` or `-` and 2- or 4-digit years; times 24-hour or 12-hour
(`PM`, `pm`, `p. m.`), with or without seconds. The file shows which date order it uses
when a day is above 12; otherwise the caller's order is used and a note says so.

One export is one conversation (its id is the file name without extension) between the
business and one customer: the business's lines are a person's ("agent"), the other
participant's are the customer's. Media become turns with `media=True` and their caption
as text (often ""); WhatsApp's notices (encryption, deleted messages, calls, changes to
the chat) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from relaydesk.adapters.history._whatsapp_markers import EDITED, is_deleted, is_media
from relaydesk.domain.history import History, HistoryConversation, HistoryError, Turn

DateOrder = Literal["dmy", "mdy"]

#: Invisible direction marks: iOS puts U+200E before notices and media, and phone numbers
#: come wrapped in U+202A ... U+202C.
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NO_BIDI = {ord(mark): None for mark in _BIDI}
_SPACE = r"[ \u00a0\u202f]"
_DATE = (
    r"(?P<date>(?P<first>\d{1,2})(?P<sep>[/.-])(?P<second>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2}))"
)
_TIME = (
    rf"(?P<time>(?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?::(?P<seconds>\d{{2}}))?"
    rf"(?:{_SPACE}?(?P<half>[ap])\.?{_SPACE}?m\.?)?)"
)
_IOS = re.compile(rf"\[{_DATE},?{_SPACE}{_TIME}\]{_SPACE}(?P<rest>.*)", re.IGNORECASE)
_ANDROID = re.compile(
    rf"{_DATE},?{_SPACE}{_TIME}{_SPACE}[-\u2013]{_SPACE}(?P<rest>.*)", re.IGNORECASE
)
_AUTHOR = re.compile(r"(?P<name>[^:]+?):(?: (?P<text>.*)|$)", re.DOTALL)

_EXAMPLES = '"[05/01/26, 10:11:12] Name: text" (iPhone) or "05/01/26, 10:11 - Name: text" (Android)'


@dataclass(slots=True)
class _Stamp:
    """A line that starts a message or notice, with its date fields still unread."""

    line: int
    match: re.Match[str]
    lines: list[str]  #: the rest of its first line, then its continuation lines

    @property
    def fields(self) -> tuple[int, int]:
        return int(self.match["first"]), int(self.match["second"])


def parse_export(
    text: str,
    *,
    source: str,
    conversation_id: str,
    business_name: str | None,
    tz: ZoneInfo,
    date_order: DateOrder | None = None,
) -> History:
    """Read one chat export. `business_name` is the business's name as the export writes
    it; the clock times are read in `tz`; `date_order` is the order for an export whose
    dates could be either (day-first when None). Raises `HistoryError` listing every
    problem."""
    problems: list[str] = []
    stamps = _stamps(text, source, problems)
    if not stamps and not problems:
        what = "empty file" if not text.strip() else "no line starts with a WhatsApp date and time"
        raise HistoryError([f"{source}: {what}; an export's messages look like {_EXAMPLES}"])
    order, notes = _date_order(stamps, source, date_order, problems)
    if order is None:
        raise HistoryError(problems)
    named = [m for stamp in stamps if (m := _message(stamp, source, order, tz, problems))]
    messages = [m for m in named if not m.notice]
    if business_name is None:
        problems.append(
            f"{source}: no business name given; it is needed to tell the business's "
            "messages from the customer's in a WhatsApp export"
        )
    elif named:
        _check_people(named, business_name, source, problems)
    if not messages and not problems:
        problems.append(f"{source}: no messages, only WhatsApp's notices")
    if problems:
        raise HistoryError(problems)
    business = _person(business_name or "")
    turns = tuple(
        Turn(
            conversation_id=conversation_id,
            at=m.at,
            author="agent" if _person(m.name) == business else "customer",
            text=m.text,
            source=f"{source}:{m.line}",
            media=m.media,
        )
        for m in messages
    )
    return History((HistoryConversation(conversation_id, turns),), tuple(notes))


# -- lines ------------------------------------------------------------------------------


def _stamps(text: str, source: str, problems: list[str]) -> list[_Stamp]:
    """The lines that start a message or notice, each with its continuation lines."""
    stamps: list[_Stamp] = []
    stray: list[str] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.removesuffix("\r")
        bare = line.lstrip(_BIDI)
        match = _IOS.fullmatch(bare) or _ANDROID.fullmatch(bare)
        if match:
            stamps.append(_Stamp(number, match, [match["rest"]]))
        elif stamps:
            stamps[-1].lines.append(line)
        elif line.strip(_BIDI + " \t"):
            stray.append(
                f'{source}:{number}: "{_cut(line)}" does not start with a date and time, and '
                "no message comes before it; a WhatsApp export starts with a dated line"
            )
    if stamps:
        problems.extend(stray)
    return stamps


def _date_order(
    stamps: Sequence[_Stamp], source: str, asked: DateOrder | None, problems: list[str]
) -> tuple[DateOrder | None, list[str]]:
    """The file's date order: shown by a first field above 12 (day-first) or a second one
    (month-first), else `asked`, else day-first, with a note saying which was used. None,
    with a problem added, when the file shows both."""
    day_first = next((s for s in stamps if s.fields[0] > 12 >= s.fields[1]), None)
    month_first = next((s for s in stamps if s.fields[1] > 12 >= s.fields[0]), None)
    if day_first and month_first:
        later, earlier = sorted((day_first, month_first), key=lambda s: s.line, reverse=True)
        problems.append(
            f'{source}:{later.line}: date "{later.match["date"]}" is {_order_name(later)}, '
            f'but line {earlier.line} ("{earlier.match["date"]}") is {_order_name(earlier)}; '
            "one export has one date order: is this two exports joined together?"
        )
        return None, []
    if day_first:
        return "dmy", []
    if month_first:
        return "mdy", []
    order: DateOrder = asked or "dmy"
    other: DateOrder = "mdy" if order == "dmy" else "dmy"
    note = (
        f"{source}: no day above 12 shows whether dates are day-first or month-first; read "
        f"as {_ORDER_NAMES[order]} ({_shape(stamps[0], order)}), "
        f"{'as asked' if asked else 'the default'}; if they are {_ORDER_NAMES[other]}, read "
        f"the file with date order {other}"
    )
    return order, [note]


_ORDER_NAMES: dict[DateOrder, str] = {"dmy": "day-first", "mdy": "month-first"}


def _order_name(stamp: _Stamp) -> str:
    return _ORDER_NAMES["dmy" if stamp.fields[0] > 12 else "mdy"]


def _shape(stamp: _Stamp, order: DateOrder) -> str:
    sep, year = stamp.match["sep"], "y" * len(stamp.match["year"])
    return sep.join(("dd", "mm", year) if order == "dmy" else ("mm", "dd", year))


# -- messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Message:
    line: int
    at: datetime
    name: str
    text: str
    media: bool = False
    notice: bool = False  #: says nothing: a notice by WhatsApp or a deleted message


def _message(
    stamp: _Stamp, source: str, order: DateOrder, tz: ZoneInfo, problems: list[str]
) -> _Message | None:
    """The named message a stamp starts; None for a line without a name (WhatsApp's own)
    or with a bad date (then with a problem added)."""
    at = _when(stamp, source, order, tz, problems)
    said = _AUTHOR.fullmatch(stamp.lines[0].lstrip(_BIDI))
    if at is None or said is None:
        return None
    first = said["text"] or ""
    body = "\n".join([first, *stamp.lines[1:]])
    body = EDITED.sub("", body.rstrip()).strip(_BIDI + " \t\n")
    head, _, rest = body.partition("\n")
    head = head.translate(_NO_BIDI).strip()
    if is_media(head):
        return _Message(stamp.line, at, said["name"], rest.strip(), media=True)
    # iOS marks WhatsApp's notices with U+200E; a deleted message says nothing
    notice = first.startswith("\u200e") or is_deleted(head) or not body
    return _Message(stamp.line, at, said["name"], body, notice=notice)


def _when(
    stamp: _Stamp, source: str, order: DateOrder, tz: ZoneInfo, problems: list[str]
) -> datetime | None:
    match, where = stamp.match, f"{source}:{stamp.line}"
    first, second = stamp.fields
    if first > 12 and second > 12:
        problems.append(
            f'{where}: date "{match["date"]}" is not a date: neither {first} nor {second} '
            "can be a month; fix the line"
        )
        return None
    day, month = (first, second) if order == "dmy" else (second, first)
    year = int(match["year"]) + (2000 if len(match["year"]) == 2 else 0)
    hour, minute = int(match["hour"]), int(match["minute"])
    seconds = int(match["seconds"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            problems.append(
                f'{where}: time "{match["time"]}" is not a time (a 12-hour clock runs from 1 '
                "to 12); fix the line"
            )
            return None
        hour = hour % 12 + (12 if match["half"].lower() == "p" else 0)
    try:
        moment = datetime(year, month, day, hour, minute, seconds)
    except ValueError as exc:
        if "day" in str(exc) or "month" in str(exc):
            problems.append(
                f'{where}: date "{match["date"]}" does not exist (read '
                f"{_ORDER_NAMES[order]}, {_shape(stamp, order)}: {exc}); fix the line"
            )
        else:
            problems.append(f'{where}: time "{match["time"]}" is not a time ({exc}); fix the line')
        return None
    return moment.replace(tzinfo=tz)


# -- people -----------------------------------------------------------------------------


def _person(name: str) -> str:
    return " ".join(name.translate(_NO_BIDI).split()).casefold()


def _check_people(
    messages: Sequence[_Message], business_name: str, source: str, problems: list[str]
) -> None:
    """The business must be in the chat, and only one other person (its customer)."""
    first_line: dict[str, _Message] = {}
    for message in messages:
        first_line.setdefault(_person(message.name), message)
    business = _person(business_name)
    names = [_shown(m.name) for m in first_line.values()]
    if business not in first_line:
        problems.append(
            f'{source}: business name "{business_name}" is not one of the people in this '
            f"chat: {', '.join(names)}; give the name exactly as the export writes it"
        )
        return
    customers = [m for key, m in first_line.items() if key != business]
    if len(customers) > 1:
        extra = customers[1]
        problems.append(
            f"{source}:{extra.line}: {_shown(extra.name)} writes here besides "
            f"{_shown(customers[0].name)} and the business: a group chat is not one "
            "customer's conversation; export one-to-one chats only"
        )


def _shown(name: str) -> str:
    return f'"{name.strip(_BIDI + " ")}"'


def _cut(line: str, width: int = 40) -> str:
    line = line.strip(_BIDI + " ")
    return line if len(line) <= width else f"{line[: width - 3]}..."
