"""Outbound content <-> JSON: the Send API body (cloud API doc §3.1-3.4), and a lossless,
JSON-safe form for storing content in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relaydesk.adapters.whatsapp.limits import check_callback_data
from relaydesk.domain.outbound import (
    Button,
    Buttons,
    ListMessage,
    ListRow,
    ListSection,
    OutboundContent,
    Template,
    Text,
    content_kind,
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to: the wa_id, the BSUID (`user_id`), or both (wa_id wins)."""

    wa_id: str | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        if not self.wa_id and not self.user_id:
            raise ValueError(
                "Recipient has neither wa_id nor user_id; pass at least one "
                "(the wa_id, or the BSUID for a customer who hides their number)."
            )

    @property
    def key(self) -> str:
        """A stable key for per-recipient state such as pacing."""
        return self.wa_id or f"bsuid:{self.user_id}"


def to_graph_body(
    content: OutboundContent,
    *,
    recipient: Recipient,
    reply_to: str | None = None,
    callback_data: str | None = None,
) -> dict[str, Any]:
    """The JSON body for `POST /{phone_number_id}/messages`. Does not check content limits."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    if recipient.wa_id:
        body["to"] = recipient.wa_id
    else:  # BSUID-only customer (§2.8): "recipient" replaces "to"
        body["recipient"] = recipient.user_id
    if reply_to is not None:
        body["context"] = {"message_id": reply_to}
    if callback_data is not None:
        check_callback_data(callback_data)
        body["biz_opaque_callback_data"] = callback_data
    if isinstance(content, Text):
        body["type"] = "text"
        body["text"] = {"body": content.body, "preview_url": content.preview_url}
    elif isinstance(content, Template):
        body["type"] = "template"
        body["template"] = _template(content)
    else:
        body["type"] = "interactive"
        body["interactive"] = (
            _buttons(content) if isinstance(content, Buttons) else _list_message(content)
        )
    return body


def _buttons(content: Buttons) -> dict[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in content.buttons]
    return _interactive("button", content, {"buttons": buttons})


def _list_message(content: ListMessage) -> dict[str, Any]:
    sections = []
    for section in content.sections:
        rows = []
        for row in section.rows:
            item = {"id": row.id, "title": row.title}
            if row.description is not None:
                item["description"] = row.description
            rows.append(item)
        wire: dict[str, Any] = {"rows": rows}
        if section.title:
            wire["title"] = section.title
        sections.append(wire)
    return _interactive("list", content, {"button": content.button, "sections": sections})


def _interactive(
    kind: str, content: Buttons | ListMessage, action: dict[str, Any]
) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind}
    if content.header is not None:
        interactive["header"] = {"type": "text", "text": content.header}
    interactive["body"] = {"text": content.body}
    if content.footer is not None:
        interactive["footer"] = {"text": content.footer}
    interactive["action"] = action
    return interactive


def _template(content: Template) -> dict[str, Any]:
    template: dict[str, Any] = {"name": content.name, "language": {"code": content.language}}
    components: list[dict[str, Any]] = []
    if content.body_params:
        parameters = [{"type": "text", "text": p} for p in content.body_params]
        components.append({"type": "body", "parameters": parameters})
    components.extend(content.components)
    if components:
        template["components"] = components
    return template


def content_to_dict(content: OutboundContent) -> dict[str, Any]:
    """A JSON-safe dict with a "kind" key; `content_from_dict` turns it back, losslessly."""
    kind = content_kind(content)
    if isinstance(content, Text):
        return {"kind": kind, "body": content.body, "preview_url": content.preview_url}
    if isinstance(content, Buttons):
        return {
            "kind": kind,
            "body": content.body,
            "buttons": [{"id": b.id, "title": b.title} for b in content.buttons],
            "header": content.header,
            "footer": content.footer,
        }
    if isinstance(content, ListMessage):
        return {
            "kind": kind,
            "body": content.body,
            "button": content.button,
            "sections": [
                {
                    "title": s.title,
                    "rows": [
                        {"id": r.id, "title": r.title, "description": r.description} for r in s.rows
                    ],
                }
                for s in content.sections
            ],
            "header": content.header,
            "footer": content.footer,
        }
    return {
        "kind": kind,
        "name": content.name,
        "language": content.language,
        "body_params": list(content.body_params),
        "components": [dict(c) for c in content.components],
    }


def content_from_dict(d: dict[str, Any]) -> OutboundContent:
    """The inverse of `content_to_dict`; ValueError names the key that is missing or wrong."""
    kind = d.get("kind")
    if kind == "text":
        return Text(body=_str(d, "body"), preview_url=_bool(d, "preview_url"))
    if kind == "buttons":
        return Buttons(
            body=_str(d, "body"),
            buttons=tuple(
                Button(id=_str(b, "id"), title=_str(b, "title")) for b in _dicts(d, "buttons")
            ),
            header=_opt_str(d, "header"),
            footer=_opt_str(d, "footer"),
        )
    if kind == "list":
        return ListMessage(
            body=_str(d, "body"),
            button=_str(d, "button"),
            sections=tuple(
                ListSection(
                    title=_str(s, "title"),
                    rows=tuple(
                        ListRow(
                            id=_str(r, "id"),
                            title=_str(r, "title"),
                            description=_opt_str(r, "description"),
                        )
                        for r in _dicts(s, "rows")
                    ),
                )
                for s in _dicts(d, "sections")
            ),
            header=_opt_str(d, "header"),
            footer=_opt_str(d, "footer"),
        )
    if kind == "template":
        params = d.get("body_params", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise ValueError(f"stored template body_params is {params!r}; expected a list of str.")
        return Template(
            name=_str(d, "name"),
            language=_str(d, "language"),
            body_params=tuple(params),
            components=tuple(dict(c) for c in _dicts(d, "components", default=[])),
        )
    raise ValueError(
        f"stored content has kind {kind!r}; expected one of 'text', 'buttons', 'list', 'template'."
    )


def _str(d: dict[str, Any], key: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise ValueError(f"stored content key {key!r} is {value!r}; expected a string.")
    return value


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    return None if d.get(key) is None else _str(d, key)


def _bool(d: dict[str, Any], key: str) -> bool:
    value = d.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"stored content key {key!r} is {value!r}; expected true or false.")
    return value


def _dicts(d: dict[str, Any], key: str, default: list[Any] | None = None) -> list[dict[str, Any]]:
    value = d.get(key, default)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"stored content key {key!r} is {value!r}; expected a list of objects.")
    return value
