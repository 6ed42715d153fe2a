"""The pre-launch replay takes the decisions the webhook path takes: the same customers'
messages, once as signed webhooks through the whole app and once replayed from a history,
give the same action, intent, confidence, triggers, route and replies at every turn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from relaydesk.adapters.storage.tables import conversations, customers, decisions, drafts, messages
from relaydesk.domain.history import History, HistoryConversation, Turn
from relaydesk.services.decider import BriefDecider
from relaydesk.services.replay import replay
from tests.conftest import Clock, Harness, text_webhook

MADRID = ZoneInfo("Europe/Madrid")
OPEN = datetime(2026, 12, 2, 10, tzinfo=MADRID).astimezone(UTC)  # a Wednesday morning

#: Everyday traffic: greetings, vague and unsure messages, returning customers, thanks,
#: requests for a person, a refund request, a clarification that follows up.
CONVERSATIONS = [
    ["hi", "where is my order?", "thanks, bye", "hello again", "my parcel still hasn't come"],
    ["hmm", "it's about the thing I bought", "i want my money back for the broken lamp"],
    ["do you ship to the canary islands", "how much is it", "ok thanks"],
    ["I want to talk to a real person"],
    ["my app keeps logging me out", "still doesn't work, this is the third time i'm asking!!"],
    ["what payment methods do you take", "can I pay with paypal?", "great"],
    ["asdfgh", "sorry wrong chat"],
    ["can I cancel my order", "please cancel order NW-10482, I don't want it anymore"],
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_replay_decides_as_the_webhook_path_does(harness: Harness, clock: Clock) -> None:
    clock.now = OPEN
    customers_ids = [f"346{uuid.uuid4().int % 10**8:08d}" for _ in CONVERSATIONS]
    turns: list[Turn] = []
    for wa_id, texts in zip(customers_ids, CONVERSATIONS, strict=True):
        for text in texts:
            clock.advance(seconds=50)
            response = await harness.post_webhook(
                text_webhook(body=text, wa_id=wa_id, timestamp=clock.now)
            )
            assert response.status_code == 200, response.text
            turns.append(Turn(wa_id, clock.now, "customer", text, source=f"live:{len(turns)}"))
        clock.advance(minutes=30)

    with harness.container.db.read() as conn:
        live = conn.execute(
            select(
                customers.c.wa_id,
                decisions.c.action,
                decisions.c.intent,
                decisions.c.confidence,
                decisions.c.triggers,
                decisions.c.detail,
                conversations.c.queue,
                conversations.c.priority,
            )
            .select_from(
                decisions.join(messages, messages.c.id == decisions.c.message_id)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .join(customers, customers.c.id == conversations.c.customer_id)
            )
            .order_by(messages.c.sent_at, messages.c.id)
        ).all()
        sent = conn.execute(
            select(customers.c.wa_id, messages.c.text, messages.c.created_at)
            .select_from(
                messages.join(conversations, conversations.c.id == messages.c.conversation_id).join(
                    customers, customers.c.id == conversations.c.customer_id
                )
            )
            .where(messages.c.direction == "out")
            .order_by(messages.c.id)
        ).all()
        # The example brief's draft intents (pricing): the bot's answer is held for a
        # person's approval, not sent; it is the bot's reply all the same.
        held = conn.execute(
            select(customers.c.wa_id, drafts.c.text, drafts.c.created_at).select_from(
                drafts.join(conversations, conversations.c.id == drafts.c.conversation_id).join(
                    customers, customers.c.id == conversations.c.customer_id
                )
            )
        ).all()
        sent = sorted([*sent, *held], key=lambda r: r.created_at)  # one reply per turn
    assert len(live) == len(turns)

    history = History(
        tuple(
            HistoryConversation(wa_id, tuple(t for t in turns if t.conversation_id == wa_id))
            for wa_id in customers_ids
        )
    )
    decider = BriefDecider.from_brief(harness.container.brief)
    replayed = replay(history, decider)
    by_customer = {
        wa_id: [r for r in replayed if r.conversation_id == wa_id] for wa_id in customers_ids
    }
    live_by_customer = {wa_id: [r for r in live if r.wa_id == wa_id] for wa_id in customers_ids}

    actions = set()
    for wa_id in customers_ids:
        for ours, theirs in zip(by_customer[wa_id], live_by_customer[wa_id], strict=True):
            where = f"{ours.source} {ours.text!r}"
            actions.add(ours.action)
            assert ours.action == theirs.action, where
            assert ours.intent == theirs.intent, where
            assert ours.confidence == pytest.approx(theirs.confidence, abs=1e-6), where
            assert list(ours.triggers) == [t["type"] for t in theirs.triggers], where
            if ours.escalated:  # no ladder moves here: the conversation is still where it went
                assert (ours.queue, ours.priority) == (theirs.queue, theirs.priority), where
        if not any(r.escalated for r in by_customer[wa_id]):  # no live wait in the words
            replies = [text for r in by_customer[wa_id] for text in r.replies]
            assert replies == [s.text for s in sent if s.wa_id == wa_id], wa_id
    # the traffic exercised the policy's main paths, so the comparison means something
    assert {"answer", "escalate", "clarify"} <= actions, actions
