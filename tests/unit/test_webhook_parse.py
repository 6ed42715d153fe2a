"""parse_webhook against the shared WhatsApp samples, batches and malformed bodies."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from relaydesk.adapters.whatsapp.webhook import (
    ParsedWebhook,
    WebhookPayloadError,
    parse_webhook,
)
from relaydesk.domain.channel import (
    DeliveryStatus,
    IdentityChange,
    Ignored,
    InboundMessage,
    StatusUpdate,
    WebhookEvent,
    advances,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-samples"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.json")) if SAMPLES.is_dir() else []
MISSING_SAMPLES = pytest.param(
    "<none>",
    marks=pytest.mark.skip(reason=f"no samples in {SAMPLES}; check out the shared samples"),
)

E = TypeVar("E", InboundMessage, StatusUpdate, IdentityChange, Ignored)


def sample_bytes(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is missing; check out the shared WhatsApp samples next to the repo")
    return path.read_bytes()


def sample_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sample_bytes(name))
    return doc


def parse_sample(name: str) -> ParsedWebhook:
    return parse_webhook(sample_bytes(name))


def only(name: str, kind: type[E]) -> E:
    """The single event of `kind` in a sample, with no warnings."""
    parsed = parse_sample(name)
    assert parsed.warnings == ()
    events = [e for e in parsed.events if isinstance(e, kind)]
    assert len(events) == 1, parsed.events
    return events[0]


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def envelope(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": list(changes)}],
    }


def messages_change(**value: Any) -> dict[str, Any]:
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352"},
            **value,
        },
    }


def text_message(wamid: str, sender: str = "16505551234", **extra: Any) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": "1749416383",
        "type": "text",
        "text": {"body": f"hello from {wamid}"},
        **extra,
    }


# --- every sample ----------------------------------------------------------------------------

EXPECTED_KIND: dict[str, tuple[type[WebhookEvent], ...]] = {
    "in-": (InboundMessage, IdentityChange),
    "status-": (StatusUpdate,),
    "other-": (Ignored,),
}


@pytest.mark.parametrize("name", SAMPLE_NAMES or [MISSING_SAMPLES])
def test_every_sample_parses_into_the_event_kind_its_name_says(name: str) -> None:
    parsed = parse_sample(name)
    prefix = name.split("-", 1)[0] + "-"
    assert parsed.events, parsed.warnings
    assert isinstance(parsed.events[0], EXPECTED_KIND[prefix])
    if name != "in-interactive-no-body-value-errors-131000.pywa.json":
        assert parsed.warnings == ()


def test_the_sample_set_is_complete() -> None:
    """The per-kind tests below rely on these files; a renamed sample should fail loudly."""
    if not SAMPLE_NAMES:
        pytest.skip(f"no samples in {SAMPLES}")
    assert len(SAMPLE_NAMES) == 57


# --- inbound messages ------------------------------------------------------------------------


class TestText:
    def test_text_with_bsuid_contact(self) -> None:
        msg = only("in-text.pywa.json", InboundMessage)
        assert msg.wamid == "wamid.xyzxyz"
        assert msg.phone_number_id == "1122334455667"
        assert msg.type == "text"
        assert msg.text == "Body Text"
        assert msg.sender.wa_id == "972987654321"
        assert msg.sender.user_id == "US.13491208655302741918"
        assert msg.sender.parent_user_id == "US.ENT.11815799212886844830"
        assert msg.sender.profile_name == "Test Name"
        assert msg.sent_at == datetime(2023, 10, 11, 16, 53, 43, tzinfo=UTC)
        assert msg.sent_at.tzinfo is UTC
        assert (msg.context_id, msg.forwarded, msg.referral, msg.errors) == (None, False, None, ())
        assert msg.payload["text"] == {"body": "Body Text"}

    def test_text_without_bsuid(self) -> None:
        msg = only("in-text.bindambc.json", InboundMessage)
        assert msg.text == "hi everyone!"
        assert msg.sender.wa_id == "1111111111111"
        assert msg.sender.user_id is None
        assert msg.sender.profile_name == "Mauricio Binda"
        assert msg.sent_at == datetime.fromtimestamp(1672947578, tz=UTC)

    def test_reply_context_points_at_our_message(self) -> None:
        msg = only("in-text-reply-context.pywa.json", InboundMessage)
        assert msg.text == "replied text"
        assert msg.context_id == "wamid.xyzxyz=="
        assert not msg.forwarded

    @pytest.mark.parametrize(
        "name", ["in-text-forwarded.pywa.json", "in-text-frequently-forwarded.pywa.json"]
    )
    def test_forwarded_and_frequently_forwarded(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.forwarded
        assert msg.context_id is None

    def test_click_to_whatsapp_referral_is_kept(self) -> None:
        msg = only("in-text-ctwa-referral.pywa.json", InboundMessage)
        assert msg.text == "BODY"
        assert msg.referral is not None
        assert msg.referral["ctwa_clid"] == "CTWA_CLID"
        assert msg.referral["source_id"] == "ADID"


class TestMedia:
    @pytest.mark.parametrize(
        ("name", "caption", "media_id"),
        [
            ("in-video-caption.bindambc.json", "hello world", "661828760183585"),
            ("in-video-forwarded-caption.pywa.json", "caption", "765756756"),
            ("in-image.pywa.json", None, "65463453"),
            ("in-image-with-url.pywa.json", None, "65463453"),
            ("in-image.bindambc.json", None, "8472976218001204"),
            ("in-sticker-animated.pywa.json", None, "1234567890987654321"),
            ("in-sticker-static.bindambc.json", None, "1604825680670873"),
        ],
    )
    def test_caption_is_the_text_and_media_id_is_kept(
        self, name: str, caption: str | None, media_id: str
    ) -> None:
        msg = only(name, InboundMessage)
        assert msg.text == caption
        assert msg.media_id == media_id

    def test_document_with_filename_and_caption(self) -> None:
        msg = only("in-document-forwarded-caption.pywa.json", InboundMessage)
        assert msg.type == "document"
        assert msg.text == "caption"
        assert msg.payload["document"]["filename"] == "filename.pdf"
        assert msg.forwarded

    def test_document_with_filename_only_has_no_text(self) -> None:
        """A filename is not something the customer wrote; it stays in the payload."""
        msg = only("in-document.bindambc.json", InboundMessage)
        assert msg.text is None
        assert msg.payload["document"]["filename"] == "4_641947.pdf"

    @pytest.mark.parametrize("name", ["in-audio-voice.pywa.json", "in-audio-voice.bindambc.json"])
    def test_voice_note_is_type_audio(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "audio"
        assert msg.payload["audio"]["voice"] is True
        assert msg.text is None
        assert msg.media_id is not None

    def test_audio_file_is_not_a_voice_note(self) -> None:
        msg = only("in-audio.pywa.json", InboundMessage)
        assert msg.type == "audio"
        assert msg.payload["audio"]["voice"] is False


class TestOtherInboundTypes:
    @pytest.mark.parametrize(
        ("name", "text"),
        [
            (
                "in-location-named-place.pywa.json",
                "Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025",
            ),
            ("in-location-current.pywa.json", "12.25089,43.90539"),
            ("in-location-url-only.bindambc.json", "-10.93941311633,-10.606395436721"),
        ],
    )
    def test_location_reads_as_name_and_address_else_coordinates(
        self, name: str, text: str
    ) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "location"
        assert msg.text == text

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("in-contacts-multiple.pywa.json", "Chandler Bing, Monica, Rachel Green"),
            ("in-contacts.bindambc.json", "Person Ok"),
        ],
    )
    def test_shared_contacts_read_as_their_names(self, name: str, text: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "contacts"
        assert msg.text == text

    @pytest.mark.parametrize(
        ("name", "emoji", "target"),
        [
            ("in-reaction.pywa.json", "\U0001f62e", "wamid.yzxyzx="),
            (
                "in-reaction.bindambc.json",
                "\U0001f44d",
                "wamid.nBgN6TUyN2k5NzAzM5kzNhUCABI8FDNFQjAxQkE5REI4NEUzQ5Y5QTNgAA==",
            ),
        ],
    )
    def test_reaction_text_is_the_emoji(self, name: str, emoji: str, target: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "reaction"
        assert msg.text == emoji
        assert msg.target_id == target

    @pytest.mark.parametrize(
        "name",
        ["in-reaction-removed-empty-emoji.pywa.json", "in-reaction-removed-no-emoji.pywa.json"],
    )
    def test_removed_reaction_has_no_text_in_both_forms(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "reaction"
        assert msg.text is None
        assert msg.target_id == "wamid.yzxyzx="

    def test_order_with_empty_text(self) -> None:
        msg = only("in-order.pywa.json", InboundMessage)
        assert msg.type == "order"
        assert msg.text is None
        assert len(msg.payload["order"]["product_items"]) == 3

    def test_order_text_is_read_when_present(self) -> None:
        order = {"catalog_id": "1", "text": "two please", "product_items": []}
        doc = envelope(messages_change(messages=[text_message("w1", type="order", order=order)]))
        (msg,) = parse_webhook(body(doc)).events
        assert isinstance(msg, InboundMessage)
        assert msg.text == "two please"

    def test_revoke_points_at_the_deleted_message(self) -> None:
        msg = only("in-revoke-deleted.pywa.json", InboundMessage)
        assert msg.type == "revoke"
        assert msg.text is None
        assert msg.target_id == "<ORIGINAL_WHATSAPP_MESSAGE_ID>"

    def test_edit_reads_the_new_version(self) -> None:
        msg = only("in-edit-image.pywa.json", InboundMessage)
        assert msg.type == "edit"
        assert msg.text == "Updated image caption"
        assert msg.target_id == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
        assert msg.media_id == "1234567890"

    @pytest.mark.parametrize(
        "name",
        [
            "in-unsupported-131051.pywa.json",
            "in-unsupported-with-subtype.pywa.json",
            "in-unsupported-user-deleted-message-131051.bindambc.json",
        ],
    )
    def test_unsupported_carries_its_errors(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "unsupported"
        assert msg.text is None
        assert [e.code for e in msg.errors] == [131051]
        assert msg.errors[0].title == "Message type unknown"
        assert msg.errors[0].details == "Message type is currently not supported."

    def test_request_welcome_is_a_message_without_text_or_warning(self) -> None:
        doc = envelope(
            messages_change(
                messages=[{"from": "1", "id": "w1", "timestamp": "1", "type": "request_welcome"}]
            )
        )
        parsed = parse_webhook(body(doc))
        assert parsed.warnings == ()
        (msg,) = parsed.events
        assert isinstance(msg, InboundMessage)
        assert (msg.type, msg.text) == ("request_welcome", None)

    def test_type_outside_the_contract_is_kept_with_a_warning(self) -> None:
        doc = envelope(
            messages_change(
                messages=[{"from": "1", "id": "w1", "timestamp": "1", "type": "poll", "poll": {}}]
            )
        )
        parsed = parse_webhook(body(doc))
        (msg,) = parsed.events
        assert isinstance(msg, InboundMessage)
        assert (msg.type, msg.text) == ("poll", None)
        assert parsed.warnings == (
            "entry[0].changes[0].value.messages[0].type is 'poll'; "
            "not a type in the contract, kept without text",
        )


class TestReplies:
    def test_button_reply(self) -> None:
        msg = only("in-interactive-button_reply.pywa.json", InboundMessage)
        assert msg.type == "interactive"
        assert msg.reply_id == "callback_data"
        assert msg.text == "title"
        assert msg.context_id == "wamid.xyzxyz"

    @pytest.mark.parametrize(
        "name",
        ["in-interactive-list_reply.pywa.json", "in-interactive-list_reply-description.pywa.json"],
    )
    def test_list_reply(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert (msg.reply_id, msg.text, msg.context_id) == (
            "callback_data",
            "title",
            "wamid.xyzxyz",
        )

    def test_flow_completion_reads_body_and_flow_token(self) -> None:
        msg = only("in-interactive-nfm_reply-flow.pywa.json", InboundMessage)
        assert msg.text == "Sent"
        assert msg.reply_id == "AQAAAAACS5FpgQ_cAAAAAD0QI3s."
        assert msg.context_id == "wamid.gvwegfretge=="

    def test_flow_completion_with_unparseable_response_json_has_no_reply_id(self) -> None:
        interactive = {"type": "nfm_reply", "nfm_reply": {"body": "Sent", "response_json": "{"}}
        doc = envelope(
            messages_change(
                messages=[text_message("w1", type="interactive", interactive=interactive)]
            )
        )
        (msg,) = parse_webhook(body(doc)).events
        assert isinstance(msg, InboundMessage)
        assert (msg.text, msg.reply_id) == ("Sent", None)

    def test_interactive_without_body_and_value_errors_131000(self) -> None:
        """Observed in the wild: no `interactive` object, and a value-level 131000 error."""
        parsed = parse_sample("in-interactive-no-body-value-errors-131000.pywa.json")
        msg, ignored = parsed.events
        assert isinstance(msg, InboundMessage)
        assert (msg.type, msg.text, msg.reply_id) == ("interactive", None, None)
        assert msg.wamid == "wamid.wegrchytvwcggt="
        assert isinstance(ignored, Ignored)
        assert ignored.reason == "value_errors"
        assert ignored.phone_number_id == "1122334455667"
        assert [(e.code, e.details) for e in ignored.errors] == [
            (131000, "Unsupported webhook payload")
        ]
        assert parsed.warnings == (
            "entry[0].changes[0].value.messages[0].interactive is missing; "
            "no reply to read, kept without text",
        )

    @pytest.mark.parametrize(
        "name",
        [
            "in-button-template-quick-reply.pywa.json",
            "in-button-template-quick-reply.bindambc.json",
        ],
    )
    def test_template_quick_reply_payload(self, name: str) -> None:
        msg = only(name, InboundMessage)
        assert msg.type == "button"
        assert msg.reply_id == msg.payload["button"]["payload"]
        assert msg.text == msg.payload["button"]["text"]
        assert msg.context_id is not None

    def test_quick_reply_from_bsuid_without_context(self) -> None:
        msg = only("in-button-quick-reply-from_user_id-no-context.pywa.json", InboundMessage)
        assert (msg.reply_id, msg.text, msg.context_id) == ("callback_data", "title", None)
        assert msg.sender.user_id == "US.13491208655302741918"


class TestIdentityChanges:
    def test_user_changed_number(self) -> None:
        change = only("in-system-user_changed_number.pywa.json", IdentityChange)
        assert change.kind == "user_changed_number"
        assert change.old_wa_id == "972987654321"
        assert change.new_wa_id == "972912345678"
        assert change.body == "User A changed from 972987654321 to 972912345678"
        assert change.at == datetime.fromtimestamp(1753851315, tz=UTC)
        assert change.phone_number_id == "1122334455667"

    def test_customer_identity_changed(self) -> None:
        change = only("in-system-customer_identity_changed.pywa.json", IdentityChange)
        assert change.kind == "customer_identity_changed"
        assert change.old_wa_id == "972987654321"
        assert change.new_wa_id is None
        assert change.payload["identity"]["hash"] == "xyzxyz"

    def test_user_changed_user_id(self) -> None:
        """Shape from Meta's 2026 changelog: previous_user_id next to the new user_id."""
        system = {
            "body": "User A changed their BSUID",
            "type": "user_changed_user_id",
            "previous_user_id": "US.111",
            "user_id": "US.222",
        }
        msg = {"id": "w1", "timestamp": "1", "type": "system", "system": system}
        (change,) = parse_webhook(body(envelope(messages_change(messages=[msg])))).events
        assert isinstance(change, IdentityChange)
        assert change.kind == "user_changed_user_id"
        assert (change.old_user_id, change.new_user_id) == ("US.111", "US.222")
        assert (change.old_wa_id, change.new_wa_id) == (None, None)

    def test_legacy_new_wa_id_is_read(self) -> None:
        system = {"type": "user_changed_number", "new_wa_id": "2"}
        msg = {"from": "1", "id": "w1", "timestamp": "1", "type": "system", "system": system}
        (change,) = parse_webhook(body(envelope(messages_change(messages=[msg])))).events
        assert isinstance(change, IdentityChange)
        assert (change.old_wa_id, change.new_wa_id) == ("1", "2")


