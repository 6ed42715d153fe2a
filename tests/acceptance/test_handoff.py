"""The customer's side of a handoff, through signed webhooks on both databases: one
handoff message per escalation with an honest wait from the live queue, out-of-hours
copy, cancellation, the handoff's clocks and events, and CSAT replies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from relaydesk.adapters.storage.tables import conversations, customers, decisions, events, users
from relaydesk.services import accounts
from tests.conftest import SECRET_KEY, Clock, Harness, message_webhook, text_webhook

MADRID = ZoneInfo("Europe/Madrid")
#: Wednesday 2 December 2026, 11:00 in Madrid: the example shop is open.
OPEN = datetime(2026, 12, 2, 11, tzinfo=MADRID).astimezone(UTC)
#: Saturday 28 November 2026, 16:00 in Madrid: closed until Monday 09:00.
WEEKEND = datetime(2026, 11, 28, 16, tzinfo=MADRID).astimezone(UTC)


def customer() -> str:
    return f"346{uuid.uuid4().int % 10**8:08d}"


async def say(harness: Harness, clock: Clock, wa_id: str, body: str) -> None:
    response = await harness.post_webhook(text_webhook(body=body, wa_id=wa_id, timestamp=clock.now))
    assert response.status_code == 200, response.text


async def tap(
    harness: Harness, clock: Clock, wa_id: str, reply_id: str, *, template: bool = False
) -> None:
    """A reply button tap (interactive button_reply) or a template quick reply (button)."""
    message: dict[str, Any] = {
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(clock.now.timestamp())),
    }
    if template:
        message |= {"type": "button", "button": {"payload": reply_id, "text": "Great"}}
    else:
        message |= {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": reply_id, "title": "Great"},
            },
        }
    body = message_webhook(message, wa_id=wa_id)
    response = await harness.post_webhook(body)
    assert response.status_code == 200, response.text


async def sent_to(harness: Harness, wa_id: str) -> list[str]:
    """Bodies the Graph server accepted for this customer, in order."""
    await harness.drain()
    return [
        r.body.get("text", {}).get("body")
        or r.body.get("interactive", {}).get("body", {}).get("text")
        for r in harness.graph.state.accepted()
        if r.body.get("to") == wa_id
    ]


def conversation_of(harness: Harness, wa_id: str) -> dict[str, Any]:
    with harness.container.db.read() as conn:
        (row,) = conn.execute(
            select(conversations)
            .join(customers, customers.c.id == conversations.c.customer_id)
            .where(customers.c.wa_id == wa_id)
        ).all()
    return dict(row._mapping)


def decisions_of(harness: Harness, conversation_id: int) -> list[dict[str, Any]]:
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(decisions)
            .where(decisions.c.conversation_id == conversation_id)
            .order_by(decisions.c.id)
        )
        return [dict(r._mapping) for r in rows]


def events_of(harness: Harness, conversation_id: int) -> list[tuple[str, dict[str, Any]]]:
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(events.c.kind, events.c.detail)
            .where(events.c.conversation_id == conversation_id)
            .order_by(events.c.id)
        )
        return [(r.kind, r.detail) for r in rows]


def agent_online(harness: Harness, email: str, *, capacity: int = 1) -> None:
    """An agent for the general queue, online, without the assignment an API call runs."""
    with harness.container.db.write() as conn:
        user = accounts.create_user(
            conn,
            email=email,
            name=email.split("@")[0],
            role="agent",
            password=None,
            now=datetime.now(UTC),
            skills=["orders"],
            languages=["en", "es"],
            capacity=capacity,
        )
        conn.execute(update(users).where(users.c.id == user.id).values(presence="online"))


async def test_one_handoff_message_for_a_customer_asking_three_times(
    harness: Harness, clock: Clock
) -> None:
    clock.now = OPEN
    wa_id = customer()
    for body in ("I want to talk to a real person", "hello?? a human please", "agent please"):
        await say(harness, clock, wa_id, body)
        clock.advance(seconds=30)
    bodies = await sent_to(harness, wa_id)
    assert len(bodies) == 1, bodies
    assert "general team" in bodies[0]
    conversation = conversation_of(harness, wa_id)
    assert conversation["status"] == "queued"
    assert conversation["escalated_at"] == OPEN
    assert conversation["entered_queue_at"] == OPEN
    # the later messages came before any agent reply: they move no SLA clock, so the
    # timer set at the escalation stands (the worker's first look is still due)
    assert conversation["timer_at"] == OPEN
    assert conversation["language"] == "en"
    actions = [d["action"] for d in decisions_of(harness, conversation["id"])]
    assert actions == ["escalate", "silent", "silent"]
    kinds = [kind for kind, _ in events_of(harness, conversation["id"])]
    assert kinds == ["escalated", "message_in", "message_in"]
    (escalated,) = [
        detail for kind, detail in events_of(harness, conversation["id"]) if kind == "escalated"
    ]
    assert escalated["queue"] == "general"
    assert escalated["tier"] == 2
    assert escalated["priority"] == conversation["priority"]
    assert "human_request" in escalated["triggers"]


async def test_the_wait_follows_the_live_queue(harness: Harness, clock: Clock) -> None:
    clock.now = OPEN
    # nobody online: the SLA target, said to be a target
    nobody = customer()
    await say(harness, clock, nobody, "talk to a human")
    (first,) = await sent_to(harness, nobody)
    assert "up to 1 hour (our target; nobody from the team is online right now)" in first
    decision = decisions_of(harness, conversation_of(harness, nobody)["id"])[0]
    assert decision["detail"]["wait_basis"] == "nobody_serving"

    # one agent online with one free slot (assignment is the worker's, not run here):
    # each customer who joins waits behind the ones already there
    agent_online(harness, "ana@example.com", capacity=1)
    waits = []
    for _ in range(3):
        clock.advance(minutes=1)
        wa_id = customer()
        await say(harness, clock, wa_id, "talk to a human")
        (text,) = await sent_to(harness, wa_id)
        waits.append(text)
        detail = decisions_of(harness, conversation_of(harness, wa_id)["id"])[0]["detail"]
        assert detail["wait_basis"] == "live_queue"
        assert detail["agents_serving"] == 1
        assert detail["average_handle_seconds"] == 600  # no history yet: 10 minutes
    # 1, 2, then 3 ahead (the first customer still waits), the free slot taking one
    for text, minutes in zip(waits, (10, 20, 30), strict=True):
        assert f"Expected wait: about {minutes} minutes." in text, waits

    # a second agent comes online: the next customer, 4 ahead, waits less than the last
    agent_online(harness, "bo@example.com", capacity=1)
    clock.advance(minutes=1)
    later = customer()
    await say(harness, clock, later, "talk to a human")
    (text,) = await sent_to(harness, later)
    assert "about 15 minutes" in text  # (4 - 2 free + 1) * 10 min / 2


async def test_handle_time_comes_from_resolved_conversations(
    harness: Harness, clock: Clock
) -> None:
    clock.now = OPEN
    agent_online(harness, "ana@example.com", capacity=1)
    done = customer()
    await say(harness, clock, done, "talk to a human")
    done_id = conversation_of(harness, done)["id"]
    with harness.container.db.write() as conn:  # as if an agent took it and resolved it
        conn.execute(
            update(conversations)
            .where(conversations.c.id == done_id)
            .values(
                status="resolved",
                assigned_at=OPEN - timedelta(minutes=40),
                resolved_at=OPEN - timedelta(minutes=36),
            )
        )
    clock.advance(minutes=5)  # handle times are read again after HANDLE_TIME_TTL
    waiting, joining = customer(), customer()
    await say(harness, clock, waiting, "talk to a human")
    await say(harness, clock, joining, "talk to a human")
    (text,) = await sent_to(harness, joining)
    assert "about 4 minutes" in text  # 1 ahead after the free slot, 4 minutes each
    detail = decisions_of(harness, conversation_of(harness, joining)["id"])[0]["detail"]
    assert (detail["average_handle_seconds"], detail["handle_time_samples"]) == (240, 1)


async def test_out_of_hours_says_when_the_team_is_back_and_keeps_it_queued(
    harness: Harness, clock: Clock
) -> None:
    clock.now = WEEKEND
    agent_online(harness, "night@example.com", capacity=5)  # left online: no promise
    wa_id = customer()
    await say(harness, clock, wa_id, "I want to talk to a real person")
    (text,) = await sent_to(harness, wa_id)
    assert "offline right now" in text
    assert "(Monday at 09:00 Madrid time)" in text
    conversation = conversation_of(harness, wa_id)
    assert conversation["status"] == "queued"
    detail = decisions_of(harness, conversation["id"])[0]["detail"]
    assert detail["wait_basis"] == "out_of_hours"
    assert (
        detail["opens_at"] == datetime(2026, 11, 30, 9, tzinfo=MADRID).astimezone(UTC).isoformat()
    )


async def test_cancelling_a_pending_handoff(harness: Harness, clock: Clock) -> None:
    clock.now = OPEN
    wa_id = customer()
    await say(harness, clock, wa_id, "talk to a human")
    clock.advance(minutes=2)
    await say(harness, clock, wa_id, "never mind, all sorted")
    bodies = await sent_to(harness, wa_id)
    assert len(bodies) == 2
    assert "cancelled the request to our general team" in bodies[1]
    conversation = conversation_of(harness, wa_id)
    assert conversation["status"] == "bot"
    assert conversation["timer_at"] is None
    assert conversation["escalated_at"] == OPEN  # until a new handoff starts
    assert [kind for kind, _ in events_of(harness, conversation["id"])] == [
        "escalated",
        "message_in",
        "cancelled",
    ]
    # asking again is a new escalation, with its one handoff message
    clock.advance(minutes=2)
    await say(harness, clock, wa_id, "actually i do need a person")
    bodies = await sent_to(harness, wa_id)
    assert len(bodies) == 3
    assert "general team" in bodies[2]
    again = conversation_of(harness, wa_id)
    assert again["escalated_at"] == clock.now  # a new handoff: a new SLA cycle
    assert again["entered_queue_at"] == clock.now


def resolved_and_asked(harness: Harness, wa_id: str, *, window_closed: bool = False) -> int:
    """Resolve the customer's conversation and mark the CSAT question sent (what the
    agent's resolve and the timers do)."""
    conversation_id = int(conversation_of(harness, wa_id)["id"])
    values: dict[str, Any] = {"status": "resolved", "resolved_at": OPEN, "csat_state": "sent"}
    if window_closed:
        values["last_inbound_at"] = OPEN - timedelta(days=2)
    with harness.container.db.write() as conn:
        conn.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(values)
        )
    return conversation_id


