"""A decision round understands its messages together: the knowledge base's queries are
encoded in one batch (MiniLM, the example shop's articles), and every message gets the
passages it would get alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.channel import InboundMessage, Sender
from relaydesk.services.decider import BriefDecider

TEXTS = [
    "What payment methods do you accept",
    "hi",
    "do you ship to the canary islands?",
    "where is my order?",
    "¿puedo pagar a plazos?",
    "my app keeps logging me out",
    "what payment methods do you accept",
    "can I return something I bought on sale",
]


def message(n: int, text: str) -> InboundMessage:
    return InboundMessage(
        wamid=f"wamid.{n}",
        phone_number_id="PN",
        sender=Sender(wa_id=f"3460000{n:04d}"),
        sent_at=datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
        type="text",
        text=text,
    )


def test_a_batch_finds_the_passages_each_message_finds_alone() -> None:
    decider = BriefDecider.from_brief(load_brief(EXAMPLE_BRIEF))
    messages = [message(n, text) for n, text in enumerate(TEXTS)]
    together = decider.understand_many(messages)
    alone = [decider.understand_many([m])[0] for m in messages]
    assert any(u.knowledge for u in together)  # the batch did search the articles
    for text, batch, single in zip(TEXTS, together, alone, strict=True):
        assert [(h.article, h.passage) for h in batch.knowledge] == [
            (h.article, h.passage) for h in single.knowledge
        ], text
        assert [h.probability for h in batch.knowledge] == pytest.approx(
            [h.probability for h in single.knowledge], abs=1e-4
        ), text