# --- statuses and other fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "recipient_id", "callback_data", "error_codes"),
    [
        ("status-sent.pywa.json", DeliveryStatus.SENT, "972987654321", None, []),
        (
            "status-sent-biz_opaque_callback_data.pywa.json",
            DeliveryStatus.SENT,
            "972987654321",
            "some data",
            [],
        ),
        (
            "status-sent-cbp-business_initiated.bindambc.json",
            DeliveryStatus.SENT,
            "1111111111111",
            None,
            [],
        ),
        ("status-delivered.pywa.json", DeliveryStatus.DELIVERED, "972987654321", None, []),
        ("status-delivered.bindambc.json", DeliveryStatus.DELIVERED, "1111111111111", None, []),
        ("status-read.pywa.json", DeliveryStatus.READ, "972987654321", None, []),
        ("status-read-minimal.bindambc.json", DeliveryStatus.READ, "1111111111111", None, []),
        ("status-read-group.pywa.json", DeliveryStatus.READ, "fowefinoewcnw", None, []),
        ("status-played-voice.pywa.json", DeliveryStatus.PLAYED, "972987654321", None, []),
        ("status-failed-130472.pywa.json", DeliveryStatus.FAILED, "972987654321", None, [130472]),
        (
            "status-failed-131047-reengagement.bindambc.json",
            DeliveryStatus.FAILED,
            "5511111111111",
            None,
            [131047],
        ),
        (
            "status-failed-131053-media-upload.bindambc.json",
            DeliveryStatus.FAILED,
            "1111111111111",
            None,
            [131053],
        ),
    ],
)
def test_status_samples(
    name: str,
    status: DeliveryStatus,
    recipient_id: str,
    callback_data: str | None,
    error_codes: list[int],
) -> None:
    update = only(name, StatusUpdate)
    raw = sample_doc(name)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert update.status is status
    assert update.wamid == raw["id"]
    assert update.at == datetime.fromtimestamp(int(raw["timestamp"]), tz=UTC)
    assert update.recipient_id == recipient_id
    assert update.callback_data == callback_data
    assert [e.code for e in update.errors] == error_codes
    assert update.payload == raw