async def test_a_csat_tap_is_stored_and_thanked(harness: Harness, clock: Clock) -> None:
    clock.now = OPEN
    wa_id = customer()
    await say(harness, clock, wa_id, "talk to a human")
    conversation_id = resolved_and_asked(harness, wa_id)
    clock.advance(minutes=5)
    await tap(harness, clock, wa_id, f"csat:{conversation_id}:5")
    bodies = await sent_to(harness, wa_id)
    assert bodies[-1] == harness.container.brief.csat.thanks
    row = conversation_of(harness, wa_id)  # still the one conversation: none opened
    assert (row["csat_state"], row["csat_rating"], row["csat_at"]) == ("answered", 5, clock.now)
    assert events_of(harness, conversation_id)[-1] == ("csat", {"rating": 5})
    last = decisions_of(harness, conversation_id)[-1]
    assert (last["action"], last["detail"]["reason"]) == ("answer", "csat")

    # a second tap is stale: kept, not counted, not thanked again
    await tap(harness, clock, wa_id, f"csat:{conversation_id}:1")
    assert len(await sent_to(harness, wa_id)) == len(bodies)
    assert conversation_of(harness, wa_id)["csat_rating"] == 5


async def test_a_template_quick_reply_after_the_window_is_thanked_as_text(
    harness: Harness, clock: Clock
) -> None:
    clock.now = OPEN
    wa_id = customer()
    await say(harness, clock, wa_id, "talk to a human")
    conversation_id = resolved_and_asked(harness, wa_id, window_closed=True)
    await tap(harness, clock, wa_id, f"csat:{conversation_id}:3", template=True)
    bodies = await sent_to(harness, wa_id)
    assert bodies[-1] == harness.container.brief.csat.thanks  # the tap reopened the window
    assert conversation_of(harness, wa_id)["csat_rating"] == 3


