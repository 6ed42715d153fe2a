"""WhatsApp's content limits (cloud API doc §4.7), checked before anything is sent.

A message over a limit is rejected by the Graph API with a generic 100/131009; checking here
turns that into an error that names the field, its length and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from relaydesk.domain.outbound import (
    Buttons,
    ListMessage,
    OutboundContent,
    Template,
    Text,
)

TEXT_BODY_MAX = 4096
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
BUTTONS_BODY_MAX = 1024
HEADER_FOOTER_MAX = 60
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10
LIST_TITLE_MAX = 24
LIST_ROW_ID_MAX = 200
LIST_DESCRIPTION_MAX = 72
LIST_BODY_MAX = 4096
CALLBACK_DATA_MAX = 512


class ContentLimitError(ValueError):
    """Outbound content that WhatsApp would reject; the message names the field and the fix."""


def validate(content: OutboundContent) -> None:
    """Raise ContentLimitError if `content` breaks any of WhatsApp's content limits."""
    if isinstance(content, Text):
        _required("text.body", content.body, TEXT_BODY_MAX)
    elif isinstance(content, Buttons):
        _validate_buttons(content)
    elif isinstance(content, ListMessage):
        _validate_list(content)
    elif isinstance(content, Template):
        _validate_template(content)
    else:
        raise ContentLimitError(
            f"content is a {type(content).__name__}; expected Text, Buttons, ListMessage "
            "or Template."
        )


def check_callback_data(value: str) -> None:
    """`biz_opaque_callback_data` is echoed back on statuses; WhatsApp caps it at 512."""
    if not value:
        raise ContentLimitError("callback_data is empty; pass None to send without it.")
    _max("callback_data", value, CALLBACK_DATA_MAX)


def _validate_buttons(content: Buttons) -> None:
    _required("buttons.body", content.body, BUTTONS_BODY_MAX)
    _optional("buttons.header", content.header, HEADER_FOOTER_MAX)
    _optional("buttons.footer", content.footer, HEADER_FOOTER_MAX)
    _count("buttons", len(content.buttons), 1, BUTTONS_MAX, "reply buttons")
    for i, button in enumerate(content.buttons):
        _required(f"buttons[{i}].id", button.id, BUTTON_ID_MAX)
        _required(f"buttons[{i}].title", button.title, BUTTON_TITLE_MAX)
    _unique("buttons", "title", [b.title for b in content.buttons])
    _unique("buttons", "id", [b.id for b in content.buttons])


def _validate_list(content: ListMessage) -> None:
    _required("list.body", content.body, LIST_BODY_MAX)
    _required("list.button", content.button, LIST_BUTTON_MAX)
    _optional("list.header", content.header, HEADER_FOOTER_MAX)
    _optional("list.footer", content.footer, HEADER_FOOTER_MAX)
    _count("list.sections", len(content.sections), 1, LIST_SECTIONS_MAX, "sections")
    several = len(content.sections) > 1
    row_ids: list[str] = []
    for s, section in enumerate(content.sections):
        where = f"list.sections[{s}]"
        if several:  # WhatsApp requires a section title only when there is more than one
            _required(f"{where}.title", section.title, LIST_TITLE_MAX)
        else:
            _max(f"{where}.title", section.title, LIST_TITLE_MAX)
        if not section.rows:
            raise ContentLimitError(f"{where}.rows is empty; every section needs a row.")
        for r, row in enumerate(section.rows):
            _required(f"{where}.rows[{r}].id", row.id, LIST_ROW_ID_MAX)
            _required(f"{where}.rows[{r}].title", row.title, LIST_TITLE_MAX)
            _optional(f"{where}.rows[{r}].description", row.description, LIST_DESCRIPTION_MAX)
            row_ids.append(row.id)
    _count("list rows (all sections)", len(row_ids), 1, LIST_ROWS_MAX, "rows in total")
    _unique("list rows", "id", row_ids)


def _validate_template(content: Template) -> None:
    if not content.name.strip():
        raise ContentLimitError("template.name is empty; give the approved template's name.")
    if not content.language.strip():
        raise ContentLimitError(
            "template.language is empty; give the language code it was approved in, e.g. en_US."
        )
    for i, param in enumerate(content.body_params):
        if not param.strip():
            raise ContentLimitError(
                f"template.body_params[{i}] is empty; WhatsApp rejects empty parameters."
            )
    if content.body_params and any(c.get("type") == "body" for c in content.components):
        raise ContentLimitError(
            "template has both body_params and a raw 'body' component; use one of the two."
        )


def _required(field: str, value: str, limit: int) -> None:
    if not value.strip():
        raise ContentLimitError(f"{field} is empty; WhatsApp requires some text there.")
    _max(field, value, limit)


def _optional(field: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if not value.strip():
        raise ContentLimitError(f"{field} is empty; use None to leave it out.")
    _max(field, value, limit)


def _max(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ContentLimitError(
            f"{field} is {len(value)} characters; WhatsApp allows at most {limit}. Shorten it."
        )


def _count(field: str, count: int, low: int, high: int, noun: str) -> None:
    if not low <= count <= high:
        raise ContentLimitError(
            f"{field} has {count}; WhatsApp allows {low} to {high} {noun}. "
            + ("Add one." if count < low else "Remove some or split the message.")
        )


def _unique(field: str, attribute: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ContentLimitError(
                f"{field}[{i}].{attribute} {value!r} is repeated; WhatsApp requires unique "
                f"{attribute}s. Rename one."
            )
        seen.add(value)
