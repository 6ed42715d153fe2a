"""parse_webhook against hostile signed bodies: nothing it returns may be refused by storage,
crash a later step or flood the logs, and the good items beside a bad one are kept."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from sqlalchemy import String

from relaydesk.adapters.storage import tables
from relaydesk.adapters.whatsapp import _readers as readers
from relaydesk.adapters.whatsapp.webhook import (
    WARNINGS_MAX,
    ParsedWebhook,
    WebhookPayloadError,
    parse_webhook,
)
from relaydesk.domain.channel import IdentityChange, Ignored, InboundMessage, StatusUpdate

BASE = "entry[0].changes[0].value"
PHONE = "16505551234"


def envelope(**value: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352",
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def text_message(wamid: str, **extra: Any) -> dict[str, Any]:
    return {
        "from": PHONE,
        "id": wamid,
        "timestamp": "1749416383",
        "type": "text",
        "text": {"body": f"hello from {wamid}"},
        **extra,
    }


def status(wamid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": wamid,
        "status": "failed",
        "timestamp": "1749416383",
        "recipient_id": PHONE,
        **extra,
    }


def parse(doc: dict[str, Any]) -> ParsedWebhook:
    return parse_webhook(json.dumps(doc).encode())


def wamids(parsed: ParsedWebhook) -> list[str]:
    return [e.wamid for e in parsed.events if not isinstance(e, Ignored)]


def strings_in(value: object) -> list[str]:
    """Every string in an event, its payload included (keys too)."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    return found


def assert_storable(parsed: ParsedWebhook) -> None:
    for event in parsed.events:
        for text in strings_in(event):
            text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError here
            assert "\x00" not in text
        payload = event.payload
        json.dumps(payload, allow_nan=False)  # PostgreSQL's JSON refuses NaN and Infinity


# --- poison strings (lone surrogates, NUL) -----------------------------------------------------

POISON_PLACES = {
    "text": lambda m: m["text"].__setitem__("body", "cut \ud83d emoji"),
    "profile name": lambda m: m.__setitem__("_contact_name", "Ann \udc00"),
    "wamid": lambda m: m.__setitem__("id", "wamid.\ud83d"),
    "from": lambda m: m.__setitem__("from", "1650\ud83d"),
    "type": lambda m: m.__setitem__("type", "te\ud83dxt"),
    "payload key": lambda m: m.__setitem__("referral", {"hea\ud83dd": "x"}),
    "nested payload": lambda m: m.__setitem__("referral", {"a": [{"b": "\ude00"}]}),
    "text NUL": lambda m: m["text"].__setitem__("body", "hello\x00world"),
    "from NUL": lambda m: m.__setitem__("from", "1650\x005551234"),
    "key NUL": lambda m: m.__setitem__("referral", {"a\x00b": "x"}),
}


