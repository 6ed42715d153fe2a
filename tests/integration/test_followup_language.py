"""The re-engagement follow-up in the customer's language, through the outbox to the local
Graph server (SQLite and PostgreSQL): the example brief's `support_followup` goes in its
Spanish version (`support_followup_es`, language `es`) to a customer who writes Spanish,
in the default one (`en_US`) to one who writes English, and to one whose language is not
known; both when the window has closed before the send and on a 131047 error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from relaydesk.adapters.storage.tables import customers, outbox
from relaydesk.testing import Failure
from tests.conftest import Clock, Harness, text_webhook

SPANISH = "¿dónde está mi pedido? lo compré la semana pasada"
ENGLISH = "where is my order? I bought it last week"


def stored_language(harness: Harness) -> str | None:
    with harness.container.db.read() as conn:
        return conn.execute(select(customers.c.language)).scalar_one()


def template_sent(harness: Harness) -> dict[str, Any]:
    (sent,) = harness.graph.state.accepted()
    assert sent.body["type"] == "template"
    template: dict[str, Any] = sent.body["template"]
    return template


@pytest.mark.parametrize(
    ("body", "language", "code"),
    [(SPANISH, "es", "es"), (ENGLISH, "en", "en_US"), (SPANISH, None, "en_US")],
    ids=["spanish", "english", "unknown"],
)
async def test_a_reply_after_the_window_closed_goes_in_the_customer_language(
    harness: Harness, clock: Clock, body: str, language: str | None, code: str
) -> None:
    await harness.post_webhook(text_webhook(body=body, timestamp=clock.now))
    if language is None:  # not known (yet): the reply is queued, the language forgotten
        with harness.container.db.write() as conn:
            conn.execute(update(customers).values(language=None))
    assert stored_language(harness) == language
    clock.advance(hours=25)
    await harness.drain()
    template = template_sent(harness)
    assert template["name"] == "support_followup"
    assert template["language"] == {"code": code}
    assert template["components"][0]["parameters"] == [{"type": "text", "text": "Ana"}]
    with harness.container.db.read() as conn:  # the swap is recorded as what was sent
        (content,) = conn.execute(select(outbox.c.content)).scalars().all()
    assert (content["name"], content["language"]) == ("support_followup", code)


@pytest.mark.parametrize(
    ("body", "code"), [(SPANISH, "es"), (ENGLISH, "en_US")], ids=["spanish", "english"]
)
async def test_a_window_closed_error_re_engages_in_the_customer_language(
    harness: Harness, body: str, code: str
) -> None:
    harness.graph.fail(Failure(400, 131047, "re-engagement"))
    await harness.post_webhook(text_webhook(body=body))
    await harness.drain()
    template = template_sent(harness)
    assert (template["name"], template["language"]) == ("support_followup", {"code": code})
