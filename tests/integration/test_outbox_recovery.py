"""The outbox after a crash or an ambiguous send: reconcile, never double where avoidable."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import aiohttp
from sqlalchemy import select, update

from relaydesk.adapters.storage.tables import messages, outbox, send_attempts
from relaydesk.services.outbox import callback_tag
from relaydesk.testing import Failure
from tests.conftest import Clock, Harness, status_webhook, text_webhook


def reconcile_after(harness: Harness, wait: timedelta) -> None:
    worker = harness.container.worker
    worker.policy = replace(worker.policy, reconcile_after=wait)


def crash_mid_send(harness: Harness, clock: Clock) -> int:
    """Leave the outbox as a worker killed after recording its attempt would."""
    with harness.container.db.write() as conn:
        (row_id,) = conn.execute(select(outbox.c.id)).scalars().all()
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(state="sending", attempts=1, lease_until=clock.now + timedelta(seconds=30))
        )
        conn.execute(
            send_attempts.insert().values(outbox_id=row_id, attempt=1, started_at=clock.now)
        )
    return int(row_id)


async def test_crashed_send_that_reached_meta_is_not_sent_again(
    harness: Harness, clock: Clock
) -> None:
    reconcile_after(harness, timedelta(seconds=30))
    await harness.post_webhook(text_webhook(body="hello"))
    row_id = crash_mid_send(harness, clock)
    # Meta accepted it before the crash: its status webhook echoes our tag.
    await harness.post_webhook(
        status_webhook("wamid.ARRIVED", "sent", callback=callback_tag(row_id))
    )
    clock.advance(seconds=31)  # the lease expires
    await harness.drain()
    assert harness.graph.state.received == []
    with harness.container.db.read() as conn:
        assert conn.execute(select(outbox.c.state)).scalar_one() == "done"
        wamids = (
            conn.execute(select(messages.c.wamid).where(messages.c.direction == "out"))
            .scalars()
            .all()
        )
    assert wamids == ["wamid.ARRIVED"]


async def test_crashed_send_without_proof_waits_then_goes_once(
    harness: Harness, clock: Clock
) -> None:
    reconcile_after(harness, timedelta(seconds=30))
    await harness.post_webhook(text_webhook(body="hello"))
    crash_mid_send(harness, clock)
    clock.advance(seconds=10)
    await harness.drain()
    assert harness.graph.state.received == []  # lease still held by the dead worker
    clock.advance(seconds=25)
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1


async def test_timeout_is_ambiguous_and_reconciled_before_a_resend(
    harness: Harness, clock: Clock
) -> None:
    reconcile_after(harness, timedelta(seconds=30))
    harness.container.graph._timeout = aiohttp.ClientTimeout(total=0.2)
    harness.graph.fail(Failure(200, None, delay=0.5))  # answers too late
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.drain()
    assert len(harness.graph.state.received) == 1
    clock.advance(seconds=5)
    await harness.drain()
    assert len(harness.graph.state.received) == 1  # not yet: a status may still prove it
    clock.advance(seconds=30)
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1


async def test_permanent_error_fails_the_message_without_retry(
    harness: Harness, clock: Clock
) -> None:
    harness.graph.fail(Failure(400, 131026, "undeliverable"))
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.drain()
    clock.advance(minutes=10)
    await harness.drain()
    assert len(harness.graph.state.received) == 1
    with harness.container.db.read() as conn:
        row = conn.execute(
            select(messages.c.status, messages.c.error_code).where(messages.c.direction == "out")
        ).one()
    assert tuple(row) == (9, 131026)


async def test_window_closed_error_switches_to_the_template(harness: Harness, clock: Clock) -> None:
    harness.graph.fail(Failure(400, 131047, "re-engagement"))
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.drain()
    (sent,) = harness.graph.state.accepted()
    assert sent.body["type"] == "template"
    params = sent.body["template"]["components"][0]["parameters"]
    assert params[0]["text"] == "Ana"


async def test_pair_rate_limit_holds_only_that_recipient(harness: Harness, clock: Clock) -> None:
    harness.graph.fail(Failure(400, 131056, "pair rate limit"))
    await harness.post_webhook(text_webhook(body="hello", wa_id="34600000001"))
    await harness.drain()
    await harness.post_webhook(text_webhook(body="hello", wa_id="34600000002"))
    await harness.drain()
    assert [r.body["to"] for r in harness.graph.state.accepted()] == ["34600000002"]