@pytest.mark.parametrize("place", sorted(POISON_PLACES))
def test_lone_surrogates_and_nul_never_reach_an_event(place: str) -> None:
    bad = text_message("w2")
    POISON_PLACES[place](bad)
    name = bad.pop("_contact_name", "Ann")
    contacts = [{"wa_id": PHONE, "profile": {"name": name}}]
    doc = envelope(contacts=contacts, messages=[text_message("w1"), bad, text_message("w3")])

    parsed = parse(doc)

    assert_storable(parsed)
    assert "w1" in wamids(parsed)
    assert "w3" in wamids(parsed)
    assert any("lone surrogate" in w or "NUL" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("field", "doc_value", "path"),
    [
        ("phone_number_id", "1065\ud83d", ("metadata", "phone_number_id")),
        ("status id", "wamid.\udfff", ("statuses", 0, "id")),
        ("error title", "Re-\ud800engage", ("statuses", 0, "errors", 0, "title")),
        ("recipient", "1650\x00", ("statuses", 0, "recipient_id")),
    ],
)
def test_poison_in_status_and_metadata_fields_is_repaired(
    field: str, doc_value: str, path: tuple[str | int, ...]
) -> None:
    doc = envelope(statuses=[status("s1", errors=[{"code": 131047, "title": "t"}])])
    node: Any = doc["entry"][0]["changes"][0]["value"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = doc_value
    parsed = parse(doc)
    assert_storable(parsed)
    assert len(parsed.events) == 1, field


def test_the_replacement_is_u_fffd_and_nul_is_removed() -> None:
    bad = text_message("w1", text={"body": "a\ud83db\x00c"})
    (msg,) = parse(envelope(messages=[bad])).events
    assert isinstance(msg, InboundMessage)
    assert msg.text == "a\ufffdbc"
    assert msg.payload["text"]["body"] == "a\ufffdbc"


def test_valid_surrogate_pairs_survive_as_the_emoji() -> None:
    raw = (
        b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
        b'"value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"1","id":"w1",'
        b'"timestamp":"1","type":"text","text":{"body":"hi \\ud83d\\ude00 \\uD83D\\uDE00"}}]}}]}]}'
    )
    parsed = parse_webhook(raw)
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.text == "hi \U0001f600 \U0001f600"
    assert parsed.warnings == ()


def test_a_surrogate_sent_as_raw_bytes_is_repaired_too() -> None:
    raw = json.dumps(envelope(messages=[text_message("w1")])).encode()
    raw = raw.replace(b"hello from w1", b"cut \xed\xa0\xbd emoji")
    (msg,) = parse_webhook(raw).events
    assert isinstance(msg, InboundMessage)
    assert msg.text == "cut \ufffd emoji"


@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999", b"9" * 5000]
)
def test_numbers_storage_cannot_hold_become_null_and_the_message_is_kept(literal: bytes) -> None:
    raw = json.dumps(envelope(messages=[text_message("w1", referral={"x": 1})])).encode()
    raw = raw.replace(b'{"x": 1}', b'{"x": ' + literal + b"}")
    parsed = parse_webhook(raw)
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.referral == {"x": None}
    assert_storable(parsed)
    assert any("number" in w for w in parsed.warnings)


def test_deep_nesting_is_cut_so_the_payload_can_be_serialised_again() -> None:
    deep: Any = "bottom"
    for _ in range(600):
        deep = [deep]
    doc = envelope(messages=[text_message("w1", referral={"deep": deep}), text_message("w2")])
    parsed = parse(doc)
    assert wamids(parsed) == ["w1", "w2"]

    def depth(node: object) -> int:
        if isinstance(node, dict):
            return 1 + max((depth(v) for v in node.values()), default=0)
        if isinstance(node, list):
            return 1 + max((depth(v) for v in node), default=0)
        return 0

    assert depth(parsed.events[0].payload) < 100
    assert any("nested deeper" in w for w in parsed.warnings)


# --- huge integers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", [2**31, 2**63, 2**64, -(2**63) - 1, -(2**31) - 1, "99999999999", "9" * 5000]
)
def test_error_codes_that_do_not_fit_are_skipped_and_the_rest_kept(code: object) -> None:
    errors = [{"code": code, "title": "bad"}, {"code": 131047, "title": "good"}]
    parsed = parse(envelope(statuses=[status("s1", errors=errors)]))
    (update,) = parsed.events
    assert isinstance(update, StatusUpdate)
    assert [e.code for e in update.errors] == [131047]
    (warning,) = parsed.warnings
    assert warning.startswith(f"{BASE}.statuses[0].errors[0].code is ")
    assert len(warning) < 200


@pytest.mark.parametrize(
    "raw",
    [2**32, 2**63, 2**64, -1, -(2**63), 1e300, "4294967296", "9" * 30, "9" * 5000],
)
def test_timestamps_out_of_range_skip_the_item_and_keep_the_rest(raw: object) -> None:
    doc = envelope(
        messages=[text_message("w1", timestamp=raw), text_message("w2")],
        statuses=[status("s1", timestamp=raw), status("s2")],
    )
    parsed = parse(doc)
    assert wamids(parsed) == ["w2", "s2"]
    assert [w.split(" is ")[0] for w in parsed.warnings] == [
        f"{BASE}.messages[0].timestamp",
        f"{BASE}.statuses[0].timestamp",
    ]
    assert all(len(w) < 200 for w in parsed.warnings)


