"""Reading pieces of a webhook's JSON: each message type's `<type>` object, the sender and
the timestamp, and the small value helpers the parser's warnings use.

Readers never raise: a `<type>` object of the wrong shape gives a `Content` with a `problem`,
which the parser turns into a warning while still keeping the message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from relaydesk.domain.channel import Sender

#: message `type` values in the contract (docs/whatsapp-cloud-api.md §2.4); others get a warning
CONTRACT_MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "document",
        "audio",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "button",
        "order",
        "system",
        "unsupported",
        "unknown",
        "revoke",
        "edit",
        "request_welcome",
    }
)

#: `changes[].field` values Meta documents; all but `messages` become Ignored, others also warn
KNOWN_FIELDS = frozenset(
    {
        "messages",
        "account_alerts",
        "account_review_update",
        "account_update",
        "business_capability_update",
        "calls",
        "flows",
        "history",
        "message_echoes",
        "message_template_components_update",
        "message_template_quality_update",
        "message_template_status_update",
        "phone_number_name_update",
        "phone_number_quality_update",
        "security",
        "smb_app_state_sync",
        "smb_message_echoes",
        "template_category_update",
        "user_preferences",
    }
)

_INTERACTIVE_TYPES = frozenset({"button_reply", "list_reply", "nfm_reply", "call_permission_reply"})


class Content(NamedTuple):
    """What a message type contributes beyond the common fields."""

    text: str | None = None
    reply_id: str | None = None
    target_id: str | None = None
    media_id: str | None = None
    problem: str | None = None  #: becomes a warning; the message is still kept


NO_CONTENT = Content()


# --- per-type readers: the message's `<type>` object -> Content ---------------------------


def _read_text(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with body")
    return Content(text=nonempty(obj.get("body")))


def _read_media(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected a media object with id")
    return Content(text=nonempty(obj.get("caption")), media_id=nonempty(obj.get("id")))


def _read_location(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with latitude/longitude")
    name, address = nonempty(obj.get("name")), nonempty(obj.get("address"))
    if name or address:
        return Content(text=", ".join(part for part in (name, address) if part))
    lat, lon = obj.get("latitude"), obj.get("longitude")
    if _is_number(lat) and _is_number(lon):
        return Content(text=f"{lat},{lon}")
    return NO_CONTENT


def _read_contacts(obj: object) -> Content:
    if not isinstance(obj, list):
        return Content(problem=f" is {kind_of(obj)}; expected a list of contact cards")
    names: list[str] = []
    for card in obj:
        name = card.get("name") if isinstance(card, dict) else None
        if not isinstance(name, dict):
            continue
        formatted = nonempty(name.get("formatted_name")) or " ".join(
            part
            for part in (nonempty(name.get("first_name")), nonempty(name.get("last_name")))
            if part
        )
        if formatted:
            names.append(formatted)
    return Content(text=", ".join(names) or None)


def _read_reaction(obj: object) -> Content:
    """`emoji` is "" or absent when the customer removed their reaction: text is then None."""
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with message_id")
    return Content(text=nonempty(obj.get("emoji")), target_id=nonempty(obj.get("message_id")))


def _read_interactive(obj: object) -> Content:
    if not isinstance(obj, dict):
        # seen with value.errors 131000 (sample in-interactive-no-body-value-errors-131000)
        return Content(problem=f" is {kind_of(obj)}; no reply to read, kept without text")
    kind = obj.get("type")
    reply = obj.get(kind) if isinstance(kind, str) and kind in _INTERACTIVE_TYPES else None
    if not isinstance(reply, dict):
        return Content(problem=f".type is {describe(kind)} with no reply object; kept")
    if kind == "nfm_reply":
        return Content(text=nonempty(reply.get("body")), reply_id=_flow_token(reply))
    if kind == "call_permission_reply":
        return NO_CONTENT
    return Content(text=nonempty(reply.get("title")), reply_id=nonempty(reply.get("id")))


def _flow_token(nfm_reply: dict[str, Any]) -> str | None:
    """`response_json` is a string holding JSON; its `flow_token` ties the reply to our flow."""
    raw = nfm_reply.get("response_json")
    if not isinstance(raw, str):
        return None
    try:
        response = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return nonempty(response.get("flow_token")) if isinstance(response, dict) else None


def _read_button(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with payload and text")
    return Content(text=nonempty(obj.get("text")), reply_id=nonempty(obj.get("payload")))


def _read_order(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with product_items")
    return Content(text=nonempty(obj.get("text")))


def _read_revoke(obj: object) -> Content:
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with original_message_id")
    return Content(target_id=nonempty(obj.get("original_message_id")))


def _read_edit(obj: object) -> Content:
    """The new version's readable text and media, aimed at the original message."""
    if not isinstance(obj, dict):
        return Content(problem=f" is {kind_of(obj)}; expected an object with original_message_id")
    target_id = nonempty(obj.get("original_message_id"))
    inner = obj.get("message")
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    reader = READERS.get(inner_type) if isinstance(inner_type, str) else None
    if reader is None or reader is _read_edit or not isinstance(inner, dict):
        return Content(target_id=target_id)
    edited = reader(inner.get(inner_type))
    return Content(text=edited.text, target_id=target_id, media_id=edited.media_id)