async def test_a_forged_csat_id_is_ignored(harness: Harness, clock: Clock) -> None:
    clock.now = OPEN
    victim, forger = customer(), customer()
    await say(harness, clock, victim, "talk to a human")
    await say(harness, clock, forger, "hello")
    victims = resolved_and_asked(harness, victim)
    before = len(await sent_to(harness, forger))
    for reply_id in (f"csat:{victims}:1", "csat:999999:1", f"csat:{victims}:9"):
        await tap(harness, clock, forger, reply_id)
    assert len(await sent_to(harness, forger)) == before  # no thanks, no bot reply
    assert conversation_of(harness, victim)["csat_state"] == "sent"
    assert conversation_of(harness, victim)["csat_rating"] is None
    forgers = int(conversation_of(harness, forger)["id"])
    ignored = [d for d in decisions_of(harness, forgers) if d["action"] == "ignore"]
    assert [d["detail"]["reason"] for d in ignored] == [
        "csat: not this customer's conversation",
        "csat: not this customer's conversation",
        "csat: malformed",
    ]
    with harness.container.db.read() as conn:
        kinds = conn.execute(select(func.count()).where(events.c.kind == "csat")).scalar_one()
    assert kinds == 0


async def test_the_whole_way_from_resolve_to_a_rating(harness: Harness, clock: Clock) -> None:
    """Resolve through the API, the worker sends the CSAT question, the customer taps."""
    clock.now = OPEN
    with harness.container.db.write() as conn:
        accounts.create_user(
            conn,
            email="cy@example.com",
            name="Cy",
            role="agent",
            password=None,
            now=datetime.now(UTC),
            skills=["orders"],
            languages=["en"],
        )
        token = accounts.create_token(
            conn, email="cy@example.com", label="t", now=OPEN, key=SECRET_KEY
        )
    headers = {"Authorization": f"Bearer {token}"}
    wa_id = customer()
    await say(harness, clock, wa_id, "talk to a human")
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=headers)
    await harness.container.runner.scheduler.run_due(clock())
    conversation_id = int(conversation_of(harness, wa_id)["id"])
    assert conversation_of(harness, wa_id)["status"] == "assigned"
    done = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/resolve", headers=headers
    )
    assert done.status_code == 200, done.text
    clock.advance(seconds=2)
    await harness.container.runner.scheduler.run_due(clock())
    await harness.drain()
    (question,) = [
        r.body["interactive"]
        for r in harness.graph.state.accepted()
        if r.body.get("to") == wa_id and r.body.get("type") == "interactive"
    ]
    first = question["action"]["buttons"][0]["reply"]["id"]
    clock.advance(minutes=1)
    await tap(harness, clock, wa_id, first)
    assert (await sent_to(harness, wa_id))[-1] == harness.container.brief.csat.thanks
    row = conversation_of(harness, wa_id)
    assert (row["status"], row["csat_state"], row["csat_rating"]) == ("resolved", "answered", 5)
