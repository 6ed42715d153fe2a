"""Personal data out of the logs: a structlog processor that redacts phone numbers, e-mail
addresses, card-like numbers and people's names in every field of an event, at every level
of nesting (dicts, lists, tuples), whatever the log level.

What is redacted:
- a field whose key says it holds personal data (`wa_id`, `phone`, `email`, `name` of a
  customer/profile/contact, ...) or message content (`text`, `body`, `caption`, ...): the
  whole value, of any type;
- in every other string (exception text included): e-mail addresses, card-like numbers
  (13 to 19 digits passing the Luhn check), phone-like numbers (7 to 15 digits, with the
  usual `+`, spaces, dots, dashes and brackets; dates, IP addresses and decimals are not
  phone numbers), and the words of names this process has seen in a name field.

Field names are kept, as are the timestamp and the level; the event name (a constant in
the code) is checked for addresses and numbers only.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, MutableMapping
from typing import Any

#: keys whose whole value is personal data, wherever they appear
PERSONAL_KEYS = frozenset(
    {
        "wa_id",
        "phone",
        "phone_number",
        "display_phone_number",
        "msisdn",
        "recipient_id",
        "email",
        "user_email",
        "customer_name",
        "profile_name",
        "contact_name",
        "full_name",
        "first_name",
        "last_name",
        "username",
        "address",
    }
)
#: keys whose value is what someone wrote
CONTENT_KEYS = frozenset(
    {"text", "body", "caption", "content", "comment", "message_text", "reply", "note"}
)
#: `name` is personal inside these (a WhatsApp contact's profile, a customer)
NAME_PARENTS = frozenset({"profile", "customer", "contact", "contacts", "sender", "user"})
NAME_KEYS = frozenset({"customer_name", "profile_name", "contact_name", "full_name"})
#: left as they are: structlog's own fields
KEPT_KEYS = frozenset({"timestamp", "level", "logger"})

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_NUMBER = re.compile(r"(?<![\w.:/#+-])\+?\(?\d(?:[ ().-]{0,2}\d){6,18}(?![\w:/-])")
_NOT_PHONE = (
    re.compile(r"\d{4}-\d{2}-\d{2}"),  # a date
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}"),  # an IPv4 address
    re.compile(r"\d+\.\d+"),  # a decimal
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_MAX_NAMES = 20_000


class _Names:
    """Words of people's names seen in name fields, newest kept (bounded)."""

    def __init__(self) -> None:
        self._words: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, name: str) -> None:
        with self._lock:
            for word in _WORD.findall(name):
                self._words[word.casefold()] = None
                self._words.move_to_end(word.casefold())
            while len(self._words) > _MAX_NAMES:
                self._words.popitem(last=False)

    def __contains__(self, word: str) -> bool:
        return word.casefold() in self._words

    def __bool__(self) -> bool:
        return bool(self._words)


_names = _Names()


def remember_name(name: str) -> None:
    """Redact the words of this person's name from every later log line of this process."""
    _names.remember(name)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _number(match: re.Match[str]) -> str:
    found = match.group()
    if any(p.fullmatch(found) for p in _NOT_PHONE):
        return found
    digits = re.sub(r"\D", "", found)
    if 13 <= len(digits) <= 19 and _luhn(digits):
        return "[card]"
    return "[phone]" if len(digits) <= 15 else found


def _name_word(match: re.Match[str]) -> str:
    return "[name]" if match.group() in _names else match.group()


def redact_text(value: str, *, names: bool = True) -> str:
    """`value` with e-mail addresses, card and phone numbers and (with `names`) the words of
    known names replaced."""
    value = _EMAIL.sub("[email]", value)
    value = _NUMBER.sub(_number, value)
    if names and _names:
        value = _WORD.sub(_name_word, value)
    return value


def _whole(key: str, value: Any) -> str:
    if key in CONTENT_KEYS:
        return "[text]"
    return "[email]" if "email" in key else "[redacted]"


def redact(value: Any, key: str = "", parent: str = "") -> Any:
    """A redacted copy of `value` (the field `key` inside `parent`)."""
    lowered = key.lower()
    if lowered in KEPT_KEYS:
        return value
    is_name = lowered in NAME_KEYS or (lowered == "name" and parent.lower() in NAME_PARENTS)
    if is_name or lowered in PERSONAL_KEYS or lowered in CONTENT_KEYS:
        if value is None or value == "":
            return value
        if is_name and isinstance(value, str):
            _names.remember(value)
        return _whole(lowered, value)
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k), key or parent) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, "", key or parent) for item in value]
    return value


def redact_event(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor: every field redacted but structlog's own."""
    for key, value in list(event_dict.items()):
        if key == "event" and isinstance(value, str):  # a name in code: no name words in it
            event_dict[key] = redact_text(value, names=False)
        elif key not in KEPT_KEYS:
            event_dict[key] = redact(value, key)
    return event_dict