def test_failed_status_error_details() -> None:
    update = only("status-failed-131047-reengagement.bindambc.json", StatusUpdate)
    (error,) = update.errors
    assert error.title == "Re-engagement message"
    assert error.details.startswith("Message failed to send because more than 24 hours")


def test_status_with_bsuid_recipient() -> None:
    status = {
        "id": "w1",
        "status": "delivered",
        "timestamp": 1750030073,
        "recipient_user_id": "US.1",
    }
    (update,) = parse_webhook(body(envelope(messages_change(statuses=[status])))).events
    assert isinstance(update, StatusUpdate)
    assert (update.recipient_id, update.recipient_user_id) == (None, "US.1")


def test_unknown_status_string_is_ignored_with_its_value() -> None:
    status = {"id": "w1", "status": "deleted", "timestamp": "1750030073"}
    (event,) = parse_webhook(body(envelope(messages_change(statuses=[status])))).events
    assert isinstance(event, Ignored)
    assert event.reason == "status:deleted"
    assert event.phone_number_id == "106540352"
    assert event.payload == status


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "other-message_template_status_update-rejected.bindambc.json",
            "field:message_template_status_update",
        ),
        ("other-phone_number_quality_update.bindambc.json", "field:phone_number_quality_update"),
    ],
)
def test_other_fields_are_ignored(name: str, reason: str) -> None:
    event = only(name, Ignored)
    assert event.reason == reason
    assert event.payload == sample_doc(name)["entry"][0]["changes"][0]["value"]


