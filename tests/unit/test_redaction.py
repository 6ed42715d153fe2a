"""The log processor keeps personal data out of every field at every level of an event."""

from __future__ import annotations

import json
from typing import Any

from relaydesk.redaction import redact_event, redact_text, remember_name

PHONE = "34612345678"


def _run(**event: Any) -> dict[str, Any]:
    return dict(redact_event(None, "info", dict(event)))


def test_a_webhook_payload_logged_whole_keeps_no_personal_data() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [{"profile": {"name": "Lucía Fernández"}, "wa_id": PHONE}],
                            "messages": [
                                {
                                    "from": PHONE,
                                    "id": "wamid.HBgLMzQ2MTIzNDU2NzgVAgASGBQzQUVCOTk",
                                    "timestamp": "1733400000",
                                    "type": "text",
                                    "text": {"body": "My card 4111 1111 1111 1111 was charged"},
                                }
                            ],
                        }
                    }
                ],
            }
        ],
    }
    out = json.dumps(_run(event="webhook_received", payload=payload, conversation_id=42))
    for secret in (PHONE, "Lucía", "Fernández", "4111", "charged", "15550783881"):
        assert secret not in out, secret
    data = json.loads(out)
    assert data["event"] == "webhook_received"
    assert data["conversation_id"] == 42
    message = data["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["id"] == "wamid.HBgLMzQ2MTIzNDU2NzgVAgASGBQzQUVCOTk"
    assert message["type"] == "text"
    assert message["text"] == "[text]"


def test_numbers_and_addresses_in_free_text_and_exceptions_are_replaced() -> None:
    exception = (
        "sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key\n"
        "[SQL: INSERT INTO customers (wa_id, profile_name) VALUES (%(wa_id)s, %(name)s)]\n"
        "[parameters: {'wa_id': '+34 612 34 56 78', 'name': 'x', 'mail': 'lucia.f@gmail.com'}]"
    )
    data = _run(
        event="store_failed",
        exception=exception,
        detail=["call (555) 123-4567 or +1-202-555-0143", {"card": "5500-0000-0000-0004"}],
        contact=("ops", "lucia.f+shop@example.co.uk"),
    )
    out = json.dumps(data)
    for secret in ("612 34", "123-4567", "555-0143", "5500", "lucia.f", "gmail"):
        assert secret not in out, secret
    assert "[phone]" in data["exception"] and "[email]" in data["exception"]
    assert data["detail"][1]["card"] == "[card]"
    assert "UniqueViolation" in data["exception"]


def test_times_addresses_ids_and_figures_are_left_alone() -> None:
    kept = {
        "since": "2026-12-05",
        "at": "2026-12-05T12:17:23.123456+00:00",
        "host": "127.0.0.1",
        "url": "http://127.0.0.1:8000/api/v1/conversations/1234567",
        "seconds": "1733400000.125",
        "order": "ORD-1234",
        "attempt": 3,
        "score": 0.8123,
        "queue": "billing",
    }
    assert _run(event="fine", **kept) == {"event": "fine", **kept}


def test_keyed_fields_are_redacted_whatever_their_type() -> None:
    data = _run(
        event="x",
        wa_id=34612345678,
        email="agent@example.com",
        customer_name="Ana",
        body=b"raw bytes",
        name="general",  # a top-level name is a queue's or a job's, not a person's
    )
    assert data == {
        "event": "x",
        "wa_id": "[redacted]",
        "email": "[email]",
        "customer_name": "[redacted]",
        "body": "[text]",
        "name": "general",
    }


def test_names_seen_in_name_fields_are_redacted_from_free_text_later() -> None:
    remember_name("Bartholomew Quince")
    text = "Bartholomew wrote again; quince asked for a refund at 10:30"
    assert redact_text(text) == "[name] wrote again; [name] asked for a refund at 10:30"
    _run(event="seen", customer={"name": "Zebedee Okonkwo-Smith"})
    assert redact_text("hand over to zebedee") == "hand over to [name]"
    # the event name, a constant in the code, is never rewritten for a name
    remember_name("Message")
    assert _run(event="message_received")["event"] == "message_received"
