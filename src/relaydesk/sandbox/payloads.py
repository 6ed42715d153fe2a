"""Pure builders for the sandbox: WhatsApp-shaped webhook bodies, their signature, and the
parsing of Send API request bodies into something the phone page can draw.

Nothing here does I/O or reads the clock; timestamps and wamids are arguments (see
`new_wamid`). The shapes follow `whatsapp-cloud-api.md` §2 (inbound), §2.6 (statuses) and
§3 (Send API), and the samples in `whatsapp-samples/`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

ReplyKind = Literal["button", "list", "quick_reply"]
StatusName = Literal["sent", "delivered", "read", "failed"]

SUPPORTED_TYPES = frozenset(
    {
        "text",
        "interactive",
        "template",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
    }
)
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})

MAX_BUTTONS = 3
MAX_LIST_ROWS = 10
MAX_TEXT_BODY = 4096


def new_wamid() -> str:
    """A fresh, unique message id shaped like Meta's (`wamid.` + base64 of random bytes)."""
    return "wamid." + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode("ascii")


def encode_body(payload: dict[str, Any]) -> bytes:
    """Serialise as Meta does on the wire: compact, non-ASCII escaped as `\\uXXXX`."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature_header(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value: HMAC-SHA256 over the exact bytes, lowercase hex."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True, slots=True)
class BusinessNumber:
    """The business phone number the sandbox pretends to be."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str


@dataclass(frozen=True, slots=True)
class Customer:
    """Who the simulated phone belongs to."""

    wa_id: str
    name: str
    user_id: str | None = None  #: BSUID, e.g. "US.13491208655302741918"


