"""Tracked booking links through HTTP: the pricing playbook's booking link goes through
`/r/<token>` on Relaydesk, which records the click and redirects (302) to the brief's
booking URL; a forged, altered or unknown token is a 404 page and redirects nowhere; the
conversions figure counts the click."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from relaydesk.adapters.storage.tables import events
from tests.acceptance.desk import lead
from tests.conftest import Harness, message_webhook, text_webhook

CUSTOMER = "34600000801"
BOOKING = "https://northwindgoods.example/book"


def tapped(option: str, title: str) -> bytes:
    return message_webhook(
        {
            "id": f"wamid.{uuid.uuid4().hex}",
            "timestamp": str(int(datetime.now(UTC).timestamp())),
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": option, "title": title},
            },
        },
        wa_id=CUSTOMER,
    )


def clicks(harness: Harness) -> list[int]:
    with harness.container.db.read() as conn:
        return [
            int(r.conversation_id)
            for r in conn.execute(
                select(events.c.conversation_id).where(events.c.kind == "booking_click")
            )
        ]


async def booking_link(harness: Harness) -> str:
    """The customer asks a price, taps an option and is sent the booking link."""
    forced = await harness.client.post(
        "/api/v1/rollout/promote", json={"intent": "pricing", "force": True}, headers=lead(harness)
    )
    assert forced.status_code == 200, forced.text
    question = text_webhook(body="how much does the oak side table cost", wa_id=CUSTOMER)
    assert (await harness.post_webhook(question)).status_code == 200
    assert (await harness.post_webhook(tapped("pricing_home", "For my home"))).status_code == 200
    await harness.drain()
    texts = [
        r.body["text"]["body"] for r in harness.graph.state.accepted() if r.body["type"] == "text"
    ]
    assert len(texts) == 1, texts
    assert BOOKING not in texts[0]
    found = re.search(r"Book a call: (http://testserver/r/\S+)", texts[0])
    assert found, texts[0]
    return found.group(1).removeprefix("http://testserver")


async def test_a_click_is_counted_and_redirected_to_the_booking_page(harness: Harness) -> None:
    path = await booking_link(harness)
    assert clicks(harness) == []

    followed = await harness.client.get(path)
    assert followed.status_code == 302
    assert followed.headers["location"] == BOOKING
    assert followed.headers["cache-control"] == "no-store"
    (conversation,) = clicks(harness)

    # a query naming another site changes nothing: the target is the brief's
    again = await harness.client.get(f"{path}?url=https://evil.example/&next=//evil.example")
    assert again.headers["location"] == BOOKING
    assert clicks(harness) == [conversation, conversation]

    now = harness.container.worker._clock()
    day = timedelta(days=1)
    period = {"start": (now - day).isoformat(), "end": (now + day).isoformat()}
    card = await harness.client.get(
        "/api/v1/metrics/scorecard", params=period, headers=lead(harness)
    )
    assert card.status_code == 200, card.text
    lines = {line["key"]: line for line in card.json()["rows"]}
    assert lines["qualified"]["value"] == 1.0 and lines["qualified"]["count"] == 1
    assert lines["conversions"]["value"] == 1.0 and lines["conversions"]["count"] == 1
    behind = await harness.client.get(
        "/api/v1/metrics/conversations",
        params=period | {"figure": "conversions"},
        headers=lead(harness),
    )
    assert [row["id"] for row in behind.json()["rows"]] == [conversation]


async def test_a_forged_or_unknown_token_is_a_404_page_and_no_redirect(harness: Harness) -> None:
    path = await booking_link(harness)
    number, _, signature = path.removeprefix("/r/").partition("-")
    links = harness.container.booking_links
    for bad in (
        f"{number}-{signature[:-1]}A"
        if not signature.endswith("A")
        else f"{number}-{signature[:-1]}B",
        f"{int(number) + 1}-{signature}",  # another conversation's id, this one's signature
        links.token(999_999),  # genuine, but no such conversation
        "nonsense",
        f"0{number}-{signature}",
        "https:%2F%2Fevil.example",
        "9" * 80,
    ):
        refused = await harness.client.get(f"/r/{bad}")
        assert refused.status_code == 404, bad
        assert "location" not in refused.headers
        assert "Link not found" in refused.text
    assert clicks(harness) == []
