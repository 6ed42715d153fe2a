"""The decision stage's guarantees, on SQLite and PostgreSQL: the acknowledgement waits only
for the durable insert; nothing lost, nothing doubled; one customer's messages decided in
order and never two at once; pending messages picked up after a crash; backlog deferred."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from relaydesk.adapters.storage import pending as pending_store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.tables import conversations, decisions, messages, outbox
from relaydesk.adapters.storage.tables import pending_decisions as pending_table
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Understanding
from relaydesk.domain.policy import Outcome
from relaydesk.services.decisions import DecisionMaker, DecisionStage
from tests.conftest import Clock, Harness, text_webhook


def count(harness: Harness, table: object) -> int:
    with harness.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def decided(harness: Harness) -> list[tuple[int, int, int]]:
    """(decision id, message id, customer id) of every decision on an inbound message."""
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(decisions.c.id, decisions.c.message_id, conversations.c.customer_id)
            .join(conversations, conversations.c.id == decisions.c.conversation_id)
            .where(decisions.c.message_id.is_not(None))
            .order_by(decisions.c.id)
        ).all()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


async def test_the_acknowledgement_stores_the_message_and_leaves_the_deciding(
    harness: Harness,
) -> None:
    response = await harness.post_webhook(text_webhook(body="where is my order?"), decide=False)
    assert response.status_code == 200
    assert count(harness, messages) == 1
    assert count(harness, pending_table) == 1
    assert count(harness, decisions) == 0
    assert count(harness, outbox) == 0

    assert await harness.decide() == 1
    assert count(harness, pending_table) == 0
    assert count(harness, decisions) == 1
    assert count(harness, outbox) == 1  # the bot's answer, enqueued by the decision
    assert await harness.decide() == 0  # nothing decided twice


async def test_a_crash_before_the_commit_leaves_the_message_pending(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.post_webhook(text_webhook(body="where is my order?"), decide=False)
    stage = harness.container.decisions

    def crash(*_: object) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(repo, "record_decisions", crash)
        with pytest.raises(RuntimeError):
            stage.run_once()
    assert count(harness, pending_table) == 1
    assert count(harness, decisions) == 0
    assert count(harness, outbox) == 0
    assert stage.run_once() == 1  # the next decider (or this one, restarted) picks it up
    assert count(harness, decisions) == 1
    assert count(harness, outbox) == 1


async def test_backlog_is_stored_and_deferred(harness: Harness, clock: Clock) -> None:
    old = clock.now - timedelta(hours=2)
    await harness.post_webhook(text_webhook(body="hello?", timestamp=old))
    with harness.container.db.read() as conn:
        (action, policy) = conn.execute(
            select(decisions.c.action, decisions.c.policy_version)
        ).one()
    assert (action, policy) == ("defer", "backlog")
    assert count(harness, outbox) == 0


async def test_a_message_whose_conversation_closed_meanwhile_opens_the_next(
    harness: Harness,
) -> None:
    await harness.post_webhook(text_webhook(body="hi"), decide=False)
    with harness.container.db.write() as conn:
        conn.execute(update(conversations).values(status=ConversationStatus.RESOLVED.value))
    await harness.decide()
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(conversations.c.id, conversations.c.status).order_by(conversations.c.id)
        ).all()
        (message_conversation,) = conn.execute(
            select(messages.c.conversation_id).where(messages.c.direction == "in")
        ).scalars()
        (decision_conversation,) = conn.execute(select(decisions.c.conversation_id)).scalars()
    assert len(rows) == 2 and rows[0].status == "resolved" and rows[1].status != "resolved"
    assert message_conversation == decision_conversation == rows[1].id


class Watching:
    """The real decider, watched: who is being decided right now, and in what order."""

    def __init__(self, real: DecisionMaker, delay: float = 0.0) -> None:
        self.brief = real.brief
        self._real = real
        self._delay = delay
        self._lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.overlaps = 0
        self.order: dict[str, list[str]] = defaultdict(list)

    def understand_many(self, batch: Sequence[InboundMessage]) -> list[Understanding]:
        return self._real.understand_many(batch)

    def decide(
        self,
        state: ConversationState,
        message: InboundMessage,
        understanding: Understanding,
        attributes: Mapping[str, str],
        now: datetime,
    ) -> Outcome:
        who = message.sender.wa_id or ""
        with self._lock:
            self.in_flight[who] += 1
            if self.in_flight[who] > 1:
                self.overlaps += 1
            self.order[who].append(message.wamid)
        try:
            time.sleep(self._delay)  # widen the window in which a second decider could overlap
            return self._real.decide(state, message, understanding, attributes, now)
        finally:
            with self._lock:
                self.in_flight[who] -= 1


async def test_parallel_deciders_lose_nothing_double_nothing_and_keep_each_customers_order(
    harness: Harness, clock: Clock
) -> None:
    customers, per_customer = 12, 6
    sent: dict[str, list[str]] = defaultdict(list)
    for turn in range(per_customer):
        for number in range(customers):
            wa_id = f"3460000{number:04d}"
            wamid = f"wamid.P{number:03d}T{turn:02d}"
            sent[wa_id].append(wamid)
            body = "where is my order?" if turn % 2 else "hi"
            response = await harness.post_webhook(
                text_webhook(wamid=wamid, wa_id=wa_id, body=body, timestamp=clock.now),
                decide=False,
            )
            assert response.status_code == 200
    total = customers * per_customer
    assert count(harness, pending_table) == total

    container = harness.container
    watching = Watching(container.decisions._decider, delay=0.002)
    stages = [
        DecisionStage(
            container.db,
            watching,
            container.metrics,
            backlog_max_age=timedelta(hours=1),
            batch_size=7,  # rounds that cut through customers' messages
        )
        for _ in range(3)
    ]
    errors: list[BaseException] = []

    def work(stage: DecisionStage) -> None:
        try:
            stage.run_until_idle()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(stage,)) for stage in stages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert count(harness, pending_table) == 0

    rows = decided(harness)
    assert len(rows) == total  # nothing lost
    assert len({message_id for _, message_id, _ in rows}) == total  # nothing doubled
    assert watching.overlaps == 0  # one customer never decided by two at once
    for wa_id, wamids in sent.items():  # each customer's messages decided in arrival order
        decided_in = [w for w in watching.order[wa_id] if w in set(wamids)]
        assert decided_in == wamids, wa_id
    by_customer: dict[int, list[int]] = defaultdict(list)
    for _, message_id, customer_id in rows:  # and committed in that order
        by_customer[customer_id].append(message_id)
    assert all(ids == sorted(ids) for ids in by_customer.values())


async def test_the_pending_row_carries_what_the_decision_reads(harness: Harness) -> None:
    body = text_webhook(body="hello", wa_id="34611111111", name="Rosa")
    await harness.post_webhook(body, decide=False)
    with harness.container.db.read() as conn:
        (item,) = pending_store.oldest(conn, 10)
        depth, oldest = pending_store.depth(conn)
    assert item.message.text == "hello"
    assert item.message.sender.wa_id == "34611111111"
    assert item.message.sender.profile_name == "Rosa"
    assert item.message.phone_number_id
    assert depth == 1 and oldest == item.received_at


async def test_refreshed_reads_where_pending_messages_are_now_and_drops_the_decided(
    harness: Harness,
) -> None:
    """What a SQLite decider read before its write transaction, checked inside it: a
    message decided meanwhile is gone, one moved to another conversation (a merge) is
    where it is now, with that customer's attributes; the message itself is as read."""
    for wa_id, text in (("34611111111", "hi"), ("34622222222", "where is my order?")):
        await harness.post_webhook(text_webhook(body=text, wa_id=wa_id), decide=False)
    await harness.post_webhook(text_webhook(body="thanks", wa_id="34633333333"), decide=False)
    with harness.container.db.read() as conn:
        first, second, third = pending_store.oldest(conn, 10)
    with harness.container.db.write() as conn:
        pending_store.done(conn, [second.message_id])  # decided by another decider
        # a merge moved the third message into the first customer's open conversation
        pending_store.move_message(conn, third.message_id, first.conversation_id)
        repo.set_customer_attributes(conn, first.customer_id, {"plan": "gold"}, first.received_at)
    with harness.container.db.read() as conn:
        now = pending_store.refreshed(conn, [first, second, third])
        fresh = pending_store.these(conn, [first.message_id, third.message_id])
        assert pending_store.refreshed(conn, []) == []

    assert [p.message_id for p in now] == [first.message_id, third.message_id]
    assert now == fresh  # what reading and parsing them again gives
    assert (now[1].conversation_id, now[1].customer_id) == (
        first.conversation_id,
        first.customer_id,
    )
    assert now[1].attributes == {"plan": "gold"}
    assert now[1].message == third.message


