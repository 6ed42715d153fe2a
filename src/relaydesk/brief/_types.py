"""Value types shared by the brief's models: names, codes, priorities, durations, time zones.

Each type carries its own validation, so a model field only names the type. Errors come from
`brief_error`, whose message reaches the brief's author unchanged.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?$"
TEMPLATE_NAME_PATTERN = r"^[a-z0-9_]+$"
URL_PATTERN = r"^https://\S+$"

PATTERN_HINTS: dict[str, str] = {
    NAME_PATTERN: "use lowercase letters, digits and underscores, starting with a letter "
    "(like order_status)",
    LANGUAGE_PATTERN: "use a language code like en, es or pt_BR",
    TEMPLATE_NAME_PATTERN: "use the template name exactly as approved in WhatsApp Manager "
    "(lowercase letters, digits and underscores)",
    URL_PATTERN: "use a full https:// address",
}
"""What each pattern used in the brief means, in words, for error messages."""

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]

Priority = Literal["P1", "P2", "P3", "P4"]
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")
PolicyAction = Literal["answer", "clarify", "escalate"]
AnswerLength = Literal["short", "medium", "detailed"]
ANSWER_LENGTHS: tuple[AnswerLength, ...] = ("short", "medium", "detailed")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Phase = Literal["pilot", "expand", "scale"]
MessageType = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "unsupported",
]

# WhatsApp content limits (whatsapp-cloud-api.md §4.7).
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_BODY = 1024
MAX_TEXT_BODY = 4096
# Templates as WhatsApp Manager approves them: button text up to 25 characters, at most
# 10 buttons (Meta's template docs; whatsapp-cloud-api.md does not list these limits).
MAX_TEMPLATE_BUTTON = 25
MAX_TEMPLATE_QUICK_REPLIES = 10


class Variant(str):
    """A language code as the last part of a location: that language's text of the copy
    there (`intents.greeting.answers.short[es]`), where the brief gives it per language."""


Loc = tuple[str | int, ...]
"""Where in the brief: its keys and list indexes, from the top."""
Issue = tuple[Loc, str]
"""A problem: where it is, and what is wrong and how to fix it."""


def brief_error(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is shown to the brief's author as it is."""
    return PydanticCustomError(kind, "{detail}", {"detail": message})


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """` Did you mean 'x'?` when something close exists, else an empty string."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """ "90s", "5m", "2h", "1d" (or combined, "1h30m") -> timedelta; anything else is an error."""
    if isinstance(value, timedelta):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _DURATION.fullmatch(text):
        raise brief_error(
            "duration",
            f"{value!r} is not a duration; write a number and a unit with no space: "
            "90s, 5m, 2h or 1d (combinations like 1h30m work too).",
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds == 0:
        raise brief_error("duration", f"{value!r} is zero; a duration must be longer than 0s.")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The compact form `parse_duration` reads: timedelta(minutes=90) -> "1h30m"."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(value: str) -> str:
    if value not in _timezones():
        raise brief_error(
            "timezone",
            f"{value!r} is not an IANA time zone name (like Europe/Madrid)."
            + did_you_mean(value, _timezones()),
        )
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]


def placeholder_check(allowed: frozenset[str]) -> AfterValidator:
    """Copy may use only the `{name}` placeholders the service knows how to fill."""

    def check(value: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError:
            raise brief_error(
                "placeholder",
                "has an unmatched { or }; placeholders look like {team}. "
                "Write {{ or }} for a literal brace.",
            ) from None
        for name in names:
            if name not in allowed:
                raise brief_error(
                    "placeholder",
                    f"uses the placeholder {{{name}}}, which is not filled here;"
                    f" available: {', '.join('{' + a + '}' for a in sorted(allowed))}."
                    + did_you_mean(name, allowed),
                )
        return value

    return AfterValidator(check)


# -- copy in several languages ----------------------------------------------------------

#: The brief's default language (its first `business.languages`) while a brief validates.
DEFAULT_LANGUAGE: ContextVar[str | None] = ContextVar("brief_default_language", default=None)


def base_code(code: str) -> str:
    """`pt_BR`, `pt-br` and `PT` are all `pt`."""
    return code.replace("-", "_").split("_")[0].lower()


class Localized(str):
    """Customer-facing copy: the text in the brief's default language (the string itself)
    and its variants by language code (`variants`, possibly empty)."""

    variants: Mapping[str, str]
    default: str  #: the default language's text, also in a localized brief

    def __new__(
        cls, text: str, variants: Mapping[str, str] | None = None, default: str | None = None
    ) -> Localized:
        made = super().__new__(cls, text)
        made.variants = dict(variants or {})
        made.default = text if default is None else default
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Localized, (str(self), dict(self.variants), self.default))

    def has(self, language: str) -> bool:
        return any(base_code(code) == base_code(language) for code in self.variants)

    def variant(self, language: str) -> str:
        """The text in `language` (same base language will do), else the default text."""
        exact = self.variants.get(language)
        if exact is not None:
            return exact
        wanted = base_code(language)
        return next((t for c, t in self.variants.items() if base_code(c) == wanted), str(self))


def _localize(value: object, handler: ValidatorFunctionWrapHandler) -> Localized:
    """A plain string (the default language's text) or `{en: ..., es: ...}`; each variant
    is checked like the plain text would be."""
    if not isinstance(value, Mapping):
        return Localized(handler(value))
    if not value:
        raise brief_error(
            "localized",
            "is an empty mapping; write the text, or one per language: {en: ..., es: ...}",
        )
    variants: dict[str, str] = {}
    for code, text in value.items():
        if not isinstance(code, str) or not re.fullmatch(LANGUAGE_PATTERN, code):
            raise brief_error(
                "localized",
                f"{code!r} is not a language code; write the copy per language as "
                "{en: ..., es: ...} (codes like en, es or pt_BR).",
            )
        variants[code] = handler(text)
    default = DEFAULT_LANGUAGE.get()
    if default is None:
        return Localized(next(iter(variants.values())), variants)
    main = next((t for c, t in variants.items() if base_code(c) == base_code(default)), None)
    if main is None:
        raise brief_error(
            "localized",
            f"has no text in the brief's default language {default} (the first of "
            f"business.languages); add `{default}: ...` beside {', '.join(variants)}.",
        )
    return Localized(main, variants)


#: Marks a field as customer-facing copy that may be given per language (see `Localized`).
LOCALIZED = WrapValidator(_localize)
