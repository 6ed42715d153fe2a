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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relaydesk.adapters.whatsapp._readers import (
    NO_CONTENT,
    READERS,
    describe,
    kind_of,
    nonempty,
    read_sender,
    read_timestamp,
)
from relaydesk.domain.channel import (
    ApiError,
    DeliveryStatus,
    IdentityChange,
    Ignored,
    InboundMessage,
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
            "", f"request body is {kind_of(doc)}; expected a JSON object with an 'entry' list"
        )
    obj = doc.get("object")
    if obj != WEBHOOK_OBJECT:
        raise WebhookPayloadError(
            "object",
            f"object is {describe(obj)}; expected {WEBHOOK_OBJECT!r} "
            "(only WhatsApp Business Account webhooks are accepted here)",
        )
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError(
            "entry", f"entry is {kind_of(entries)}; expected a list of entry objects"
        )
    parser = _Parser()
    for i, entry in enumerate(entries):
        path = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise WebhookPayloadError(path, f"{path} is {kind_of(entry)}; expected an entry object")
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise WebhookPayloadError(
                f"{path}.changes",
                f"{path}.changes is {kind_of(changes)}; expected a list of change objects",
            )
        for j, change in enumerate(changes):
            parser.change(change, f"{path}.changes[{j}]")
    return ParsedWebhook(tuple(parser.events), tuple(parser.warnings))


