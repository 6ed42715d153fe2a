"""The walk over one webhook's entries, changes, messages and statuses (see `webhook`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relaydesk.adapters.whatsapp._readers import (
    CALLBACK_DATA_MAX,
    CONTRACT_MESSAGE_TYPES,
    KIND_MAX,
    KNOWN_FIELDS,
    NO_CONTENT,
    PHONE_NUMBER_ID_MAX,
    READERS,
    TEXT_MAX,
    TITLE_MAX,
    TYPE_MAX,
    USER_ID_MAX,
    WA_ID_MAX,
    WAMID_MAX,
    cut,
    describe,
    kind_of,
    nonempty,
    read_code,
    read_contact,
    read_id,
    read_sender,
    read_timestamp,
    sized,
)
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

#: the most characters of an unknown field or status name kept in an Ignored event's reason
_REASON_MAX = 60


class WebhookPayloadError(ValueError):
    """The body is not a WhatsApp webhook at all. `path` is the JSON path at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class Parser:
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
            read_id(metadata.get("phone_number_id"), PHONE_NUMBER_ID_MAX, numbers=True)
            if isinstance(metadata, dict)
            else None
        )
        self.events.append(
            Ignored(
                reason=f"field:{field_name[:_REASON_MAX]}",
                phone_number_id=phone_number_id,
                payload=value if isinstance(value, dict) else {"value": value},
            )
        )
        if field_name not in KNOWN_FIELDS:
            self.warnings.append(
                f"{path}.field is {describe(field_name)}; not a known field, ignored"
            )

    def messages_value(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise WebhookPayloadError(
                path, f"{path} is {kind_of(value)}; expected an object with metadata and messages"
            )
        metadata = value.get("metadata")
        raw_id = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        phone_number_id = read_id(raw_id, PHONE_NUMBER_ID_MAX, numbers=True)
        if phone_number_id is None:
            raise WebhookPayloadError(
                f"{path}.metadata.phone_number_id",
                f"{path}.metadata.phone_number_id is {describe(raw_id)}; expected the business "
                "phone number id (a string of digits, at most "
                f"{PHONE_NUMBER_ID_MAX} characters) that the messages were sent to",
            )
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

    def contacts(self, raw: object, path: str) -> tuple[Sender | None, dict[str, Sender]]:
        """(the sole contact, or None; contacts by wa_id and user_id when there are several)."""
        if raw is None:
            return None, {}
        if not isinstance(raw, list):
            self.warnings.append(f"{path} is {kind_of(raw)}; expected a list, contacts not used")
            return None, {}
        contacts: list[Sender] = []
        for k, item in enumerate(raw):
            if isinstance(item, dict):
                contacts.append(read_contact(item, f"{path}[{k}]", self.warnings))
            else:
                self.warnings.append(f"{path}[{k}] is {kind_of(item)}; expected an object, skipped")
        if len(contacts) == 1:
            return contacts[0], {}
        by_id: dict[str, Sender] = {}
        for contact in contacts:
            for ident in (contact.wa_id, contact.user_id):
                if ident:
                    by_id.setdefault(ident, contact)
        return None, by_id

    def message(
        self,
        item: object,
        phone_number_id: str,
        sole_contact: Sender | None,
        contacts_by_id: dict[str, Sender],
        path: str,
    ) -> None:
        if not isinstance(item, dict):
            self.warnings.append(f"{path} is {kind_of(item)}; expected a message object, skipped")
            return
        wamid = self.required(item, "id", path, "the message's wamid", "message", WAMID_MAX)
        if wamid is None:
            return
        msg_type = self.required(item, "type", path, "a message type", "message", TYPE_MAX)
        if msg_type is None:
            return
        sent_at = self.timestamp(item, path, "message")
        if sent_at is None:
            return
        if msg_type == "system":
            self.system(item, wamid, phone_number_id, sent_at, path)
            return

        raw_from, raw_user_id = item.get("from"), item.get("from_user_id")
        from_id = read_id(raw_from, WA_ID_MAX, numbers=True)
        from_user_id = read_id(raw_user_id, USER_ID_MAX)
        contact = sole_contact
        if contacts_by_id:
            contact = (contacts_by_id.get(from_id) if from_id else None) or (
                contacts_by_id.get(from_user_id) if from_user_id else None
            )
        sender = read_sender(contact, from_id, from_user_id)
        if sender.wa_id is None and sender.user_id is None:
            self.warnings.append(
                f"{path} has no usable sender: from is {sized(raw_from)}, from_user_id is "
                f"{sized(raw_user_id)} (expected a phone number of at most {WA_ID_MAX} or a user "
                f"id of at most {USER_ID_MAX} characters) and no contact names one; "
                "message skipped"
            )
            return

        reader = READERS.get(msg_type)
        if reader is None:
            content = NO_CONTENT
            if msg_type not in CONTRACT_MESSAGE_TYPES:
                self.warnings.append(
                    f"{path}.type is {describe(msg_type)}; not a type in the contract, "
                    "kept without text"
                )
        else:
            content = reader(item.get(msg_type))
            if content.problem is not None:
                self.warnings.append(f"{path}.{msg_type}{content.problem}")
        text = cut(content.text, TEXT_MAX, f"{path}.{msg_type} text", self.warnings)

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
                text=text,
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
        raw_kind = system.get("type")
        kind = read_id(raw_kind, KIND_MAX)
        if kind is None:
            shown = sized(raw_kind) if isinstance(raw_kind, str) else describe(raw_kind)
            self.warnings.append(
                f"{path}.system.type is {shown}; expected a change type of at most "
                f"{KIND_MAX} characters, kept as 'unknown'"
            )

        def wa_id(raw: object) -> str | None:
            return read_id(raw, WA_ID_MAX, numbers=True)

        def user_id(raw: object) -> str | None:
            return read_id(raw, USER_ID_MAX)

        self.events.append(
            IdentityChange(
                wamid=wamid,
                phone_number_id=phone_number_id,
                kind=kind or "unknown",
                at=at,
                old_wa_id=wa_id(item.get("from")),
                new_wa_id=wa_id(system.get("wa_id")) or wa_id(system.get("new_wa_id")),
                old_user_id=user_id(system.get("previous_user_id"))
                or user_id(item.get("from_user_id")),
                new_user_id=user_id(system.get("user_id")) or user_id(system.get("new_user_id")),
                body=cut(
                    nonempty(system.get("body")), TEXT_MAX, f"{path}.system.body", self.warnings
                ),
                payload=item,
            )
        )

    def status(self, item: object, phone_number_id: str, path: str) -> None:
        if not isinstance(item, dict):
            self.warnings.append(f"{path} is {kind_of(item)}; expected a status object, skipped")
            return
        wamid = self.required(item, "id", path, "the wamid we sent", "status", WAMID_MAX)
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
                    reason=f"status:{wire[:_REASON_MAX]}",
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
                callback_data=self.callback_data(item, path),
                errors=errors,
                payload=item,
            )
        )

    def required(
        self, item: dict[str, Any], key: str, path: str, expected: str, what: str, limit: int
    ) -> str | None:
        """`item[key]` when it is a non-empty string of at most `limit` characters; else None,
        and a warning that the `what` at `path` is skipped."""
        value = item.get(key)
        if isinstance(value, str) and value:
            if len(value) <= limit:
                return value
            self.warnings.append(
                f"{path}.{key} is {sized(value)}; expected {expected} of at most {limit} "
                f"characters, {what} skipped"
            )
            return None
        self.warnings.append(
            f"{path}.{key} is {describe(value)}; expected {expected}, {what} skipped"
        )
        return None

    def callback_data(self, item: dict[str, Any], path: str) -> str | None:
        """`biz_opaque_callback_data`: ours, so never longer than we send; else dropped."""
        raw = nonempty(item.get("biz_opaque_callback_data"))
        if raw is None or len(raw) <= CALLBACK_DATA_MAX:
            return raw
        self.warnings.append(
            f"{path}.biz_opaque_callback_data is {sized(raw)}; expected at most "
            f"{CALLBACK_DATA_MAX}, dropped"
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
            raw_code = item.get("code")
            code = read_code(raw_code)
            if code is None:
                self.warnings.append(
                    f"{path}[{k}].code is {describe(raw_code)}; expected an integer code "
                    "that fits 32 bits, skipped"
                )
                continue
            error_data = item.get("error_data")
            details = error_data.get("details") if isinstance(error_data, dict) else None
            at = f"{path}[{k}]"
            errors.append(
                ApiError(
                    code=code,
                    title=cut(nonempty(item.get("title")), TITLE_MAX, f"{at}.title", self.warnings)
                    or "",
                    message=cut(
                        nonempty(item.get("message")), TEXT_MAX, f"{at}.message", self.warnings
                    )
                    or "",
                    details=cut(
                        nonempty(details), TEXT_MAX, f"{at}.error_data.details", self.warnings
                    )
                    or "",
                )
            )
        return tuple(errors)


def _list_or_raise(raw: object, path: str, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WebhookPayloadError(path, f"{path} is {kind_of(raw)}; expected a list of {what}")
    return raw