async def test_one_transaction_decides_a_customers_messages_on_what_the_earlier_ones_wrote(
    harness: Harness,
) -> None:
    """Several messages of one customer and one of another, decided in one write
    transaction: the later message of a customer sees the language and the state the
    earlier one wrote (not the context read ahead for both), and every reply is stored in
    its conversation with its outbox row, in order."""
    harness.container.decisions._write_slice = 60.0  # the whole round in one transaction
    for wamid, body, wa_id in (
        ("wamid.a1", "¿dónde está mi pedido?", "34600000001"),
        ("wamid.b1", "where is my order?", "34600000002"),
        ("wamid.a2", "merci", "34600000001"),
        ("wamid.a3", "NW-10482", "34600000001"),
    ):
        await harness.post_webhook(text_webhook(wamid=wamid, body=body, wa_id=wa_id), decide=False)
    assert await harness.decide() == 4
    with harness.container.db.read() as conn:
        from relaydesk.adapters.storage.tables import customers

        languages = dict(conn.execute(select(customers.c.wa_id, customers.c.language)).all())
        rows = conn.execute(
            select(messages.c.wamid, decisions.c.detail, decisions.c.conversation_id)
            .join(decisions, decisions.c.message_id == messages.c.id)
            .order_by(messages.c.id)
        ).all()
        inbound = dict(
            conn.execute(
                select(messages.c.wamid, messages.c.conversation_id).where(
                    messages.c.direction == "in"
                )
            ).all()
        )
        sent = conn.execute(
            select(outbox.c.id, outbox.c.message_id, outbox.c.conversation_id, messages.c.id)
            .join(messages, messages.c.id == outbox.c.message_id)
            .where(messages.c.conversation_id == outbox.c.conversation_id)
            .order_by(outbox.c.id)
        ).all()
        replies = int(
            conn.execute(
                select(func.count()).select_from(messages).where(messages.c.direction == "out")
            ).scalar_one()
        )
    assert languages == {"34600000001": "es", "34600000002": "en"}
    assert [r.wamid for r in rows] == ["wamid.a1", "wamid.b1", "wamid.a2", "wamid.a3"]
    assert all(r.conversation_id == inbound[r.wamid] for r in rows)
    # a2 ("merci") and a3 (an order number) are decided in the language a1 set
    assert [r.detail.get("language") for r in rows] == ["es", "en", "es", "es"]
    assert replies == len(sent) >= 3
    assert [s[1] for s in sent] == sorted(s[1] for s in sent)  # replies stored in order