def test_unknown_field_is_ignored_with_a_warning() -> None:
    parsed = parse_webhook(body(envelope({"field": "brand_new_thing", "value": {"a": 1}})))
    (event,) = parsed.events
    assert isinstance(event, Ignored)
    assert event.reason == "field:brand_new_thing"
    assert parsed.warnings == (
        "entry[0].changes[0].field is 'brand_new_thing'; not a known field, ignored",
    )


# --- batches ---------------------------------------------------------------------------------


def test_entries_from_every_sample_in_one_body_parse_to_all_events_in_order() -> None:
    if not SAMPLE_NAMES:
        pytest.skip(f"no samples in {SAMPLES}")
    expected: list[WebhookEvent] = []
    entries: list[Any] = []
    for name in SAMPLE_NAMES:
        expected.extend(parse_sample(name).events)
        entries.extend(sample_doc(name)["entry"])
    batch = {"object": "whatsapp_business_account", "entry": entries}

    parsed = parse_webhook(body(batch))

    assert parsed.events == tuple(expected)
    assert len(parsed.events) == len(SAMPLE_NAMES) + 1  # + the 131000 value_errors
    assert len(parsed.warnings) == 1  # the interactive without a body


def test_several_messages_in_one_value_and_several_changes_in_one_entry() -> None:
    doc = sample_doc("in-text.pywa.json")
    value = doc["entry"][0]["changes"][0]["value"]
    value["messages"] = [
        sample_doc(name)["entry"][0]["changes"][0]["value"]["messages"][0]
        for name in ("in-text.pywa.json", "in-image.pywa.json", "in-reaction.pywa.json")
    ]
    statuses_change = sample_doc("status-read.pywa.json")["entry"][0]["changes"][0]
    statuses_change["value"]["statuses"].append(
        sample_doc("status-delivered.pywa.json")["entry"][0]["changes"][0]["value"]["statuses"][0]
    )
    other_change = sample_doc("other-phone_number_quality_update.bindambc.json")["entry"][0][
        "changes"
    ][0]
    doc["entry"][0]["changes"] += [statuses_change, other_change]
    doc["entry"].append(copy.deepcopy(doc["entry"][0]))

    parsed = parse_webhook(body(doc))

    summary = [
        (type(e).__name__, getattr(e, "type", None) or getattr(e, "status", None))
        for e in parsed.events
    ]
    one_entry = [
        ("InboundMessage", "text"),
        ("InboundMessage", "image"),
        ("InboundMessage", "reaction"),
        ("StatusUpdate", DeliveryStatus.READ),
        ("StatusUpdate", DeliveryStatus.DELIVERED),
        ("Ignored", None),
    ]
    assert summary == one_entry * 2
    assert parsed.warnings == ()
    assert all(
        e.sender.profile_name == "Test Name" for e in parsed.events if isinstance(e, InboundMessage)
    )


