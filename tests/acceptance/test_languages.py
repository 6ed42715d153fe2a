"""The customer's language through HTTP: a Spanish speaker gets Spanish clarifying buttons,
a Spanish handoff and the CSAT question and thanks in Spanish; a Portuguese speaker is
routed to the Portuguese queue by language and taken by a Portuguese-speaking agent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from relaydesk.adapters.storage.tables import customers
from relaydesk.services import accounts
from tests.acceptance.test_handoff import (
    OPEN,
    conversation_of,
    customer,
    decisions_of,
    say,
    sent_to,
    tap,
)
from tests.conftest import SECRET_KEY, Clock, Harness


def agent(harness: Harness, email: str, languages: list[str]) -> dict[str, str]:
    with harness.container.db.write() as conn:
        accounts.create_user(
            conn,
            email=email,
            name=email.split("@")[0],
            role="agent",
            password=None,
            now=datetime.now(UTC),
            skills=["orders"],
            languages=languages,
        )
        token = accounts.create_token(conn, email=email, label="t", now=OPEN, key=SECRET_KEY)
    return {"Authorization": f"Bearer {token}"}


def interactive_to(harness: Harness, wa_id: str) -> list[dict[str, Any]]:
    return [
        r.body["interactive"]
        for r in harness.graph.state.accepted()
        if r.body.get("to") == wa_id and r.body.get("type") == "interactive"
    ]


def customer_language(harness: Harness, wa_id: str) -> tuple[str | None, str | None]:
    with harness.container.db.read() as conn:
        row = conn.execute(
            select(customers.c.language, customers.c.language_source).where(
                customers.c.wa_id == wa_id
            )
        ).one()
    return row.language, row.language_source


async def test_a_spanish_speaker_is_answered_handed_over_and_asked_in_spanish(
    harness: Harness, clock: Clock
) -> None:
    clock.now = OPEN
    headers = agent(harness, "eva@example.com", ["es"])
    wa_id = customer()
    await say(harness, clock, wa_id, "hola, tengo una duda con una cosa rara")
    await harness.drain()
    (clarify,) = interactive_to(harness, wa_id)
    assert clarify["body"]["text"].startswith("Para ayudarte con lo correcto")
    titles = [b["reply"]["title"] for b in clarify["action"]["buttons"]]
    assert titles[-1] == "Hablar con alguien"
    assert customer_language(harness, wa_id) == ("es", "detected")

    clock.advance(minutes=1)
    await tap(harness, clock, wa_id, "human")
    handoff = (await sent_to(harness, wa_id))[-1]
    assert handoff.startswith("Te paso ahora con nuestro equipo de general"), handoff
    conversation_id = int(conversation_of(harness, wa_id)["id"])
    escalation = decisions_of(harness, conversation_id)[-1]
    assert escalation["action"] == "escalate"
    assert escalation["detail"]["language"] == "es"
    assert conversation_of(harness, wa_id)["language"] == "es"

    card = await harness.client.get(
        f"/api/v1/conversations/{conversation_id}/card", headers=headers
    )
    assert card.json()["suggested_reply"].startswith("Hola"), card.json()["suggested_reply"]

    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=headers)
    await harness.container.runner.scheduler.run_due(clock())
    assert conversation_of(harness, wa_id)["status"] == "assigned"
    done = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/resolve", headers=headers
    )
    assert done.status_code == 200, done.text
    clock.advance(seconds=2)
    await harness.container.runner.scheduler.run_due(clock())
    await harness.drain()
    question = interactive_to(harness, wa_id)[-1]
    assert question["body"]["text"].startswith("¿Qué tal te hemos atendido hoy?")
    assert [b["reply"]["title"] for b in question["action"]["buttons"]] == [
        "Genial",
        "Normal",
        "Mal",
    ]
    clock.advance(minutes=1)
    await tap(harness, clock, wa_id, question["action"]["buttons"][0]["reply"]["id"])
    assert (await sent_to(harness, wa_id))[-1] == "Gracias por contárnoslo. Nos ayuda a mejorar."
    assert conversation_of(harness, wa_id)["csat_rating"] == 5


async def test_a_portuguese_speaker_is_routed_to_the_portuguese_team(
    harness: Harness, clock: Clock
) -> None:
    clock.now = OPEN
    english = agent(harness, "cy@example.com", ["en", "es"])
    portuguese = agent(harness, "rui@example.com", ["pt"])
    wa_id = customer()
    await say(harness, clock, wa_id, "quero falar com um atendente, por favor")
    row = conversation_of(harness, wa_id)
    assert (row["status"], row["queue"], row["language"]) == ("queued", "portuguese", "pt")
    assert customer_language(harness, wa_id) == ("pt", "detected")

    conversation_id = int(row["id"])
    refused = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/take", headers=english
    )
    assert refused.status_code == 403, refused.text
    taken = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/take", headers=portuguese
    )
    assert taken.status_code == 200, taken.text