@pytest.mark.parametrize("raw", [0, 4294967295, "4294967295", 1749416383.5])
def test_timestamps_at_the_edges_of_the_range_are_read(raw: object) -> None:
    (msg,) = parse(envelope(messages=[text_message("w1", timestamp=raw)])).events
    assert isinstance(msg, InboundMessage)


@pytest.mark.parametrize("raw", [2**63, -5, 0, True, 1.5, "x" * 65, "1\ud83d" * 40])
def test_phone_number_id_that_cannot_be_stored_is_refused(raw: object) -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = raw
    with pytest.raises(WebhookPayloadError) as caught:
        parse(doc)
    assert caught.value.path == f"{BASE}.metadata.phone_number_id"
    assert len(str(caught.value)) < 300


def test_phone_number_id_as_a_number_in_range_is_read_as_its_digits() -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = 2**63 - 1
    (msg,) = parse(doc).events
    assert isinstance(msg, InboundMessage)
    assert msg.phone_number_id == str(2**63 - 1)


# --- no usable sender ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        {},
        {"from": None},
        {"from": ""},
        {"from": True},
        {"from": 16.5},
        {"from": -16505551234},
        {"from": 2**63},
        {"from": ["16505551234"]},
        {"from": {"id": "1"}},
        {"from_user_id": 5},
        {"from_user_id": ""},
        {"from": "1" * 65},
        {"from_user_id": "US." + "1" * 160},
    ],
    ids=repr,
)
def test_message_without_a_usable_sender_is_skipped_with_a_warning(sender: dict[str, Any]) -> None:
    bad = text_message("w2")
    del bad["from"]
    bad.update(sender)
    parsed = parse(envelope(messages=[text_message("w1"), bad, text_message("w3")]))
    assert wamids(parsed) == ["w1", "w3"]
    (warning,) = parsed.warnings
    assert warning.startswith(f"{BASE}.messages[1] has no usable sender")
    assert warning.endswith("message skipped")
    assert "1111" not in warning


def test_contact_without_ids_and_no_from_is_no_sender() -> None:
    bad = text_message("w1")
    del bad["from"]
    contacts = [{"profile": {"name": "Ann"}}]
    parsed = parse(envelope(contacts=contacts, messages=[bad]))
    assert parsed.events == ()
    assert parsed.warnings[0].startswith(f"{BASE}.messages[0] has no usable sender")


def test_contact_ids_too_long_to_store_are_not_used() -> None:
    contacts = [{"wa_id": "9" * 65, "user_id": "US." + "1" * 200, "profile": {"name": "Ann"}}]
    parsed = parse(envelope(contacts=contacts, messages=[text_message("w1")]))
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert (msg.sender.wa_id, msg.sender.user_id) == (PHONE, None)


def test_numeric_from_is_read_as_its_digits_like_phone_number_id() -> None:
    """Our choice: a whole-number `from` (1 to 2**63-1) is the same phone number as its digits,
    as `metadata.phone_number_id` already is; anything else numeric is no sender."""
    parsed = parse(envelope(messages=[text_message("w1", **{"from": 16505551234})]))
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.sender.wa_id == PHONE
    assert parsed.warnings == ()


def test_message_from_a_contact_when_from_is_missing_is_kept() -> None:
    bad = text_message("w1")
    del bad["from"]
    parsed = parse(envelope(contacts=[{"wa_id": PHONE}], messages=[bad]))
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.sender.wa_id == PHONE


# --- values too long for storage -------------------------------------------------------------


