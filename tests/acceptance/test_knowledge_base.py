"""Level 0 through the whole app: an unsure question gets the WhatsApp list of three
articles at the Graph fake, the customer's tap on a row (a list_reply webhook) gets the
passage with the article's link, both decisions record the articles, and the handoff card
of a later escalation names the article the bot tried."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select

from relaydesk.adapters.storage.tables import decisions
from tests.conftest import Harness, message_webhook

CUSTOMER = "34600111222"


def incoming(message: dict[str, Any]) -> bytes:
    base = {"id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time()))}
    return message_webhook(base | message, wa_id=CUSTOMER, name="Kim")


def sent(harness: Harness) -> list[dict[str, Any]]:
    return [r.body for r in harness.graph.state.accepted() if r.body.get("to") == CUSTOMER]


async def test_an_unsure_question_gets_a_list_and_the_tapped_article_answers(
    harness: Harness,
) -> None:
    asked = await harness.post_webhook(
        incoming({"type": "text", "text": {"body": "present for a friend"}})
    )
    assert asked.status_code == 200, asked.text
    await harness.drain()
    offered = sent(harness)[-1]
    assert offered["type"] == "interactive" and offered["interactive"]["type"] == "list"
    rows = offered["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 3
    assert rows[0] == {
        "id": "kb:en/gift-cards#0",
        "title": "Gift cards",
        "description": "Buying a gift card",
    }
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    assert offered["interactive"]["action"]["button"] == "See articles"
    assert "1. Gift cards" in offered["interactive"]["body"]["text"]

    tapped = await harness.post_webhook(
        incoming(
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": rows[0]["id"], "title": rows[0]["title"]},
                },
            }
        )
    )
    assert tapped.status_code == 200, tapped.text
    await harness.drain()
    answer = sent(harness)[-1]
    assert answer["type"] == "text"
    assert answer["text"]["body"].startswith("Gift cards are sent by email")
    assert answer["text"]["body"].endswith("https://northwindgoods.example/help/gift-cards")

    with harness.container.db.read() as conn:
        recorded = conn.execute(select(decisions).order_by(decisions.c.id)).all()
    listed, answered = recorded[-2], recorded[-1]
    assert listed.action == "clarify"
    assert len(listed.detail["articles"]) == 3
    assert listed.detail["articles"][0]["article"] == "en/gift-cards"
    assert answered.action == "answer"
    assert answered.detail["knowledge"]["article"] == "en/gift-cards"
    assert len(answered.detail["knowledge"]["kb_version"]) == 12

    # the customer still wants a person: the handoff card says which article was tried
    human = {"type": "text", "text": {"body": "talk to a human please"}}
    assert (await harness.post_webhook(incoming(human))).status_code == 200
    card = await harness.client.get(
        f"/api/v1/conversations/{answered.conversation_id}/card",
        headers={"Authorization": f"Bearer {harness.token}"},
    )
    assert card.status_code == 200, card.text
    assert "answered from the article 'Gift cards' (en/gift-cards#0)" in card.json()["bot_tried"]