class _Parser:
    """Collects events and warnings for one body."""

    __slots__ = ("events", "warnings")

    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []
        self.warnings: list[str] = []

    def change(self, change: object, path: str) -> None:
        if not isinstance(change, dict):
            raise WebhookPayloadError(
                path, f"{path} is {kind_of(change)}; expected a change object with field and value"
            )
        field_name = change.get("field")
        if not isinstance(field_name, str):
            raise WebhookPayloadError(
                f"{path}.field",
                f"{path}.field is {describe(field_name)}; expected a string such as 'messages'",
            )
        value = change.get("value")
        if field_name == "messages":
            self.messages_value(value, f"{path}.value")
            return
        metadata = value.get("metadata") if isinstance(value, dict) else None
        phone_number_id = (
            nonempty(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
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
                path, f"{path} is {kind_of(value)}; expected an object with metadata and messages"
            )
        metadata = value.get("metadata")
        raw_id = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        if not isinstance(raw_id, str) or not raw_id:
            raise WebhookPayloadError(
                f"{path}.metadata.phone_number_id",
                f"{path}.metadata.phone_number_id is {describe(raw_id)}; expected the business "
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
            self.warnings.append(f"{path} is {kind_of(raw)}; expected a list, contacts not used")
            return None, {}
        contacts: list[dict[str, Any]] = []
        for k, item in enumerate(raw):
            if isinstance(item, dict):
                contacts.append(item)
            else:
                self.warnings.append(f"{path}[{k}] is {kind_of(item)}; expected an object, skipped")
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
            self.warnings.append(f"{path} is {kind_of(item)}; expected a message object, skipped")
            return
        wamid = self.required(item, "id", path, "the message's wamid", "message")
        if wamid is None:
            return
        msg_type = self.required(item, "type", path, "a message type", "message")
        if msg_type is None:
            return
        sent_at = self.timestamp(item, path, "message")
        if sent_at is None:
            return
        if msg_type == "system":
            self.system(item, wamid, phone_number_id, sent_at, path)
            return

        from_id = nonempty(item.get("from"))
        from_user_id = nonempty(item.get("from_user_id"))
        contact = sole_contact
        if contacts_by_id:
            contact = (contacts_by_id.get(from_id) if from_id else None) or (
                contacts_by_id.get(from_user_id) if from_user_id else None
            )
        sender = read_sender(contact, from_id, from_user_id)
        if sender.wa_id is None and sender.user_id is None:
            self.warnings.append(f"{path} has neither from nor from_user_id; sender unknown")

        reader = READERS.get(msg_type)
        if reader is None:
            content = NO_CONTENT
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
            context_id = nonempty(context.get("id"))
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
                f"{path}.system is {kind_of(system)}; expected an object with type, message skipped"
            )
            return
        kind = nonempty(system.get("type"))
        if kind is None:
            self.warnings.append(f"{path}.system.type is {describe(system.get('type'))}")
        self.events.append(
            IdentityChange(
                wamid=wamid,
                phone_number_id=phone_number_id,
                kind=kind or "unknown",
                at=at,
                old_wa_id=nonempty(item.get("from")),
                new_wa_id=nonempty(system.get("wa_id")) or nonempty(system.get("new_wa_id")),
                old_user_id=(
                    nonempty(system.get("previous_user_id")) or nonempty(item.get("from_user_id"))
                ),
                new_user_id=nonempty(system.get("user_id")) or nonempty(system.get("new_user_id")),
                body=nonempty(system.get("body")),
                payload=item,
            )
        )

    def status(self, item: object, phone_number_id: str, path: str) -> None:
        if not isinstance(item, dict):
            self.warnings.append(f"{path} is {kind_of(item)}; expected a status object, skipped")
            return
        wamid = self.required(item, "id", path, "the wamid we sent", "status")
        if wamid is None:
            return
        wire = item.get("status")
        if not isinstance(wire, str):
            self.warnings.append(
                f"{path}.status is {describe(wire)}; expected sent/delivered/read/played/failed,"
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
        at = self.timestamp(item, path, "status")
        if at is None:
            return
        self.events.append(
            StatusUpdate(
                wamid=wamid,
                phone_number_id=phone_number_id,
                status=status,
                at=at,
                recipient_id=nonempty(item.get("recipient_id")),
                recipient_user_id=nonempty(item.get("recipient_user_id")),
                callback_data=nonempty(item.get("biz_opaque_callback_data")),
                errors=errors,
                payload=item,
            )
        )

    def required(
        self, item: dict[str, Any], key: str, path: str, expected: str, what: str
    ) -> str | None:
        """`item[key]` when it is a non-empty string; else None, and a warning that the `what`
        at `path` is skipped."""
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        self.warnings.append(
            f"{path}.{key} is {describe(value)}; expected {expected}, {what} skipped"
        )
        return None

    def timestamp(self, item: dict[str, Any], path: str, what: str) -> datetime | None:
        """`item["timestamp"]` as a datetime; else None, and a warning that the `what` is
        skipped."""
        raw = item.get("timestamp")
        at = read_timestamp(raw)
        if at is None:
            self.warnings.append(
                f"{path}.timestamp is {describe(raw)}; expected Unix seconds "
                f"as a string or number, {what} skipped"
            )
        return at

    def api_errors(self, raw: object, path: str) -> tuple[ApiError, ...]:
        if not isinstance(raw, list):
            self.warnings.append(f"{path} is {kind_of(raw)}; expected a list of error objects")
            return ()
        errors: list[ApiError] = []
        for k, item in enumerate(raw):
            if not isinstance(item, dict):
                self.warnings.append(f"{path}[{k}] is {kind_of(item)}; expected an error object")
                continue
            code = item.get("code")
            if isinstance(code, str) and code.isascii() and code.isdigit():
                code = int(code)
            if not isinstance(code, int) or isinstance(code, bool):
                self.warnings.append(
                    f"{path}[{k}].code is {describe(code)}; expected an integer code, skipped"
                )
                continue
            error_data = item.get("error_data")
            details = error_data.get("details") if isinstance(error_data, dict) else None
            errors.append(
                ApiError(
                    code=code,
                    title=nonempty(item.get("title")) or "",
                    message=nonempty(item.get("message")) or "",
                    details=details if isinstance(details, str) else "",
                )
            )
        return tuple(errors)


def _list_or_raise(raw: object, path: str, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WebhookPayloadError(path, f"{path} is {kind_of(raw)}; expected a list of {what}")
    return raw