class TestContactMatching:
    CONTACTS = (
        {"profile": {"name": "Ana"}, "wa_id": "111"},
        {"profile": {"name": "Bo", "username": "@bo"}, "user_id": "US.2"},
    )

    def parse(self, *messages: dict[str, Any]) -> list[InboundMessage]:
        doc = envelope(messages_change(contacts=list(self.CONTACTS), messages=list(messages)))
        events = parse_webhook(body(doc)).events
        return [e for e in events if isinstance(e, InboundMessage)]

    def test_each_message_gets_its_own_contact(self) -> None:
        ana, bo = self.parse(
            text_message("w1", sender="111"),
            {**text_message("w2"), "from": None, "from_user_id": "US.2"},
        )
        assert (ana.sender.wa_id, ana.sender.profile_name) == ("111", "Ana")
        assert (bo.sender.wa_id, bo.sender.user_id) == (None, "US.2")
        assert (bo.sender.profile_name, bo.sender.username) == ("Bo", "@bo")

    def test_no_match_among_several_contacts_uses_from_only(self) -> None:
        (msg,) = self.parse(text_message("w1", sender="999"))
        assert (msg.sender.wa_id, msg.sender.profile_name) == ("999", None)

    def test_sole_contact_is_used_even_when_ids_differ(self) -> None:
        """`from` and `wa_id` may not match (contract §2.2); one contact is the sender."""
        doc = envelope(
            messages_change(contacts=[self.CONTACTS[0]], messages=[text_message("w1", sender="9")])
        )
        (msg,) = parse_webhook(body(doc)).events
        assert isinstance(msg, InboundMessage)
        assert (msg.sender.wa_id, msg.sender.profile_name) == ("111", "Ana")

    def test_no_contacts_at_all(self) -> None:
        doc = envelope(messages_change(messages=[text_message("w1", from_user_id="US.9")]))
        (msg,) = parse_webhook(body(doc)).events
        assert isinstance(msg, InboundMessage)
        assert (msg.sender.wa_id, msg.sender.user_id) == ("16505551234", "US.9")
        assert msg.sender.profile_name is None


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1749416383", 1749416383, 1749416383.0])
def test_timestamp_as_string_or_number_is_aware_utc(raw: object) -> None:
    doc = envelope(messages_change(messages=[text_message("w1", timestamp=raw)]))
    (msg,) = parse_webhook(body(doc)).events
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert msg.sent_at.utcoffset() is not None