def _envelope(number: BusinessNumber, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": number.waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": number.display_phone_number,
                                "phone_number_id": number.phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def _contacts(customer: Customer) -> list[dict[str, Any]]:
    contact: dict[str, Any] = {"profile": {"name": customer.name}, "wa_id": customer.wa_id}
    if customer.user_id:
        contact["user_id"] = customer.user_id
    return [contact]


def _message_base(customer: Customer, wamid: str, timestamp: int, kind: str) -> dict[str, Any]:
    message: dict[str, Any] = {"from": customer.wa_id}
    if customer.user_id:
        message["from_user_id"] = customer.user_id
    message.update({"id": wamid, "timestamp": str(timestamp), "type": kind})
    return message


def inbound_text_webhook(
    *, number: BusinessNumber, customer: Customer, text: str, wamid: str, timestamp: int
) -> dict[str, Any]:
    """A customer's text message (`type: text`)."""
    message = _message_base(customer, wamid, timestamp, "text")
    message["text"] = {"body": text}
    return _envelope(number, {"contacts": _contacts(customer), "messages": [message]})


def inbound_reply_webhook(
    *,
    number: BusinessNumber,
    customer: Customer,
    kind: ReplyKind,
    reply_id: str,
    title: str,
    context_wamid: str,
    wamid: str,
    timestamp: int,
    description: str | None = None,
) -> dict[str, Any]:
    """A tap on a reply button or list row (`interactive` button_reply / list_reply), or on a
    template quick-reply button (`type: button` with `payload`). `context.id` is the wamid of
    the message that was tapped, `context.from` the business number."""
    context = {"from": number.display_phone_number, "id": context_wamid}
    if kind == "quick_reply":
        message = _message_base(customer, wamid, timestamp, "button")
        message["button"] = {"payload": reply_id, "text": title}
    else:
        message = _message_base(customer, wamid, timestamp, "interactive")
        reply_type = "button_reply" if kind == "button" else "list_reply"
        reply: dict[str, Any] = {"id": reply_id, "title": title}
        if kind == "list" and description:
            reply["description"] = description
        message["interactive"] = {"type": reply_type, reply_type: reply}
    message = {"context": context, **message}
    return _envelope(number, {"contacts": _contacts(customer), "messages": [message]})


def status_webhook(
    *,
    number: BusinessNumber,
    wamid: str,
    status: StatusName,
    recipient_id: str,
    timestamp: int,
    recipient_user_id: str | None = None,
    biz_opaque_callback_data: str | None = None,
    category: str = "service",
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A receipt for an outbound message (§2.6, v24.0+ shape: no `conversation` object;
    `pricing` only on `sent`)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if recipient_user_id:
        item["recipient_user_id"] = recipient_user_id
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status == "sent":
        free = category == "service"
        item["pricing"] = {
            "billable": not free,
            "pricing_model": "PMP",
            "type": "free_customer_service" if free else "regular",
            "category": category,
        }
    if errors:
        item["errors"] = errors
    return _envelope(number, {"statuses": [item]})


# --- Send API request bodies (what the fake Graph receives) --------------------------------


class GraphRequestError(ValueError):
    """A Send API body the real Graph API would reject with code 100; `field` names the part."""

    def __init__(self, field: str, details: str) -> None:
        super().__init__(f"{field}: {details}")
        self.field = field
        self.details = f"{field}: {details}"


def graph_error(
    code: int, message: str, details: str | None = None, *, error_type: str = "OAuthException"
) -> dict[str, Any]:
    """The Graph API error envelope (§3.7)."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return {"error": error}


def _obj(body: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise GraphRequestError(path, "required object is missing")
    return value


def _str(body: dict[str, Any], key: str, path: str, *, limit: int | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise GraphRequestError(path, "required non-empty string is missing")
    if limit is not None and len(value) > limit:
        raise GraphRequestError(path, f"is {len(value)} characters; the limit is {limit}")
    return value


def _opt_text(body: dict[str, Any], key: str) -> str | None:
    part = body.get(key)
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return str(part["text"])
    return None


def render_outbound(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Validate a Send API message body minimally and turn it into page content.

    Returns (type, content). Raises GraphRequestError naming the offending field.
    """
    kind = body.get("type", "text")  # the Graph API defaults a missing type to text
    if not isinstance(kind, str) or kind not in SUPPORTED_TYPES:
        raise GraphRequestError("type", f"unsupported message type {kind!r}")
    if kind == "text":
        text = _obj(body, "text", "text")
        return kind, {"text": _str(text, "body", "text.body", limit=MAX_TEXT_BODY)}
    if kind == "interactive":
        return kind, _render_interactive(_obj(body, "interactive", "interactive"))
    if kind == "template":
        return kind, _render_template(_obj(body, "template", "template"))
    if kind == "reaction":
        reaction = _obj(body, "reaction", "reaction")
        return kind, {
            "message_id": _str(reaction, "message_id", "reaction.message_id"),
            "emoji": str(reaction.get("emoji") or ""),
        }
    part = _obj(body, kind, kind)
    if kind in MEDIA_TYPES and not (part.get("id") or part.get("link")):
        raise GraphRequestError(f"{kind}.id", "either id or link is required")
    caption = part.get("caption") or part.get("name") or part.get("filename") or ""
    return kind, {"text": f"[{kind}] {caption}".strip()}


def _render_interactive(interactive: dict[str, Any]) -> dict[str, Any]:
    itype = interactive.get("type")
    body = _str(_obj(interactive, "body", "interactive.body"), "text", "interactive.body.text")
    content: dict[str, Any] = {
        "interactive": itype,
        "text": body,
        "header": _opt_text(interactive, "header"),
        "footer": _opt_text(interactive, "footer"),
    }
    action = _obj(interactive, "action", "interactive.action")
    if itype == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise GraphRequestError(
                "interactive.action.buttons", f"between 1 and {MAX_BUTTONS} buttons are required"
            )
        rendered = []
        for i, button in enumerate(buttons):
            path = f"interactive.action.buttons[{i}].reply"
            reply = _obj(button, "reply", path) if isinstance(button, dict) else None
            if reply is None:
                raise GraphRequestError(path, "required object is missing")
            rendered.append(
                {
                    "id": _str(reply, "id", f"{path}.id", limit=256),
                    "title": _str(reply, "title", f"{path}.title", limit=20),
                }
            )
        content["buttons"] = rendered
        return content
    if itype == "list":
        content["button"] = _str(action, "button", "interactive.action.button", limit=20)
        sections = action.get("sections")
        if not isinstance(sections, list) or not sections:
            raise GraphRequestError("interactive.action.sections", "at least 1 section required")
        rendered_sections = []
        total = 0
        for i, section in enumerate(sections):
            path = f"interactive.action.sections[{i}]"
            rows = section.get("rows") if isinstance(section, dict) else None
            if not isinstance(rows, list) or not rows:
                raise GraphRequestError(f"{path}.rows", "at least 1 row required")
            total += len(rows)
            rendered_rows = []
            for j, row in enumerate(rows):
                row_path = f"{path}.rows[{j}]"
                if not isinstance(row, dict):
                    raise GraphRequestError(row_path, "required object is missing")
                rendered_rows.append(
                    {
                        "id": _str(row, "id", f"{row_path}.id", limit=200),
                        "title": _str(row, "title", f"{row_path}.title", limit=24),
                        "description": row.get("description"),
                    }
                )
            title = section.get("title") if isinstance(section, dict) else None
            rendered_sections.append({"title": title, "rows": rendered_rows})
        if total > MAX_LIST_ROWS:
            raise GraphRequestError(
                "interactive.action.sections", f"{total} rows; at most {MAX_LIST_ROWS} in total"
            )
        content["sections"] = rendered_sections
        return content
    raise GraphRequestError("interactive.type", f"unsupported interactive type {itype!r}")


def _param_text(param: dict[str, Any]) -> str:
    ptype = param.get("type")
    if ptype == "text":
        return str(param.get("text", ""))
    if ptype in ("currency", "date_time"):
        inner = param.get(ptype)
        if isinstance(inner, dict):
            return str(inner.get("fallback_value", ""))
    if ptype == "payload":
        return str(param.get("payload", ""))
    return f"[{ptype}]"


def _render_template(template: dict[str, Any]) -> dict[str, Any]:
    name = _str(template, "name", "template.name")
    language = _obj(template, "language", "template.language")
    code = _str(language, "code", "template.language.code")
    params: list[dict[str, str | None]] = []
    quick_replies: list[dict[str, str]] = []
    components = template.get("components") or []
    if not isinstance(components, list):
        raise GraphRequestError("template.components", "must be a list")
    for component in components:
        if not isinstance(component, dict):
            continue
        parameters = [p for p in component.get("parameters") or [] if isinstance(p, dict)]
        if component.get("type") == "body":
            params.extend(
                {"name": p.get("parameter_name"), "value": _param_text(p)} for p in parameters
            )
        elif component.get("type") == "button" and component.get("sub_type") == "quick_reply":
            for p in parameters:
                payload = _param_text(p)
                quick_replies.append({"id": payload, "title": payload})
    return {
        "template": name,
        "language": code,
        "params": params,
        "quick_replies": quick_replies,
        "text": f"Template {name} ({code})",
    }
