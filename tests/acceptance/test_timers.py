"""The worker's timers through the whole app, on both databases, driven by the harness
clock: a ladder timeout moves a waiting conversation up a tier (where an agent of that
tier takes it), a breach raises its priority and alerts supervisors, and after a
resolution the CSAT question reaches the customer as reply buttons, or as the template
once the 24-hour window has closed.

The periodic jobs run by hand (`runner.scheduler.run_due(now)`: assignment, then timers),
as `relaydesk worker` runs them every second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from relaydesk.adapters.storage.tables import events
from relaydesk.services import accounts
from tests.conftest import SECRET_KEY, Clock, Harness, text_webhook

#: Monday 30 November 2026, 10:00 in Madrid: the example shop is open (Mon-Fri 9-18).
MON_10 = datetime(2026, 11, 30, 10, tzinfo=ZoneInfo("Europe/Madrid")).astimezone(UTC)


def make_agent(harness: Harness, email: str, skills: list[str]) -> dict[str, str]:
    with harness.container.db.write() as conn:
        accounts.create_user(
            conn,
            email=email,
            name=email.split("@")[0],
            role="agent",
            password=None,
            now=MON_10,
            skills=skills,
            languages=["en", "es"],
            capacity=3,
        )
        token = accounts.create_token(conn, email=email, label="tests", now=MON_10, key=SECRET_KEY)
    return {"Authorization": f"Bearer {token}"}


def lead(harness: Harness) -> dict[str, str]:
    return {"Authorization": f"Bearer {harness.token}"}


async def escalate(harness: Harness, clock: Clock, wa_id: str) -> int:
    body = text_webhook(body="I want to talk to a real person", wa_id=wa_id, timestamp=clock.now)
    assert (await harness.post_webhook(body)).status_code == 200
    found = await harness.client.get(
        "/api/v1/conversations", params={"customer": wa_id}, headers=lead(harness)
    )
    (conversation,) = found.json()["conversations"]
    assert (conversation["status"], conversation["queue"]) == ("queued", "general")
    return int(conversation["id"])


async def conversation(harness: Harness, conversation_id: int) -> dict[str, Any]:
    found = await harness.client.get(
        f"/api/v1/conversations/{conversation_id}", headers=lead(harness)
    )
    assert found.status_code == 200, found.text
    detail: dict[str, Any] = found.json()
    return detail


def event_kinds(harness: Harness, conversation_id: int) -> list[str]:
    with harness.container.db.read() as conn:
        return list(
            conn.execute(
                select(events.c.kind)
                .where(events.c.conversation_id == conversation_id)
                .order_by(events.c.id)
            ).scalars()
        )


async def test_a_ladder_timeout_moves_it_up_a_tier_and_a_breach_raises_its_priority(
    harness: Harness, clock: Clock
) -> None:
    clock.now = MON_10
    billing = make_agent(harness, "bea@example.com", ["payments", "refunds"])
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=billing)
    conversation_id = await escalate(harness, clock, "34600000901")
    await harness.container.runner.scheduler.run_due(clock())
    # Nobody in general is online; Bea (billing) is not qualified for it.
    before = await conversation(harness, conversation_id)
    assert (before["status"], before["tier"], before["priority"]) == ("queued", 2, "P3")

    clock.advance(minutes=9)
    await harness.container.runner.scheduler.run_due(clock())
    assert (await conversation(harness, conversation_id))["queue"] == "general"

    clock.advance(minutes=1)  # general's 10-minute timeout
    await harness.container.runner.scheduler.run_due(clock())
    moved = await conversation(harness, conversation_id)
    assert (moved["queue"], moved["tier"]) == ("billing", 3)
    clock.advance(seconds=1)
    await harness.container.runner.scheduler.run_due(clock())  # now Bea can take it
    taken = await conversation(harness, conversation_id)
    assert (taken["status"], taken["assignee"]["email"]) == ("assigned", "bea@example.com")

    clock.now = MON_10 + timedelta(minutes=48)  # 80% of P3's first response (1 hour)
    await harness.container.runner.scheduler.run_due(clock())
    assert event_kinds(harness, conversation_id)[-1] == "sla_warning"
    clock.now = MON_10 + timedelta(hours=1)  # nobody has answered yet: breached
    await harness.container.runner.scheduler.run_due(clock())
    breached = await conversation(harness, conversation_id)
    assert (breached["priority"], breached["queue"]) == ("P2", "billing")
    kinds = event_kinds(harness, conversation_id)
    for kind in ("moved", "sla_warning", "sla_breach", "priority_raised", "supervisor_alert"):
        assert kinds.count(kind) == 1, (kind, kinds)

    clock.advance(minutes=5)  # a breach acts once
    await harness.container.runner.scheduler.run_due(clock())
    assert event_kinds(harness, conversation_id).count("sla_breach") == 1


async def test_nobody_online_upstairs_skips_to_the_last_tier(
    harness: Harness, clock: Clock
) -> None:
    clock.now = MON_10
    conversation_id = await escalate(harness, clock, "34600000902")
    clock.advance(minutes=10)
    report = harness.container.timers.run(clock.now)
    assert report.moves == 1
    moved = await conversation(harness, conversation_id)
    assert (moved["queue"], moved["tier"]) == ("management", 4)


async def test_csat_buttons_after_resolving_and_the_template_once_the_window_closed(
    harness: Harness, clock: Clock
) -> None:
    clock.now = MON_10
    ana = make_agent(harness, "ana@example.com", ["orders"])
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=ana)
    inside = await escalate(harness, clock, "34600000903")
    await harness.container.runner.scheduler.run_due(clock())
    assert (await conversation(harness, inside))["status"] == "assigned"
    resolved = await harness.client.post(f"/api/v1/conversations/{inside}/resolve", headers=ana)
    assert resolved.status_code == 200, resolved.text
    clock.advance(seconds=1)
    await harness.container.runner.scheduler.run_due(clock())
    await harness.drain()
    sent = [r.body for r in harness.graph.state.accepted() if r.body.get("to") == "34600000903"]
    question = sent[-1]["interactive"]
    assert question["type"] == "button"
    assert [b["reply"]["id"] for b in question["action"]["buttons"]] == [
        f"csat:{inside}:5",
        f"csat:{inside}:3",
        f"csat:{inside}:1",
    ]

    late = await escalate(harness, clock, "34600000904")
    clock.advance(seconds=1)  # the worker's periodic jobs run at most once a second
    await harness.container.runner.scheduler.run_due(clock())
    assert (await conversation(harness, late))["status"] == "assigned"
    clock.advance(hours=25)  # the customer's window has closed
    resolved = await harness.client.post(f"/api/v1/conversations/{late}/resolve", headers=ana)
    assert resolved.status_code == 200, resolved.text
    await harness.container.runner.scheduler.run_due(clock())
    await harness.drain()
    sent = [r.body for r in harness.graph.state.accepted() if r.body.get("to") == "34600000904"]
    template = sent[-1]["template"]
    assert template["name"] == "csat_request"
    payloads = [
        c["parameters"][0]["payload"] for c in template["components"] if c["type"] == "button"
    ]
    assert payloads == [f"csat:{late}:5", f"csat:{late}:3", f"csat:{late}:1"]