def test_limits_match_the_storage_columns() -> None:
    def width(table: Any, column: str) -> int:
        kind = table.c[column].type
        assert isinstance(kind, String)
        assert kind.length is not None
        return kind.length

    assert readers.WAMID_MAX == width(tables.messages, "wamid")
    assert readers.WAMID_MAX == width(tables.status_events, "wamid")
    assert readers.TYPE_MAX == width(tables.messages, "type")
    assert readers.PHONE_NUMBER_ID_MAX == width(tables.conversations, "phone_number_id")
    assert readers.WA_ID_MAX == width(tables.customers, "wa_id")
    assert readers.USER_ID_MAX == width(tables.customers, "user_id")
    assert readers.USER_ID_MAX == width(tables.customers, "parent_user_id")
    assert readers.NAME_MAX == width(tables.customers, "profile_name")
    assert readers.NAME_MAX == width(tables.customers, "username")
    assert readers.KIND_MAX == width(tables.identity_changes, "kind")
    assert readers.CALLBACK_DATA_MAX == width(tables.status_events, "callback_data")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"id": "w" * 256}, "messages[1].id"),
        ({"type": "t" * 41}, "messages[1].type"),
    ],
)
def test_ids_too_long_to_store_skip_the_message(change: dict[str, Any], path: str) -> None:
    bad = text_message("w2", **change)
    parsed = parse(envelope(messages=[text_message("w1"), bad, text_message("w3")]))
    assert wamids(parsed) == ["w1", "w3"]
    (warning,) = parsed.warnings
    assert warning.startswith(f"{BASE}.{path} is a str of ")
    assert len(warning) < 200


def test_status_wamid_too_long_is_skipped_and_callback_data_too_long_is_dropped() -> None:
    statuses = [status("s" * 256), status("s2", biz_opaque_callback_data="c" * 513)]
    parsed = parse(envelope(statuses=statuses))
    (update,) = parsed.events
    assert isinstance(update, StatusUpdate)
    assert (update.wamid, update.callback_data) == ("s2", None)
    assert [w.split(" is ")[0] for w in parsed.warnings] == [
        f"{BASE}.statuses[0].id",
        f"{BASE}.statuses[1].biz_opaque_callback_data",
    ]


def test_names_are_cut_to_what_storage_holds() -> None:
    contacts = [{"wa_id": PHONE, "profile": {"name": "N" * 5000, "username": "u" * 201}}]
    parsed = parse(envelope(contacts=contacts, messages=[text_message("w1")]))
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.sender.profile_name == "N" * 200
    assert msg.sender.username == "u" * 200
    assert [w.split(" is ")[0] for w in parsed.warnings] == [
        f"{BASE}.contacts[0].profile.name",
        f"{BASE}.contacts[0].profile.username",
    ]
    assert all("NNNN" not in w for w in parsed.warnings)


def test_identity_change_fields_too_long_are_not_stored() -> None:
    system = {"type": "k" * 65, "wa_id": "2" * 65, "user_id": "US." + "2" * 200, "body": "b" * 5000}
    msg = {"from": "1", "id": "w1", "timestamp": "1", "type": "system", "system": system}
    parsed = parse(envelope(messages=[msg]))
    (change,) = parsed.events
    assert isinstance(change, IdentityChange)
    assert change.kind == "unknown"
    assert (change.new_wa_id, change.new_user_id) == (None, None)
    assert change.body is not None and len(change.body) == 4096
    assert all(len(w) < 200 for w in parsed.warnings)


# --- bounded warnings ------------------------------------------------------------------------

