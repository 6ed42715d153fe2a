"""WhatsApp webhook POSTs: check the signature, then turn the body into channel events.

`verify_signature` runs on the raw request bytes, before anything parses them.
`parse_webhook` walks the JSON with plain isinstance checks (it runs on every webhook, so no
model validation of the whole body) and loops over every entry, change, message and status.

Two kinds of trouble, handled differently:

- the body is not a WhatsApp webhook at all (not JSON, wrong `object`, `entry` or `changes`
  not lists, a `messages` change without `metadata.phone_number_id`, ...): `WebhookPayloadError`
  naming the JSON path, and no events;
- one item inside a sound envelope is malformed (a message without `id`, a timestamp that is
  not a number): that item is skipped with a warning naming its path, and the rest of the
  batch still parses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from relaydesk.domain.channel import (
    ApiError,
    DeliveryStatus,
    IdentityChange,
    Ignored,
    InboundMessage,
    Sender,
    StatusUpdate,
    WebhookEvent,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
WEBHOOK_OBJECT = "whatsapp_business_account"

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

_SIGNATURE_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_INTERACTIVE_TYPES = frozenset({"button_reply", "list_reply", "nfm_reply", "call_permission_reply"})


# --- signature -------------------------------------------------------------------------------


def sign(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta would send for `body` (for the sandbox and tests)."""
    return _SIGNATURE_PREFIX + _digest(body, app_secret).hex()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is `sha256=<hex>` of HMAC-SHA256(body, app_secret).

    `body` must be the exact request bytes: parsing and re-serialising changes them. The hex
    is compared case-insensitively (Meta sends lowercase) and in constant time. A missing or
    malformed header is simply False.
    """
    expected = _digest(body, app_secret)
    if header is None:
        return False
    header = header.strip()
    if not header.startswith(_SIGNATURE_PREFIX):
        return False
    given = header[len(_SIGNATURE_PREFIX) :]
    if _HEX_DIGEST.fullmatch(given) is None:
        return False
    return hmac.compare_digest(expected, bytes.fromhex(given))


def _digest(body: bytes, app_secret: str) -> bytes:
    if not app_secret:
        raise ValueError(
            "app_secret is empty; set RELAYDESK_WHATSAPP_APP_SECRET to the App Secret "
            "(App Dashboard > Settings > Basic) of the app that subscribes to the webhook"
        )
    return hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).digest()


# --- parsing ---------------------------------------------------------------------------------


class WebhookPayloadError(ValueError):
    """The body is not a WhatsApp webhook at all. `path` is the JSON path at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """Every event in one webhook body, in body order, and what was skipped or unknown."""

    events: tuple[WebhookEvent, ...]
    warnings: tuple[str, ...] = ()


