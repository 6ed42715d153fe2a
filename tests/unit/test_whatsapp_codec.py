from __future__ import annotations

import json
from typing import Any

import pytest

from relaydesk.adapters.whatsapp.codec import (
    Recipient,
    content_from_dict,
    content_to_dict,
    to_graph_body,
)
from relaydesk.adapters.whatsapp.limits import ContentLimitError
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

WA = Recipient(wa_id="16505551234")
BSUID = "US.13491208655302741918"

BUTTONS = Buttons(
    body="Was this helpful?",
    buttons=(Button(id="yes", title="Yes"), Button(id="human", title="Talk to a person")),
    header="Quick check",
    footer="Relaydesk",
)
LIST = ListMessage(
    body="What do you need?",
    button="Topics",
    sections=(
        ListSection(
            title="Orders",
            rows=(
                ListRow(id="track", title="Track an order", description="Where is it?"),
                ListRow(id="return", title="Return"),
            ),
        ),
        ListSection(title="Account", rows=(ListRow(id="login", title="Login help"),)),
    ),
)
TEMPLATE = Template(
    name="order_update",
    language="en_US",
    body_params=("Pablo", "123"),
    components=(
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": 0,
            "parameters": [{"type": "payload", "payload": "ESCALATE"}],
        },
    ),
)


class TestRecipient:
    def test_needs_wa_id_or_user_id(self) -> None:
        with pytest.raises(ValueError, match="neither wa_id nor user_id"):
            Recipient()
        with pytest.raises(ValueError, match="neither wa_id nor user_id"):
            Recipient(wa_id="", user_id=None)

    def test_key_prefers_wa_id(self) -> None:
        assert Recipient(wa_id="1", user_id=BSUID).key == "1"
        assert Recipient(user_id=BSUID).key == f"bsuid:{BSUID}"


class TestGraphBody:
    def test_text(self) -> None:
        body = to_graph_body(Text(body="Hi *there*", preview_url=True), recipient=WA)
        assert body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "text",
            "text": {"body": "Hi *there*", "preview_url": True},
        }

    def test_bsuid_only_customer_uses_recipient_instead_of_to(self) -> None:
        body = to_graph_body(Text(body="Hi"), recipient=Recipient(user_id=BSUID))
        assert body["recipient"] == BSUID
        assert "to" not in body

    def test_wa_id_wins_when_both_are_known(self) -> None:
        body = to_graph_body(Text(body="Hi"), recipient=Recipient(wa_id="1", user_id=BSUID))
        assert body["to"] == "1"
        assert "recipient" not in body

    def test_reply_to_and_callback_data(self) -> None:
        body = to_graph_body(
            Text(body="Hi"), recipient=WA, reply_to="wamid.ABC", callback_data="outbox:42"
        )
        assert body["context"] == {"message_id": "wamid.ABC"}
        assert body["biz_opaque_callback_data"] == "outbox:42"

    def test_no_context_or_callback_data_by_default(self) -> None:
        body = to_graph_body(Text(body="Hi"), recipient=WA)
        assert "context" not in body
        assert "biz_opaque_callback_data" not in body

    def test_callback_data_over_512_is_rejected(self) -> None:
        with pytest.raises(ContentLimitError, match="callback_data is 513 characters"):
            to_graph_body(Text(body="Hi"), recipient=WA, callback_data="x" * 513)

    def test_reply_buttons(self) -> None:
        body = to_graph_body(BUTTONS, recipient=WA)
        assert body["type"] == "interactive"
        assert body["interactive"] == {
            "type": "button",
            "header": {"type": "text", "text": "Quick check"},
            "body": {"text": "Was this helpful?"},
            "footer": {"text": "Relaydesk"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "human", "title": "Talk to a person"}},
                ]
            },
        }

    def test_buttons_without_header_or_footer_leave_them_out(self) -> None:
        content = Buttons(body="b", buttons=(Button(id="1", title="One"),))
        interactive = to_graph_body(content, recipient=WA)["interactive"]
        assert set(interactive) == {"type", "body", "action"}

    def test_list(self) -> None:
        body = to_graph_body(LIST, recipient=WA)
        assert body["type"] == "interactive"
        assert body["interactive"] == {
            "type": "list",
            "body": {"text": "What do you need?"},
            "action": {
                "button": "Topics",
                "sections": [
                    {
                        "title": "Orders",
                        "rows": [
                            {
                                "id": "track",
                                "title": "Track an order",
                                "description": "Where is it?",
                            },
                            {"id": "return", "title": "Return"},
                        ],
                    },
                    {"title": "Account", "rows": [{"id": "login", "title": "Login help"}]},
                ],
            },
        }

    def test_untitled_lone_section_has_no_title_key(self) -> None:
        content = ListMessage(
            body="b", button="Go", sections=(ListSection(title="", rows=(ListRow("1", "One"),)),)
        )
        section = to_graph_body(content, recipient=WA)["interactive"]["action"]["sections"][0]
        assert section == {"rows": [{"id": "1", "title": "One"}]}

    def test_template_puts_body_params_before_raw_components(self) -> None:
        body = to_graph_body(TEMPLATE, recipient=WA)
        assert body["type"] == "template"
        assert body["template"] == {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Pablo"},
                        {"type": "text", "text": "123"},
                    ],
                },
                TEMPLATE.components[0],
            ],
        }

    def test_template_without_parameters_has_no_components(self) -> None:
        body = to_graph_body(Template(name="hello_world", language="en_US"), recipient=WA)
        assert body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


ALL: list[OutboundContent] = [
    Text(body="Hello 👋 ünïcode", preview_url=True),
    Text(body="plain"),
    BUTTONS,
    Buttons(body="b", buttons=(Button(id="1", title="One"),)),
    LIST,
    TEMPLATE,
    Template(name="hello_world", language="en_US"),
]


class TestStoredForm:
    @pytest.mark.parametrize("content", ALL)
    def test_round_trip_through_json_is_lossless(self, content: OutboundContent) -> None:
        stored = json.loads(json.dumps(content_to_dict(content)))
        assert content_from_dict(stored) == content

    @pytest.mark.parametrize(
        ("content", "kind"),
        [(ALL[0], "text"), (BUTTONS, "buttons"), (LIST, "list"), (TEMPLATE, "template")],
    )
    def test_has_a_kind_key(self, content: OutboundContent, kind: str) -> None:
        assert content_to_dict(content)["kind"] == kind

    @pytest.mark.parametrize(
        ("stored", "message"),
        [
            ({"kind": "video"}, "kind 'video'; expected one of"),
            ({}, "kind None"),
            ({"kind": "text"}, "key 'body' is None; expected a string"),
            ({"kind": "text", "body": "x", "preview_url": "yes"}, "key 'preview_url'"),
            ({"kind": "buttons", "body": "x", "buttons": "nope"}, "key 'buttons'"),
            (
                {"kind": "template", "name": "n", "language": "en", "body_params": [1]},
                "body_params",
            ),
        ],
    )
    def test_bad_stored_content_names_the_key(self, stored: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            content_from_dict(stored)