HUGE = "x" * 100_000


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v["messages"][0].__setitem__("timestamp", HUGE),
        lambda v: v["messages"][0].__setitem__("type", HUGE),
        lambda v: v["messages"][0].__setitem__("id", HUGE),
        lambda v: v["messages"][0].__setitem__("type", "poll" + "x" * 30),
        lambda v: v["messages"][0].__setitem__(
            "interactive", {"type": HUGE, "button_reply": {"id": "1"}}
        ),
        lambda v: v["messages"][0].__setitem__("interactive", {"type": HUGE}),
        lambda v: v["statuses"][0].__setitem__("status", HUGE),
        lambda v: v["statuses"][0].__setitem__("errors", [{"code": HUGE}]),
        lambda v: v["statuses"][0].__setitem__("errors", [{"code": 10**4000}]),
        lambda v: v["statuses"][0].__setitem__("timestamp", 10**4000),
        lambda v: v["messages"][0].__setitem__("system", {"type": 5}),
    ],
    ids=[
        "timestamp",
        "type",
        "id",
        "unknown type",
        "interactive type",
        "interactive type no reply",
        "status",
        "code str",
        "code int",
        "status timestamp int",
        "system",
    ],
)
def test_every_warning_is_short(mutate: Any) -> None:
    doc = envelope(messages=[text_message("w1", interactive={})], statuses=[status("s1")])
    mutate(doc["entry"][0]["changes"][0]["value"])
    if doc["entry"][0]["changes"][0]["value"]["messages"][0]["type"] == "text":
        doc["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = "interactive"
    parsed = parse(doc)
    assert parsed.warnings
    for warning in parsed.warnings:
        assert len(warning) < 200, warning[:300]
    for event in parsed.events:
        if isinstance(event, Ignored):
            assert len(event.reason) < 100


def test_unknown_field_name_is_bounded_in_the_warning_and_the_reason() -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"][0]["changes"][0]["field"] = HUGE
    parsed = parse(doc)
    (event,) = parsed.events
    assert isinstance(event, Ignored)
    assert len(event.reason) < 100
    (warning,) = parsed.warnings
    assert len(warning) < 200
    assert "(100,000 characters)" in warning


def test_payload_errors_are_short() -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook(json.dumps({"object": HUGE, "entry": []}).encode())
    assert len(str(caught.value)) < 300


def test_warnings_never_carry_the_customers_text_or_number() -> None:
    secret = "my card is 4111 1111 1111 1111"
    messages = [
        text_message("w1", timestamp="soon", text={"body": secret}),
        text_message("w2", type="poll", poll={"question": secret}),
        text_message("w3", type="text", text=secret),
        text_message("w4", text={"body": secret * 1000}),
    ]
    contacts = [{"wa_id": PHONE, "profile": {"name": "N" * 201}}]
    parsed = parse(envelope(contacts=contacts, messages=messages))
    assert parsed.warnings
    for warning in parsed.warnings:
        assert "4111" not in warning
        assert PHONE not in warning


def test_describe_cuts_long_values_and_says_how_long_they_were() -> None:
    assert readers.describe("short") == "'short'"
    cut = readers.describe("y" * 1000)
    assert cut.startswith("'yyy")
    assert cut.endswith("... (1,000 characters)")
    assert len(cut) < 100
    assert readers.describe(10**100).endswith("... (101 digits)")


# --- huge texts ------------------------------------------------------------------------------

MB3 = "long text " * 300_000

TEXT_PLACES: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": MB3}},
    "image caption": {"type": "image", "image": {"id": "m1", "caption": MB3}},
    "video caption": {"type": "video", "video": {"id": "m1", "caption": MB3}},
    "document caption": {"type": "document", "document": {"id": "m1", "caption": MB3}},
    "button": {"type": "button", "button": {"payload": "p", "text": MB3}},
    "list reply": {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "1", "title": MB3}},
    },
    "flow reply": {
        "type": "interactive",
        "interactive": {"type": "nfm_reply", "nfm_reply": {"body": MB3}},
    },
    "location": {"type": "location", "location": {"name": MB3}},
    "contacts": {"type": "contacts", "contacts": [{"name": {"formatted_name": MB3}}]},
    "order": {"type": "order", "order": {"text": MB3}},
    "reaction": {"type": "reaction", "reaction": {"message_id": "w0", "emoji": MB3}},
    "edit": {
        "type": "edit",
        "edit": {"original_message_id": "w0", "message": {"type": "text", "text": {"body": MB3}}},
    },
}