def parse_webhook(body: bytes) -> ParsedWebhook:
    """Parse a webhook POST body (raw bytes) into events; see the module docstring."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise WebhookPayloadError(
            "", f"request body is not JSON ({exc}); expected a WhatsApp webhook JSON object"
        ) from exc
    if not isinstance(doc, dict):
        raise WebhookPayloadError(
            "", f"request body is {_kind(doc)}; expected a JSON object with an 'entry' list"
        )
    obj = doc.get("object")
    if obj != WEBHOOK_OBJECT:
        raise WebhookPayloadError(
            "object",
            f"object is {_describe(obj)}; expected {WEBHOOK_OBJECT!r} "
            "(only WhatsApp Business Account webhooks are accepted here)",
        )
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError(
            "entry", f"entry is {_kind(entries)}; expected a list of entry objects"
        )
    parser = _Parser()
    for i, entry in enumerate(entries):
        path = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise WebhookPayloadError(path, f"{path} is {_kind(entry)}; expected an entry object")
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise WebhookPayloadError(
                f"{path}.changes",
                f"{path}.changes is {_kind(changes)}; expected a list of change objects",
            )
        for j, change in enumerate(changes):
            parser.change(change, f"{path}.changes[{j}]")
    return ParsedWebhook(tuple(parser.events), tuple(parser.warnings))


class _Content(NamedTuple):
    """What a message type contributes beyond the common fields."""

    text: str | None = None
    reply_id: str | None = None
    target_id: str | None = None
    media_id: str | None = None
    problem: str | None = None  #: becomes a warning; the message is still kept


_NO_CONTENT = _Content()


class _Parser:
    """Collects events and warnings for one body."""

    __slots__ = ("events", "warnings")

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self.warnings: list[str] = []

    def change(self, change: object, path: str) -> None:
        if not isinstance(change, dict):
            raise WebhookPayloadError(
                path, f"{path} is {_kind(change)}; expected a change object with field and value"
            )
        field_name = change.get("field")
        if not isinstance(field_name, str):
            raise WebhookPayloadError(
                f"{path}.field",
                f"{path}.field is {_describe(field_name)}; expected a string such as 'messages'",
            )
        value = change.get("value")
        if field_name == "messages":
            self.messages_value(value, f"{path}.value")
            return
        metadata = value.get("metadata") if isinstance(value, dict) else None
        phone_number_id = (
            _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
        )
        self.events.append(
            Ignored(
                reason=f"field:{field_name}",
                phone_number_id=phone_number_id,
                payload=value if isinstance(value, dict) else {"value": value},
            )
        )
        if field_name not in KNOWN_FIELDS:
            self.warnings.append(f"{path}.field is {field_name!r}; not a known field, ignored")

    def messages_value(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise WebhookPayloadError(
                path, f"{path} is {_kind(value)}; expected an object with metadata and messages"
            )
        metadata = value.get("metadata")
        raw_id = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        if not isinstance(raw_id, str) or not raw_id:
            raise WebhookPayloadError(
                f"{path}.metadata.phone_number_id",
                f"{path}.metadata.phone_number_id is {_describe(raw_id)}; expected the business "
                "phone number id (a string of digits) that the messages were sent to",
            )
        phone_number_id: str = raw_id
        messages = _list_or_raise(value.get("messages"), f"{path}.messages", "message objects")
        statuses = _list_or_raise(value.get("statuses"), f"{path}.statuses", "status objects")
        errors = value.get("errors")
        if messages:
            sole, by_id = self.contacts(value.get("contacts"), f"{path}.contacts")
            for k, item in enumerate(messages):
                self.message(item, phone_number_id, sole, by_id, f"{path}.messages[{k}]")
        for k, item in enumerate(statuses):
            self.status(item, phone_number_id, f"{path}.statuses[{k}]")
        if errors is not None:
            parsed = self.api_errors(errors, f"{path}.errors")
            self.events.append(
                Ignored(
                    reason="value_errors",
                    phone_number_id=phone_number_id,
                    errors=parsed,
                    payload={"errors": errors},
                )
            )
        elif not messages and not statuses:
            self.warnings.append(f"{path} has no messages, statuses or errors; nothing to do")

    def contacts(
        self, raw: object, path: str
    ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """(the sole contact, or None; contacts by wa_id and user_id when there are several)."""
        if raw is None:
            return None, {}
        if not isinstance(raw, list):
            self.warnings.append(f"{path} is {_kind(raw)}; expected a list, contacts not used")
            return None, {}
        contacts: list[dict[str, Any]] = []
        for k, item in enumerate(raw):
            if isinstance(item, dict):
                contacts.append(item)
            else:
                self.warnings.append(f"{path}[{k}] is {_kind(item)}; expected an object, skipped")
        if len(contacts) == 1:
            return contacts[0], {}
        by_id: dict[str, dict[str, Any]] = {}
        for contact in contacts:
            for key in ("wa_id", "user_id"):
                ident = contact.get(key)
                if isinstance(ident, str) and ident:
                    by_id.setdefault(ident, contact)
        return None, by_id

    def message(
        self,
        item: object,
        phone_number_id: str,
        sole_contact: dict[str, Any] | None,
        contacts_by_id: dict[str, dict[str, Any]],
        path: str,
    ) -> None:
        if not isinstance(item, dict):
            self.warnings.append(f"{path} is {_kind(item)}; expected a message object, skipped")
            return
        wamid = item.get("id")
        if not isinstance(wamid, str) or not wamid:
            self.warnings.append(
                f"{path}.id is {_describe(wamid)}; expected the message's wamid, message skipped"
            )
            return
        msg_type = item.get("type")
        if not isinstance(msg_type, str) or not msg_type:
            self.warnings.append(
                f"{path}.type is {_describe(msg_type)}; expected a message type, message skipped"
            )
            return
        sent_at = _timestamp(item.get("timestamp"))
        if sent_at is None:
            self.warnings.append(
                f"{path}.timestamp is {_describe(item.get('timestamp'))}; expected Unix seconds "
                "as a string or number, message skipped"
            )
            return
        if msg_type == "system":
            self.system(item, wamid, phone_number_id, sent_at, path)
            return

        from_id = _str(item.get("from"))
        from_user_id = _str(item.get("from_user_id"))
        contact = sole_contact
        if contacts_by_id:
            contact = (contacts_by_id.get(from_id) if from_id else None) or (
                contacts_by_id.get(from_user_id) if from_user_id else None
            )
        sender = _sender(contact, from_id, from_user_id)
        if sender.wa_id is None and sender.user_id is None:
            self.warnings.append(f"{path} has neither from nor from_user_id; sender unknown")

        reader = _READERS.get(msg_type)
        if reader is None:
            content = _NO_CONTENT
            if msg_type not in CONTRACT_MESSAGE_TYPES:
                self.warnings.append(
                    f"{path}.type is {msg_type!r}; not a type in the contract, kept without text"
                )
        else:
            content = reader(item.get(msg_type))
            if content.problem is not None:
                self.warnings.append(f"{path}.{msg_type}{content.problem}")

        context = item.get("context")
        context_id: str | None = None
        forwarded = False
        if isinstance(context, dict):
            context_id = _str(context.get("id"))
            forwarded = (
                context.get("forwarded") is True or context.get("frequently_forwarded") is True
            )
        referral = item.get("referral")
        raw_errors = item.get("errors")
        self.events.append(
            InboundMessage(
                wamid=wamid,
                phone_number_id=phone_number_id,
                sender=sender,
                sent_at=sent_at,
                type=msg_type,
                text=content.text,
                reply_id=content.reply_id,
                context_id=context_id,
                forwarded=forwarded,
                referral=referral if isinstance(referral, dict) else None,
                errors=self.api_errors(raw_errors, f"{path}.errors") if raw_errors else (),
                payload=item,
                target_id=content.target_id,
                media_id=content.media_id,
            )
        )

    def system(
        self, item: dict[str, Any], wamid: str, phone_number_id: str, at: datetime, path: str
    ) -> None:
        """A `type: system` message: number, BSUID or identity-key change (contract §2.4/2.8)."""
        system = item.get("system")
        if not isinstance(system, dict):
            self.warnings.append(
                f"{path}.system is {_kind(system)}; expected an object with type, message skipped"
            )
            return
        kind = _str(system.get("type"))
        if kind is None:
            self.warnings.append(f"{path}.system.type is {_describe(system.get('type'))}")
        self.events.append(
            IdentityChange(
                wamid=wamid,
                phone_number_id=phone_number_id,
                kind=kind or "unknown",
                at=at,
                old_wa_id=_str(item.get("from")),
                new_wa_id=_str(system.get("wa_id")) or _str(system.get("new_wa_id")),
                old_user_id=(
                    _str(system.get("previous_user_id")) or _str(item.get("from_user_id"))
                ),
                new_user_id=_str(system.get("user_id")) or _str(system.get("new_user_id")),
                body=_str(system.get("body")),
                payload=item,
            )
        )

    def status(self, item: object, phone_number_id: str, path: str) -> None:
        if not isinstance(item, dict):
            self.warnings.append(f"{path} is {_kind(item)}; expected a status object, skipped")
            return
        wamid = item.get("id")
        if not isinstance(wamid, str) or not wamid:
            self.warnings.append(
                f"{path}.id is {_describe(wamid)}; expected the wamid we sent, status skipped"
            )
            return
        wire = item.get("status")
        if not isinstance(wire, str):
            self.warnings.append(
                f"{path}.status is {_describe(wire)}; expected sent/delivered/read/played/failed,"
                " status skipped"
            )
            return
        raw_errors = item.get("errors")
        errors = self.api_errors(raw_errors, f"{path}.errors") if raw_errors else ()
        status = DeliveryStatus.from_wire(wire)
        if status is None:
            self.events.append(
                Ignored(
                    reason=f"status:{wire}",
                    phone_number_id=phone_number_id,
                    errors=errors,
                    payload=item,
                )
            )
            return
        at = _timestamp(item.get("timestamp"))
        if at is None:
            self.warnings.append(
                f"{path}.timestamp is {_describe(item.get('timestamp'))}; expected Unix seconds "
                "as a string or number, status skipped"
            )
            return
        self.events.append(
            StatusUpdate(
                wamid=wamid,
                phone_number_id=phone_number_id,
                status=status,
                at=at,
                recipient_id=_str(item.get("recipient_id")),
                recipient_user_id=_str(item.get("recipient_user_id")),
                callback_data=_str(item.get("biz_opaque_callback_data")),
                errors=errors,
                payload=item,
            )
        )

    def api_errors(self, raw: object, path: str) -> tuple[ApiError, ...]:
        if not isinstance(raw, list):
            self.warnings.append(f"{path} is {_kind(raw)}; expected a list of error objects")
            return ()
        errors: list[ApiError] = []
        for k, item in enumerate(raw):
            if not isinstance(item, dict):
                self.warnings.append(f"{path}[{k}] is {_kind(item)}; expected an error object")
                continue
            code = item.get("code")
            if isinstance(code, str) and code.isascii() and code.isdigit():
                code = int(code)
            if not isinstance(code, int) or isinstance(code, bool):
                self.warnings.append(
                    f"{path}[{k}].code is {_describe(code)}; expected an integer code, skipped"
                )
                continue
            error_data = item.get("error_data")
            details = error_data.get("details") if isinstance(error_data, dict) else None
            errors.append(
                ApiError(
                    code=code,
                    title=_str(item.get("title")) or "",
                    message=_str(item.get("message")) or "",
                    details=details if isinstance(details, str) else "",
                )
            )
        return tuple(errors)


# --- per-type readers: the message's `<type>` object -> _Content --------------------------


def _read_text(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with body")
    return _Content(text=_str(obj.get("body")))


def _read_media(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected a media object with id")
    return _Content(text=_str(obj.get("caption")), media_id=_str(obj.get("id")))


def _read_location(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with latitude/longitude")
    name, address = _str(obj.get("name")), _str(obj.get("address"))
    if name or address:
        return _Content(text=", ".join(part for part in (name, address) if part))
    lat, lon = obj.get("latitude"), obj.get("longitude")
    if _is_number(lat) and _is_number(lon):
        return _Content(text=f"{lat},{lon}")
    return _NO_CONTENT


def _read_contacts(obj: object) -> _Content:
    if not isinstance(obj, list):
        return _Content(problem=f" is {_kind(obj)}; expected a list of contact cards")
    names: list[str] = []
    for card in obj:
        name = card.get("name") if isinstance(card, dict) else None
        if not isinstance(name, dict):
            continue
        formatted = _str(name.get("formatted_name")) or " ".join(
            part for part in (_str(name.get("first_name")), _str(name.get("last_name"))) if part
        )
        if formatted:
            names.append(formatted)
    return _Content(text=", ".join(names) or None)


def _read_reaction(obj: object) -> _Content:
    """`emoji` is "" or absent when the customer removed their reaction: text is then None."""
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with message_id")
    return _Content(text=_str(obj.get("emoji")), target_id=_str(obj.get("message_id")))


def _read_interactive(obj: object) -> _Content:
    if not isinstance(obj, dict):
        # seen with value.errors 131000 (sample in-interactive-no-body-value-errors-131000)
        return _Content(problem=f" is {_kind(obj)}; no reply to read, kept without text")
    kind = obj.get("type")
    reply = obj.get(kind) if isinstance(kind, str) and kind in _INTERACTIVE_TYPES else None
    if not isinstance(reply, dict):
        return _Content(problem=f".type is {_describe(kind)} with no reply object; kept")
    if kind == "nfm_reply":
        return _Content(text=_str(reply.get("body")), reply_id=_flow_token(reply))
    if kind == "call_permission_reply":
        return _NO_CONTENT
    return _Content(text=_str(reply.get("title")), reply_id=_str(reply.get("id")))


def _flow_token(nfm_reply: dict[str, Any]) -> str | None:
    """`response_json` is a string holding JSON; its `flow_token` ties the reply to our flow."""
    raw = nfm_reply.get("response_json")
    if not isinstance(raw, str):
        return None
    try:
        response = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return _str(response.get("flow_token")) if isinstance(response, dict) else None


def _read_button(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with payload and text")
    return _Content(text=_str(obj.get("text")), reply_id=_str(obj.get("payload")))


def _read_order(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with product_items")
    return _Content(text=_str(obj.get("text")))


def _read_revoke(obj: object) -> _Content:
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with original_message_id")
    return _Content(target_id=_str(obj.get("original_message_id")))


def _read_edit(obj: object) -> _Content:
    """The new version's readable text and media, aimed at the original message."""
    if not isinstance(obj, dict):
        return _Content(problem=f" is {_kind(obj)}; expected an object with original_message_id")
    target_id = _str(obj.get("original_message_id"))
    inner = obj.get("message")
    inner_type = inner.get("type") if isinstance(inner, dict) else None
    reader = _READERS.get(inner_type) if isinstance(inner_type, str) else None
    if reader is None or reader is _read_edit or not isinstance(inner, dict):
        return _Content(target_id=target_id)
    edited = reader(inner.get(inner_type))
    return _Content(text=edited.text, target_id=target_id, media_id=edited.media_id)