# --- malformed bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (b"not json", "", "request body is not JSON"),
        (b"\xff\xfe\x00", "", "request body is not JSON"),
        (b"[]", "", "request body is a list; expected a JSON object"),
        (b'{"object": "page", "entry": []}', "object", "object is 'page'; expected"),
        (b'{"entry": []}', "object", "object is missing; expected 'whatsapp_business_account'"),
        (
            b'{"object": "whatsapp_business_account", "entry": {}}',
            "entry",
            "entry is an object; expected a list of entry objects",
        ),
        (
            b'{"object": "whatsapp_business_account", "entry": ["x"]}',
            "entry[0]",
            "entry[0] is a str; expected an entry object",
        ),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": "x"}]}',
            "entry[0].changes",
            "entry[0].changes is a str; expected a list of change objects",
        ),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]}',
            "entry[0].changes[0].field",
            "entry[0].changes[0].field is missing; expected a string",
        ),
    ],
)
def test_not_a_whatsapp_webhook_raises_naming_the_path(raw: bytes, path: str, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=re.escape(message)) as caught:
        parse_webhook(raw)
    assert caught.value.path == path
    assert isinstance(caught.value, ValueError)


def test_messages_change_without_phone_number_id_raises() -> None:
    change = messages_change(messages=[text_message("w1")])
    del change["value"]["metadata"]
    with pytest.raises(WebhookPayloadError, match="phone_number_id is missing") as caught:
        parse_webhook(body(envelope(change)))
    assert caught.value.path == "entry[0].changes[0].value.metadata.phone_number_id"


