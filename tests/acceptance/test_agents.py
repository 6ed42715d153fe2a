"""After an escalation: assignment to an online agent, the agent's reply reaching the
customer, resolve and hand back, and the refusals, through HTTP on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from relaydesk.services import accounts
from tests.conftest import SECRET_KEY, Clock, Harness, text_webhook

CUSTOMER = "34600000777"


def make_agent(harness: Harness, email: str, *, skills: list[str], languages: list[str]) -> str:
    now = datetime.now(UTC)
    with harness.container.db.write() as conn:
        accounts.create_user(
            conn,
            email=email,
            name=email.split("@")[0],
            role="agent",
            password=None,
            now=now,
            skills=skills,
            languages=languages,
            capacity=2,
        )
        return accounts.create_token(conn, email=email, label="tests", now=now, key=SECRET_KEY)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def escalate(harness: Harness) -> int:
    await harness.post_webhook(text_webhook(body="I want to talk to a real person", wa_id=CUSTOMER))
    found = await harness.client.get(
        "/api/v1/conversations", params={"customer": CUSTOMER}, headers=auth(harness.token)
    )
    (conversation,) = found.json()["conversations"]
    assert conversation["status"] == "queued"
    return int(conversation["id"])


async def test_online_agent_gets_the_conversation_and_the_reply_reaches_the_customer(
    harness: Harness, clock: Clock
) -> None:
    token = make_agent(harness, "ana@example.com", skills=["orders"], languages=["en", "es"])
    conversation_id = await escalate(harness)
    await harness.drain()  # the handoff message
    online = await harness.client.post(
        "/api/v1/me/presence", json={"presence": "online"}, headers=auth(token)
    )
    assert online.status_code == 200, online.text
    detail = (
        await harness.client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(token))
    ).json()
    assert detail["status"] == "assigned"
    assert detail["assignee"]["email"] == "ana@example.com"

    sent = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/reply",
        json={"text": "Hi, I'm Ana. Let me check that for you."},
        headers=auth(token),
    )
    assert sent.status_code == 200, sent.text
    await harness.drain()
    bodies = [r.body for r in harness.graph.state.accepted() if r.body.get("to") == CUSTOMER]
    assert bodies[-1]["text"]["body"] == "Hi, I'm Ana. Let me check that for you."

    done = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/resolve", headers=auth(token)
    )
    assert done.status_code == 200
    after = (
        await harness.client.get(f"/api/v1/conversations/{conversation_id}", headers=auth(token))
    ).json()
    assert after["status"] == "resolved"


async def test_the_bot_stays_silent_while_the_agent_owns_it_and_answers_after_hand_back(
    harness: Harness,
) -> None:
    token = make_agent(harness, "bo@example.com", skills=["orders"], languages=["en"])
    conversation_id = await escalate(harness)
    await harness.client.post(
        "/api/v1/me/presence", json={"presence": "online"}, headers=auth(token)
    )
    await harness.drain()
    before = len(harness.graph.state.accepted())
    await harness.post_webhook(text_webhook(body="hello?", wa_id=CUSTOMER))
    await harness.drain()
    assert len(harness.graph.state.accepted()) == before  # a person owns it: no bot reply
    back = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/handback", headers=auth(token)
    )
    assert back.status_code == 200
    await harness.post_webhook(text_webhook(body="hello", wa_id=CUSTOMER))
    await harness.drain()
    assert len(harness.graph.state.accepted()) == before + 1  # the bot answers again


async def test_refusals_say_what_is_wrong(harness: Harness) -> None:
    ana = make_agent(harness, "ana@example.com", skills=["orders"], languages=["en"])
    cy = make_agent(harness, "cy@example.com", skills=["payments"], languages=["de"])
    conversation_id = await escalate(harness)
    bad = await harness.client.post(
        "/api/v1/me/presence", json={"presence": "busy"}, headers=auth(ana)
    )
    assert bad.status_code == 422
    assert "busy" in bad.json()["detail"]
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=auth(ana))
    other = await harness.client.post(
        f"/api/v1/conversations/{conversation_id}/reply", json={"text": "hi"}, headers=auth(cy)
    )
    assert other.status_code == 403
    assert "not assigned to you" in other.json()["detail"]
    missing = await harness.client.post("/api/v1/conversations/99999/resolve", headers=auth(ana))
    assert missing.status_code == 404
    anonymous = await harness.client.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert anonymous.status_code == 401


async def test_nobody_qualified_online_keeps_it_queued(harness: Harness) -> None:
    token = make_agent(harness, "de@example.com", skills=["payments"], languages=["de"])
    conversation_id = await escalate(harness)
    await harness.client.post(
        "/api/v1/me/presence", json={"presence": "online"}, headers=auth(token)
    )
    detail = (
        await harness.client.get(
            f"/api/v1/conversations/{conversation_id}", headers=auth(harness.token)
        )
    ).json()
    assert detail["status"] == "queued"  # the general queue needs an en/es speaker