_READERS: dict[str, Callable[[object], _Content]] = {
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


# --- small helpers ---------------------------------------------------------------------------


def _sender(
    contact: dict[str, Any] | None, from_id: str | None, from_user_id: str | None
) -> Sender:
    if contact is None:
        return Sender(wa_id=from_id, user_id=from_user_id)
    profile = contact.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    return Sender(
        wa_id=_str(contact.get("wa_id")) or from_id,
        user_id=_str(contact.get("user_id")) or from_user_id,
        parent_user_id=_str(contact.get("parent_user_id")),
        profile_name=_str(profile.get("name")),
        username=_str(profile.get("username")),
    )


def _timestamp(raw: object) -> datetime | None:
    """Unix seconds as a string or number -> aware UTC datetime; None when it is neither."""
    seconds: int | float
    if isinstance(raw, str):
        if not (raw.isascii() and raw.isdigit()):
            return None
        seconds = int(raw)
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = raw
    else:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # out of range, NaN
        return None


def _list_or_raise(raw: object, path: str, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WebhookPayloadError(path, f"{path} is {_kind(raw)}; expected a list of {what}")
    return raw


def _str(value: object) -> str | None:
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


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _describe(value: object) -> str:
    """The value itself when short and scalar (so messages name it), else its kind."""
    if value is None or isinstance(value, dict | list):
        return _kind(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