@pytest.mark.parametrize("place", sorted(TEXT_PLACES))
def test_free_text_is_cut_to_whatsapps_4096_characters(place: str) -> None:
    bad = text_message("w1")
    del bad["text"]
    bad.update(TEXT_PLACES[place])
    parsed = parse(envelope(messages=[bad, text_message("w2")]))
    msg, good = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.text is not None
    assert len(msg.text) == 4096
    assert isinstance(good, InboundMessage)
    assert good.text == "hello from w2"
    (warning,) = parsed.warnings
    assert warning.startswith(f"{BASE}.messages[0].{bad['type']}")
    assert "4,096" in warning
    assert "long text" not in warning


def test_the_cut_does_not_split_an_emoji() -> None:
    body = "a" * 4095 + "\U0001f600" * 3
    (msg,) = parse(envelope(messages=[text_message("w1", text={"body": body})])).events
    assert isinstance(msg, InboundMessage)
    assert msg.text == "a" * 4095 + "\U0001f600"
    assert msg.text.encode("utf-8")


def test_text_of_exactly_4096_characters_is_kept_without_warning() -> None:
    body = "\U0001f600" * 4096
    parsed = parse(envelope(messages=[text_message("w1", text={"body": body})]))
    (msg,) = parsed.events
    assert isinstance(msg, InboundMessage)
    assert msg.text == body
    assert parsed.warnings == ()


def test_error_texts_are_bounded() -> None:
    errors = [{"code": 131047, "title": HUGE, "message": HUGE, "error_data": {"details": HUGE}}]
    parsed = parse(envelope(statuses=[status("s1", errors=errors)]))
    (update,) = parsed.events
    assert isinstance(update, StatusUpdate)
    (error,) = update.errors
    assert len(error.title) <= 200
    assert len(error.message) <= 4096
    assert len(error.details) <= 4096
    assert math.isfinite(error.code)


# --- a malformed change or entry beside good ones ----------------------------------------------


@pytest.mark.parametrize(
    ("bad_change", "path"),
    [
        ({"field": "messages", "value": "x"}, "entry[0].changes[1].value"),
        ({"field": "messages", "value": {"messages": []}}, "entry[0].changes[1].value.metadata"),
        ({"value": {}}, "entry[0].changes[1].field"),
        ("x", "entry[0].changes[1]"),
    ],
)
def test_a_malformed_change_beside_a_good_one_is_skipped(bad_change: object, path: str) -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"][0]["changes"].append(bad_change)
    doc["entry"][0]["changes"].append(
        envelope(messages=[text_message("w3")])["entry"][0]["changes"][0]
    )
    parsed = parse(doc)
    assert wamids(parsed) == ["w1", "w3"]
    (warning,) = parsed.warnings
    assert warning.startswith(path)
    assert warning.endswith("skipped, the rest of the body kept")


@pytest.mark.parametrize("bad_entry", ["x", {"changes": "x"}, {}])
def test_a_malformed_entry_beside_a_good_one_is_skipped(bad_entry: object) -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"].insert(0, bad_entry)
    parsed = parse(doc)
    assert wamids(parsed) == ["w1"]
    (warning,) = parsed.warnings
    assert warning.startswith("entry[0]")


def test_a_body_with_only_malformed_changes_is_still_refused() -> None:
    doc = envelope(messages=[text_message("w1")])
    doc["entry"][0]["changes"].append({"field": "messages", "value": "x"})
    doc["entry"][0]["changes"][0]["value"]["messages"] = {"id": "w1"}
    with pytest.raises(WebhookPayloadError) as caught:
        parse(doc)
    assert caught.value.path == f"{BASE}.messages"


def test_the_number_of_warnings_per_body_is_bounded() -> None:
    messages = [text_message(f"w{k}", timestamp="soon") for k in range(WARNINGS_MAX + 150)]
    parsed = parse(envelope(messages=[*messages, text_message("good")]))
    assert wamids(parsed) == ["good"]
    assert len(parsed.warnings) == WARNINGS_MAX + 1
    assert parsed.warnings[-1] == "... and 150 more warnings in this body"
