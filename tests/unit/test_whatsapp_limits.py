from __future__ import annotations

import re

import pytest

from relaydesk.adapters.whatsapp.limits import ContentLimitError, check_callback_data, validate
from relaydesk.domain.outbound import (
    Button,
    Buttons,
    ListMessage,
    ListRow,
    ListSection,
    OutboundContent,
    Template,
    Text,
)


def buttons(*titles: str, **overrides: object) -> Buttons:
    fields: dict[str, object] = {
        "body": "Pick one",
        "buttons": tuple(Button(id=f"b{i}", title=t) for i, t in enumerate(titles)),
    }
    fields.update(overrides)
    return Buttons(**fields)  # type: ignore[arg-type]


def rows(n: int, prefix: str = "r") -> tuple[ListRow, ...]:
    return tuple(ListRow(id=f"{prefix}{i}", title=f"Row {i}") for i in range(n))


def list_message(*sections: ListSection, **overrides: object) -> ListMessage:
    fields: dict[str, object] = {
        "body": "Choose",
        "button": "Options",
        "sections": sections or (ListSection(title="Topics", rows=rows(2)),),
    }
    fields.update(overrides)
    return ListMessage(**fields)  # type: ignore[arg-type]


VALID: list[OutboundContent] = [
    Text(body="x" * 4096),
    buttons("a" * 20, "b", "c", header="h" * 60, footer="f" * 60, body="y" * 1024),
    buttons("Only one"),
    list_message(header="h" * 60, footer="f" * 60, body="z" * 4096, button="b" * 20),
    list_message(*(ListSection(title=f"S{i}", rows=rows(1, f"s{i}r")) for i in range(10))),
    list_message(ListSection(title="", rows=rows(10))),  # a lone section needs no title
    list_message(
        ListSection(
            title="t" * 24,
            rows=(ListRow(id="i" * 200, title="t" * 24, description="d" * 72),),
        )
    ),
    Template(name="order_update", language="en_US", body_params=("Pablo", "123")),
]


@pytest.mark.parametrize("content", VALID)
def test_content_at_the_limits_passes(content: OutboundContent) -> None:
    validate(content)


INVALID: list[tuple[OutboundContent, str]] = [
    # text
    (Text(body="x" * 4097), "text.body is 4097 characters; WhatsApp allows at most 4096"),
    (Text(body="  "), "text.body is empty"),
    # reply buttons
    (buttons("a", "b", "c", "d"), "buttons has 4; WhatsApp allows 1 to 3 reply buttons"),
    (buttons(), "buttons has 0; WhatsApp allows 1 to 3"),
    (buttons("ok", "t" * 23), "buttons[1].title is 23 characters; WhatsApp allows at most 20."),
    (buttons("Yes", "Yes"), "buttons[1].title 'Yes' is repeated"),
    (buttons("ok", body="b" * 1025), "buttons.body is 1025 characters"),
    (buttons("ok", body=""), "buttons.body is empty"),
    (buttons("ok", header="h" * 61), "buttons.header is 61 characters; WhatsApp allows at most 60"),
    (buttons("ok", footer="f" * 61), "buttons.footer is 61 characters"),
    (buttons("ok", footer=""), "buttons.footer is empty; use None"),
    (
        Buttons(body="b", buttons=(Button(id="i" * 257, title="t"),)),
        "buttons[0].id is 257 characters; WhatsApp allows at most 256",
    ),
    (Buttons(body="b", buttons=(Button(id="", title="t"),)), "buttons[0].id is empty"),
    (
        Buttons(body="b", buttons=(Button(id="x", title="1"), Button(id="x", title="2"))),
        "buttons[1].id 'x' is repeated",
    ),
    # lists
    (list_message(button="b" * 21), "list.button is 21 characters; WhatsApp allows at most 20"),
    (list_message(button=""), "list.button is empty"),
    (list_message(body="z" * 4097), "list.body is 4097 characters"),
    (list_message(body=""), "list.body is empty"),
    (list_message(header="h" * 61), "list.header is 61 characters"),
    (list_message(footer="f" * 61), "list.footer is 61 characters"),
    (list_message(sections=()), "list.sections has 0; WhatsApp allows 1 to 10 sections"),
    (
        list_message(*(ListSection(title=f"S{i}", rows=rows(1, f"s{i}")) for i in range(11))),
        "list.sections has 11; WhatsApp allows 1 to 10 sections",
    ),
    (
        list_message(ListSection("A", rows(6, "a")), ListSection("B", rows(5, "b"))),
        "list rows (all sections) has 11; WhatsApp allows 1 to 10 rows in total",
    ),
    (list_message(ListSection("A", ())), "list.sections[0].rows is empty"),
    (
        list_message(ListSection("A", rows(1, "a")), ListSection("", rows(1, "b"))),
        "list.sections[1].title is empty",
    ),
    (list_message(ListSection("t" * 25, rows(1))), "list.sections[0].title is 25 characters"),
    (
        list_message(ListSection("A", (ListRow(id="i" * 201, title="t"),))),
        "list.sections[0].rows[0].id is 201 characters; WhatsApp allows at most 200",
    ),
    (
        list_message(ListSection("A", (ListRow(id="i", title="t" * 25),))),
        "list.sections[0].rows[0].title is 25 characters; WhatsApp allows at most 24",
    ),
    (
        list_message(ListSection("A", (ListRow(id="i", title="t", description="d" * 73),))),
        "list.sections[0].rows[0].description is 73 characters; WhatsApp allows at most 72",
    ),
    (
        list_message(ListSection("A", rows(2, "a")), ListSection("B", rows(1, "a"))),
        "list rows[2].id 'a0' is repeated",
    ),
    # templates
    (Template(name="", language="en_US"), "template.name is empty"),
    (Template(name="hello", language=" "), "template.language is empty"),
    (Template(name="hello", language="en", body_params=("a", "")), "body_params[1] is empty"),
    (
        Template(
            name="hello",
            language="en",
            body_params=("a",),
            components=({"type": "body", "parameters": []},),
        ),
        "both body_params and a raw 'body' component",
    ),
]


@pytest.mark.parametrize(("content", "message"), INVALID)
def test_content_over_a_limit_is_rejected_with_the_field_named(
    content: OutboundContent, message: str
) -> None:
    with pytest.raises(ContentLimitError, match=re.escape(message)):
        validate(content)


def test_content_limit_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Shorten it"):
        validate(Text(body="x" * 5000))


def test_unknown_content_type_is_rejected() -> None:
    with pytest.raises(ContentLimitError, match="content is a str"):
        validate("hello")  # type: ignore[arg-type]


def test_callback_data_is_capped_at_512() -> None:
    check_callback_data("c" * 512)
    with pytest.raises(ContentLimitError, match="callback_data is 513 characters"):
        check_callback_data("c" * 513)
    with pytest.raises(ContentLimitError, match="callback_data is empty"):
        check_callback_data("")
