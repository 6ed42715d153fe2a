"""The customer's language, detected from their messages and kept on the customer (SQLite
and PostgreSQL): set by a confident message, kept through short or ambiguous ones,
switched by a confident longer one, and carried to the conversation when it escalates."""

from __future__ import annotations

from sqlalchemy import select

from relaydesk.adapters.storage.tables import conversations, customers
from tests.conftest import Clock, Harness, text_webhook


def stored(harness: Harness) -> tuple[str | None, str | None]:
    with harness.container.db.read() as conn:
        row = conn.execute(select(customers.c.language, customers.c.language_source)).one()
    return row.language, row.language_source


async def test_the_language_is_detected_kept_and_switched(harness: Harness, clock: Clock) -> None:
    await harness.post_webhook(text_webhook(body="👍", wamid="wamid.l1"))
    assert stored(harness) == (None, None)  # nothing to read

    await harness.post_webhook(text_webhook(body="¿dónde está mi pedido?", wamid="wamid.l2"))
    assert stored(harness) == ("es", "detected")
    with harness.container.db.read() as conn:
        first_at = conn.execute(select(customers.c.language_at)).scalar_one()
    assert first_at is not None

    clock.advance(minutes=1)
    await harness.post_webhook(text_webhook(body="merci", wamid="wamid.l3"))
    await harness.post_webhook(text_webhook(body="NW-10482", wamid="wamid.l4"))
    assert stored(harness) == ("es", "detected")  # one word, an order number: kept

    await harness.post_webhook(
        text_webhook(body="actually I would rather write in English, sorry", wamid="wamid.l5")
    )
    assert stored(harness) == ("en", "detected")


async def test_an_escalation_carries_the_customer_language(harness: Harness) -> None:
    await harness.post_webhook(text_webhook(body="quero falar com um atendente", wamid="wamid.p1"))
    assert stored(harness)[0] == "pt"
    with harness.container.db.read() as conn:
        row = conn.execute(select(conversations.c.status, conversations.c.language)).one()
    assert (row.status, row.language) == ("queued", "pt")