READERS: dict[str, Callable[[object], Content]] = {
    "text": _read_text,
    "image": _read_media,
    "video": _read_media,
    "document": _read_media,
    "audio": _read_media,
    "sticker": _read_media,
    "location": _read_location,
    "contacts": _read_contacts,
    "reaction": _read_reaction,
    "interactive": _read_interactive,
    "button": _read_button,
    "order": _read_order,
    "revoke": _read_revoke,
    "edit": _read_edit,
}


# --- sender, ids, timestamp, values ----------------------------------------------------------

#: the widest value storage holds for each field (the columns in adapters/storage/tables.py)
WAMID_MAX = 255
TYPE_MAX = 40
PHONE_NUMBER_ID_MAX = 64
WA_ID_MAX = 64
USER_ID_MAX = 160
NAME_MAX = 200
KIND_MAX = 64
CALLBACK_DATA_MAX = 512
#: WhatsApp's cap on a text body; longer free text is cut to it before anything reads it
TEXT_MAX = 4096
#: an error title is a short label, logged with a failed delivery
TITLE_MAX = 200
#: error codes are stored as 32-bit integers
CODE_MIN, CODE_MAX = -(2**31), 2**31 - 1
#: ids that arrive as JSON numbers must be whole numbers in this range (a BIGINT)
NUMBER_ID_MAX = 2**63 - 1
#: Unix seconds accepted as a timestamp: 1970 to 2106 (unsigned 32-bit time), far from the
#: limits of datetime arithmetic
TIMESTAMP_MAX = 2**32 - 1


def read_id(value: object, limit: int, *, numbers: bool = False) -> str | None:
    """A non-empty string of at most `limit` characters, or with `numbers` a whole JSON number
    from 1 to 2**63-1 as its digits (as a phone number or phone number id may arrive); else
    None."""
    if isinstance(value, str):
        return value if 0 < len(value) <= limit else None
    if numbers and type(value) is int and 0 < value <= NUMBER_ID_MAX:
        return str(value)
    return None


def read_contact(contact: dict[str, Any], path: str, warnings: list[str]) -> Sender:
    """The ids and names in one `contacts[]` object; ids that storage cannot hold are left out
    and names too long for it are cut, with a warning."""
    profile = contact.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    return Sender(
        wa_id=read_id(contact.get("wa_id"), WA_ID_MAX, numbers=True),
        user_id=read_id(contact.get("user_id"), USER_ID_MAX),
        parent_user_id=read_id(contact.get("parent_user_id"), USER_ID_MAX),
        profile_name=cut(nonempty(profile.get("name")), NAME_MAX, f"{path}.profile.name", warnings),
        username=cut(
            nonempty(profile.get("username")), NAME_MAX, f"{path}.profile.username", warnings
        ),
    )


def read_sender(contact: Sender | None, from_id: str | None, from_user_id: str | None) -> Sender:
    """The sender of a message: its contact's ids and names, else `from`/`from_user_id`."""
    if contact is None:
        return Sender(wa_id=from_id, user_id=from_user_id)
    return Sender(
        wa_id=contact.wa_id or from_id,
        user_id=contact.user_id or from_user_id,
        parent_user_id=contact.parent_user_id,
        profile_name=contact.profile_name,
        username=contact.username,
    )


def read_timestamp(raw: object) -> datetime | None:
    """Unix seconds (0 to TIMESTAMP_MAX) as a string of digits or a number -> aware UTC
    datetime; None otherwise."""
    seconds: int | float
    if isinstance(raw, str):
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            return None
        seconds = int(raw)
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = raw
    else:
        return None
    if not 0 <= seconds <= TIMESTAMP_MAX:  # also False for NaN
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def read_code(raw: object) -> int | None:
    """An error code: an integer, or a string of digits, that fits a 32-bit column."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        raw = int(raw)
    if type(raw) is int and CODE_MIN <= raw <= CODE_MAX:
        return raw
    return None


def cut(text: str | None, limit: int, path: str, warnings: list[str]) -> str | None:
    """`text` cut to `limit` characters, with a warning naming `path` (never the text)."""
    if text is None or len(text) <= limit:
        return text
    warnings.append(f"{path} is {len(text):,} characters; kept the first {limit:,}")
    return text[:limit]


def nonempty(value: object) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_KINDS: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "a str",
    int: "an int",
    float: "a float",
    bool: "a bool",
    type(None): "missing",
}

#: the most characters of a value a warning echoes
_ECHO_MAX = 60


def kind_of(value: object) -> str:
    """The JSON kind of `value` ("a str", "an object", "missing", ...), never the value."""
    return _KINDS.get(type(value), type(value).__name__)


def sized(value: object) -> str:
    """`kind_of`, with the length of a string (for values that must not be echoed)."""
    if isinstance(value, str):
        return f"a str of {len(value):,} characters" if value else "an empty str"
    return kind_of(value)


def describe(value: object) -> str:
    """The value itself when scalar, cut to about 60 characters with its full length (so
    messages name it and stay short), else its kind. Never for customer text or numbers."""
    if value is None or isinstance(value, dict | list):
        return kind_of(value)
    if isinstance(value, str):
        if len(value) <= _ECHO_MAX:
            return repr(value)
        return f"{value[:_ECHO_MAX]!r}... ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_ECHO_MAX:
        digits = len(str(abs(value)))
        return f"{str(value)[:_ECHO_MAX]}... ({digits:,} digits)"
    text = repr(value)
    return text if len(text) <= _ECHO_MAX else f"{text[:_ECHO_MAX]}... ({len(text):,} characters)"