def test_messages_that_is_not_a_list_raises() -> None:
    with pytest.raises(WebhookPayloadError, match=r"value\.messages is an object; expected a list"):
        parse_webhook(body(envelope(messages_change(messages={"id": "w1"}))))


def test_malformed_items_are_skipped_with_warnings_and_the_rest_is_kept() -> None:
    no_id = text_message("w2")
    del no_id["id"]
    doc = envelope(
        messages_change(
            messages=[
                text_message("w1"),
                no_id,
                text_message("w3", timestamp="yesterday"),
                "not a message",
                text_message("w5", type=None),
                text_message("w6"),
            ],
            statuses=[
                {"id": "s1", "status": "read", "timestamp": "soon"},
                {"status": "read", "timestamp": "1"},
                {"id": "s3", "status": "read", "timestamp": "1"},
            ],
        )
    )

    parsed = parse_webhook(body(doc))

    assert [getattr(e, "wamid", None) for e in parsed.events] == ["w1", "w6", "s3"]
    base = "entry[0].changes[0].value"
    assert parsed.warnings == (
        f"{base}.messages[1].id is missing; expected the message's wamid, message skipped",
        f"{base}.messages[2].timestamp is 'yesterday'; expected Unix seconds as a string or "
        "number, message skipped",
        f"{base}.messages[3] is a str; expected a message object, skipped",
        f"{base}.messages[4].type is missing; expected a message type, message skipped",
        f"{base}.statuses[0].timestamp is 'soon'; expected Unix seconds as a string or number,"
        " status skipped",
        f"{base}.statuses[1].id is missing; expected the wamid we sent, status skipped",
    )


def test_malformed_error_items_are_skipped() -> None:
    errors = [{"code": "131000", "title": "t"}, {"title": "no code"}, "x"]
    parsed = parse_webhook(body(envelope(messages_change(errors=errors))))
    (event,) = parsed.events
    assert isinstance(event, Ignored)
    assert [e.code for e in event.errors] == [131000]
    assert len(parsed.warnings) == 2


# --- delivery status ordering ----------------------------------------------------------------

S = DeliveryStatus


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (S.PENDING, S.ACCEPTED, True),  # the Graph API returned a wamid
        (S.ACCEPTED, S.SENT, True),
        (S.SENT, S.DELIVERED, True),
        (S.DELIVERED, S.READ, True),
        (S.READ, S.PLAYED, True),  # voice note played after being read
        (S.SENT, S.READ, True),  # delivered may never arrive
        (S.DELIVERED, S.SENT, False),  # late sent after delivered
        (S.READ, S.DELIVERED, False),  # out-of-order webhook
        (S.READ, S.READ, False),  # duplicate webhook
        (S.PLAYED, S.READ, False),
        (S.SENT, S.FAILED, True),  # failure can follow sent
        (S.READ, S.FAILED, True),
        (S.FAILED, S.SENT, False),  # late sent after failed is refused
        (S.FAILED, S.READ, False),  # failed is final
        (S.FAILED, S.FAILED, False),
    ],
)
def test_advances(current: DeliveryStatus, new: DeliveryStatus, expected: bool) -> None:
    assert advances(current, new) is expected
