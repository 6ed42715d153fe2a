"""The rollout through HTTP on both databases: a customer outside the pilot never gets a bot
answer, an intent that is off goes to people, a P1 past its SLA rolls its intent back to
draft and alerts supervisors, promotion when the seeded figures hold (by hand and by the
gates), and the API's and the console's roles, CSRF and refusals."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from relaydesk.adapters.storage import rollout as store
from relaydesk.adapters.storage.tables import conversations, decisions, events, outbox
from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.domain import rollout
from relaydesk.services.rollout import Rollout
from relaydesk.testing import GraphServer
from tests.acceptance.desk import lead, person
from tests.acceptance.test_console import Console, csrf_of, location, signed_in
from tests.conftest import Clock, Harness, text_webhook

SHIPPING = "how long does delivery take to Spain?"
PAYMENT = "which payment methods do you accept?"


@pytest.fixture
async def console(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[Console]:
    """The app on the example brief (its rollout: everyone in the pilot, pricing in draft,
    a greeting before the handoff outside the segment)."""
    from relaydesk.app.http.main import create_app

    settings = make_settings(whatsapp_graph_url=graph.url)
    container = build(settings, base_url="http://testserver", migrate=True)
    app = create_app(container, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Console(Harness(container, client, graph), transport, clock)


def begin(harness: Harness, now: datetime, percent: int | None = None) -> None:
    """The rollout as the brief starts it, or with the segment at `percent` (as a
    supervisor left it)."""
    first = rollout.initial_state(harness.container.brief, now)
    if percent is not None:
        first = replace(first, segment=replace(first.segment, percent=percent))
    with harness.container.db.write() as conn:
        assert store.initialise(conn, first, now)


def decided(harness: Harness, wa_id: str) -> list[tuple[str, str | None, list[str]]]:
    """(action, intent, trigger types) of every decision of the customer, oldest first."""
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(decisions.c.action, decisions.c.intent, decisions.c.triggers)
            .join(conversations, conversations.c.id == decisions.c.conversation_id)
            .where(conversations.c.id.in_(_conversation_ids(conn, harness, wa_id)))
            .order_by(decisions.c.id)
        ).all()
    return [(r[0], r[1], [t["type"] for t in r[2]]) for r in rows]


def _conversation_ids(conn: Any, harness: Harness, wa_id: str) -> list[int]:
    from relaydesk.adapters.storage.tables import customers

    return list(
        conn.execute(
            select(conversations.c.id)
            .join(customers, customers.c.id == conversations.c.customer_id)
            .where(customers.c.wa_id == wa_id)
        ).scalars()
    )


def replies(harness: Harness, wa_id: str) -> list[str]:
    with harness.container.db.read() as conn:
        ids = _conversation_ids(conn, harness, wa_id)
        rows = conn.execute(
            select(outbox.c.content).where(outbox.c.conversation_id.in_(ids)).order_by(outbox.c.id)
        ).scalars()
        return [str(content.get("body") or content) for content in rows]


async def ask(harness: Harness, wa_id: str, *texts: str) -> None:
    for body in texts:
        response = await harness.post_webhook(text_webhook(body=body, wa_id=wa_id))
        assert response.status_code == 200


async def status(harness: Harness) -> dict[str, Any]:
    response = await harness.client.get("/api/v1/rollout", headers=lead(harness))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# -- who the bot serves ---------------------------------------------------------------------------


async def test_a_customer_outside_the_pilot_never_gets_a_bot_answer(console: Console) -> None:
    harness = console.harness
    begin(harness, console.clock(), percent=0)
    await ask(harness, "34600000001", SHIPPING, PAYMENT, "hello?")
    actions = decided(harness, "34600000001")
    assert actions[0][0] == "escalate" and actions[0][2] == ["rollout"]
    assert [a for a, _, _ in actions[1:]] == ["silent", "silent"]
    (only,) = replies(harness, "34600000001")
    greeting = harness.container.brief.rollout.greeting
    assert only.startswith(f"{greeting}\n\n")  # then the handoff message
    with harness.container.db.read() as conn:
        cohorts = conn.execute(select(conversations.c.rollout_cohort)).scalars().all()
    assert cohorts == ["baseline"]


async def test_an_intent_that_is_off_goes_to_people(console: Console) -> None:
    harness = console.harness
    turned = await harness.client.post(
        "/api/v1/rollout/rollback",
        json={"intent": "shipping", "to": "off", "reason": "answers under review"},
        headers=lead(harness),
    )
    assert turned.status_code == 200, turned.text
    await ask(harness, "34600000002", PAYMENT)
    await ask(harness, "34600000003", SHIPPING)
    assert decided(harness, "34600000002")[0][0] == "answer"  # in the pilot, a live intent
    action, intent, triggers = decided(harness, "34600000003")[0]
    assert (action, intent, triggers) == ("escalate", "shipping", ["rollout"])
    modes = (await status(harness))["modes"]
    assert modes["shipping"]["mode"] == "off" and modes["payment_methods"]["mode"] == "live"


# -- rollback ----------------------------------------------------------------------------------


def simulate_p1_breach(harness: Harness, wa_id: str, intent: str, at: datetime) -> int:
    """The customer's conversation escalated at P1 for `intent` and past its SLA at `at`."""
    with harness.container.db.write() as conn:
        (conversation_id,) = _conversation_ids(conn, harness, wa_id)
        conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(status="queued", priority="P1", queue="general", escalated_at=at)
        )
        conn.execute(
            insert(decisions).values(
                conversation_id=conversation_id,
                action="escalate",
                intent=intent,
                triggers=[],
                policy_version="test",
                detail={},
                created_at=at,
            )
        )
        conn.execute(
            insert(events).values(
                conversation_id=conversation_id,
                kind="sla_breach",
                detail={"clock": "first_response", "priority": "P1"},
                created_at=at,
            )
        )
    return conversation_id


async def test_a_p1_breach_rolls_the_intent_back_to_draft_and_alerts_supervisors(
    console: Console,
) -> None:
    harness = console.harness
    await ask(harness, "34600000004", SHIPPING)
    assert decided(harness, "34600000004")[0][:2] == ("answer", "shipping")
    console.clock.advance(minutes=5)
    conversation_id = simulate_p1_breach(harness, "34600000004", "shipping", console.clock())
    console.clock.advance(seconds=1)

    assert "rollout_gates" in harness.container.runner.scheduler.names  # every minute
    done = harness.container.rollout.check(console.clock())

    assert [(c.subject, c.before, c.after) for c in done] == [("shipping", "live", "draft")]
    found = await status(harness)
    assert found["modes"]["shipping"]["mode"] == "draft"
    change = found["changes"][0]
    assert change["actor"] == "gate"
    assert change["reason"] == f"P1 conversation {conversation_id} past its SLA"
    assert change["figures"]["high_priority_sla"]["n"] >= 1
    with harness.container.db.read() as conn:
        alert = conn.execute(
            select(events.c.detail).where(events.c.kind == "supervisor_alert")
        ).scalar_one()
    assert alert["rollout"] == "shipping" and alert["to"] == "draft"
    supervisor = await signed_in(console, "sam@example.com", "supervisor")
    page = await supervisor.get("/console/supervisor")
    assert "rollout rolled back: P1 conversation" in page.text
    # judged again: the breach is older than the change, nothing moves twice
    console.clock.advance(minutes=1)
    assert harness.container.rollout.check(console.clock()) == []


# -- promotion ---------------------------------------------------------------------------------


class FakeAcceptance:
    """Drafts handled per intent, as the drafts' storage reports them."""

    def __init__(self, counts: dict[str, tuple[int, int]]) -> None:
        self.counts = counts
        self.asked: list[tuple[datetime, datetime]] = []

    def __call__(self, since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
        self.asked.append((since, until))
        return dict(self.counts)


def seed_feedback(harness: Harness, verdicts: list[str], at: datetime, first: int = 0) -> None:
    """Pilot escalations with the agents' verdicts."""
    for i, verdict in enumerate(verdicts, start=first):
        with harness.container.db.write() as conn:
            from relaydesk.adapters.storage.tables import customers

            customer = conn.execute(
                insert(customers).values(wa_id=f"346990{i:05d}", created_at=at, updated_at=at)
            ).inserted_primary_key[0]
            conn.execute(
                insert(conversations).values(
                    customer_id=customer,
                    phone_number_id="pn",
                    status="resolved",
                    rollout_cohort="pilot",
                    feedback=verdict,
                    feedback_at=at,
                    created_at=at,
                    updated_at=at,
                    resolved_at=at,
                )
            )


async def test_promotion_when_the_seeded_figures_hold(console: Console) -> None:
    harness = console.harness
    harness.container.rollout.acceptance = FakeAcceptance({"pricing": (30, 29)})
    refused = await harness.client.post(
        "/api/v1/rollout/promote", json={"intent": "pricing"}, headers=lead(harness)
    )
    assert refused.status_code == 409
    assert "escalation_precision no data (n=0)" in refused.json()["detail"]
    seed_feedback(harness, ["needed"] * 18 + ["not_needed"] * 2, console.clock())
    console.clock.advance(seconds=1)

    promoted = await harness.client.post(
        "/api/v1/rollout/promote", json={"intent": "pricing"}, headers=lead(harness)
    )

    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert (body["before"], body["after"]) == ("draft", "live")
    figure = body["figures"]["acceptance:pricing"]
    assert (figure["value"], figure["n"], figure["holds"]) == (0.9667, 30, True)
    assert (figure["low"], figure["high"]) == (0.8333, 0.9941)
    assert body["figures"]["escalation_precision"]["value"] == 0.9
    found = await status(harness)
    assert found["modes"]["pricing"]["mode"] == "live"
    assert found["changes"][0]["actor"] == "lead@example.com"


async def test_the_gates_promote_on_their_own_after_the_window(console: Console) -> None:
    """`auto_promote: true` with a one-hour window, over the app's database."""
    harness = console.harness
    brief = harness.container.brief
    config = brief.rollout.model_copy(
        update={"auto_promote": True, "pilot_window": timedelta(hours=1)}
    )
    gates = Rollout(
        harness.container.db,
        brief.model_copy(update={"rollout": config}),
        FakeAcceptance({"pricing": (30, 30)}),
    )
    gates.current(console.clock())  # the rollout begins now
    seed_feedback(harness, ["needed"] * 20, console.clock())
    console.clock.advance(minutes=30)
    assert gates.check(console.clock()) == []  # held for half the window
    console.clock.advance(minutes=31)
    seed_feedback(harness, ["needed"] * 20, console.clock() - timedelta(seconds=1), first=20)

    done = gates.check(console.clock())

    assert [(c.subject, c.after) for c in done] == [("pricing", "live")]
    assert (await status(harness))["changes"][0]["actor"] == "gate"


# -- roles, CSRF and refusals ------------------------------------------------------------------


async def test_supervisors_change_the_rollout_in_the_console_with_its_csrf_token(
    console: Console,
) -> None:
    supervisor = await signed_in(console, "sam@example.com", "supervisor")
    page = await supervisor.get("/console/rollout")
    assert page.status_code == 200
    assert re.search(r'data-gate="acceptance:pricing" data-holds="no"', page.text)
    assert 'data-testid="percent">100<' in page.text

    forged = await supervisor.post("/console/rollout/rollback", data={"subject": "shipping"})
    assert forged.status_code == 403
    assert (await status(console.harness))["modes"]["shipping"]["mode"] == "live"

    done = await supervisor.post(
        "/console/rollout/rollback",
        data={"subject": "shipping", "reason": "wrong\x00 answers", "csrf_token": csrf_of(page)},
    )
    assert location(done) == "/console/rollout?done=rollout_changed"
    found = await status(console.harness)
    assert found["modes"]["shipping"]["mode"] == "draft"
    assert found["changes"][0]["reason"] == "wrong answers"
    assert found["changes"][0]["actor"] == "sam@example.com"

    refused = await supervisor.post(
        "/console/rollout/promote", data={"subject": "pricing", "csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 409
    assert "gates do not hold for pricing" in refused.text
    widened = await supervisor.post(
        "/console/rollout/phase", data={"phase": "expand", "csrf_token": csrf_of(page)}
    )
    assert location(widened) == "/console/rollout?done=rollout_changed"
    assert (await status(console.harness))["phase"] == "expand"


async def test_agents_are_refused_the_rollout(console: Console) -> None:
    _, agent = person(console.harness, "ana@example.com")
    assert (await console.harness.client.get("/api/v1/rollout", headers=agent)).status_code == 403
    refused = await console.harness.client.post(
        "/api/v1/rollout/rollback", json={"segment": True}, headers=agent
    )
    assert refused.status_code == 403
    browser = await signed_in(console, "ana2@example.com", "agent")
    assert (await browser.get("/console/rollout")).status_code == 403


@pytest.mark.parametrize(
    ("path", "body", "code", "says"),
    [
        ("promote", {"intent": "nope"}, 422, "no intent 'nope' in the rollout"),
        ("promote", {"intent": "pricing", "segment": True}, 422, "exactly one"),
        ("promote", {}, 422, "exactly one"),
        ("promote", {"segment": True}, 409, "nothing to widen"),
        ("promote", {"intent": "shipping"}, 409, "already live"),
        ("rollback", {"intent": "shipping", "to": "live"}, 422, "to"),
        ("rollback", {"segment": True, "to": "off"}, 422, "the segment shrinks a step"),
        ("rollback", {"intent": "pricing", "reason": "a\x00b"}, 422, "reason"),
        ("phase", {"phase": "beta"}, 422, "phase 'beta' is not one of the brief's phases"),
        ("phase", {"phase": "pilot"}, 409, "already in phase pilot"),
    ],
)
async def test_bad_rollout_requests_change_nothing(
    console: Console, path: str, body: dict[str, Any], code: int, says: str
) -> None:
    harness = console.harness
    before = await status(harness)
    response = await harness.client.post(
        f"/api/v1/rollout/{path}", json=body, headers=lead(harness)
    )
    assert response.status_code == code, response.text
    assert says in response.text
    after = await status(harness)
    assert after["modes"] == before["modes"] and after["changes"] == before["changes"]
