"""Draft mode through HTTP: a pricing question under the example brief (`draft_intents:
[pricing]`) gets a draft, not a send; approving it sends exactly one message to the Graph
server, an edit is stored with its distance, a rejection and a timeout hand the
conversation to people, racing approvals send once; the console's Approvals view does
the same under its CSRF check."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Literal

import pytest
from sqlalchemy import select

from relaydesk.adapters.storage.tables import audit_log, change_log, decisions, messages
from relaydesk.services.decisions import DecisionStage
from tests.acceptance.desk import event_kinds, lead, person
from tests.acceptance.test_console import Console, console, csrf_of, location, signed_in
from tests.conftest import Clock, Harness, text_webhook

__all__ = ["console"]  # the fixture, for the console test below

CUSTOMER = "34600000701"
QUESTION = "how much does the oak side table cost"

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def drafted(harness: Harness, wa_id: str = CUSTOMER, clock: Clock | None = None) -> Any:
    """The customer asks a price; returns the draft as the API lists it."""
    body = text_webhook(body=QUESTION, wa_id=wa_id, timestamp=clock.now if clock else None)
    assert (await harness.post_webhook(body)).status_code == 200
    listed = await harness.client.get("/api/v1/drafts", headers=lead(harness))
    assert listed.status_code == 200, listed.text
    mine = [d for d in listed.json()["drafts"] if d["customer_name"] == "Ana"]
    assert mine, listed.json()
    return mine[-1]


def out_messages(harness: Harness, conversation_id: int) -> list[Any]:
    with harness.container.db.read() as conn:
        return list(
            conn.execute(
                select(messages.c.text, messages.c.author_id, messages.c.draft)
                .where(messages.c.conversation_id == conversation_id, messages.c.direction == "out")
                .order_by(messages.c.id)
            )
        )


@sqlite_only
async def test_a_pricing_question_waits_as_a_draft_and_approving_sends_it_once(
    harness: Harness,
) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    draft = await drafted(harness)
    await harness.drain()
    assert harness.graph.state.accepted() == []  # nothing went out
    assert draft["state"] == "pending" and draft["intent"] == "pricing"
    assert draft["content"]["kind"] == "buttons"
    assert "€49" in draft["text"]
    assert [b["title"] for b in draft["content"]["buttons"]] == ["For my home", "For a business"]
    assert draft["conversation_status"] == "bot"
    cid = draft["conversation_id"]
    assert out_messages(harness, cid) == []

    approved = await harness.client.post(
        f"/api/v1/drafts/{draft['id']}/approve", json={}, headers=ana
    )
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert (done["state"], done["handled_by"], done["unchanged"], done["edit_distance"]) == (
        "sent",
        agent_id,
        True,
        0.0,
    )
    again = await harness.client.post(f"/api/v1/drafts/{draft['id']}/approve", json={}, headers=ana)
    assert again.status_code == 409 and "already by Ana" in again.json()["detail"]
    await harness.drain()
    (sent,) = harness.graph.state.accepted()
    assert sent.body["type"] == "interactive"
    assert sent.body["interactive"]["body"]["text"] == draft["text"]
    assert [r["reply"]["title"] for r in sent.body["interactive"]["action"]["buttons"]] == [
        "For my home",
        "For a business",
    ]
    assert [(m.text, m.author_id, m.draft) for m in out_messages(harness, cid)] == [
        (draft["text"], agent_id, draft["text"])
    ]
    assert "message_out" in event_kinds(harness, cid)
    listed = await harness.client.get("/api/v1/drafts", headers=ana)
    assert listed.json()["drafts"] == []
    assert (await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=ana)).is_success


@sqlite_only
async def test_an_edit_is_sent_with_its_buttons_and_stored_with_its_distance(
    harness: Harness,
) -> None:
    _, ana = person(harness, "ana@example.com")
    draft = await drafted(harness)
    too_long = await harness.client.post(
        f"/api/v1/drafts/{draft['id']}/approve", json={"text": "x" * 1025}, headers=ana
    )
    assert too_long.status_code == 422
    assert "a message with buttons takes 1 to 1024" in too_long.json()["detail"]
    nul = await harness.client.post(
        f"/api/v1/drafts/{draft['id']}/approve", json={"text": "a\u0000b"}, headers=ana
    )
    assert nul.status_code == 422
    pending = await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=ana)
    assert pending.json()["state"] == "pending"  # refusals changed nothing

    text = draft["text"].replace("€49", "€39") + " Spring sale this week!"
    edited = await harness.client.post(
        f"/api/v1/drafts/{draft['id']}/approve", json={"text": text}, headers=ana
    )
    assert edited.status_code == 200, edited.text
    stored = edited.json()
    assert stored["sent_text"] == text and stored["unchanged"] is False
    assert 0 < stored["edit_distance"] < 0.3
    await harness.drain()
    (sent,) = harness.graph.state.accepted()
    assert sent.body["interactive"]["body"]["text"] == text
    assert len(sent.body["interactive"]["action"]["buttons"]) == 2


@sqlite_only
async def test_a_rejected_draft_hands_the_conversation_to_people_with_the_draft_suggested(
    harness: Harness,
) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    draft = await drafted(harness)
    rejected = await harness.client.post(f"/api/v1/drafts/{draft['id']}/reject", headers=ana)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["state"], rejected.json()["handled_by"]) == ("rejected", agent_id)
    cid = draft["conversation_id"]
    assert "escalated" in event_kinds(harness, cid)
    card = (
        await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=lead(harness))
    ).json()
    assert card["status"] in ("queued", "assigned")
    assert [t["type"] for t in card["triggers"]] == ["draft_rejected"]
    assert card["suggested_reply"] == draft["text"]  # the bot's draft, not a greeting
    assert card["suggested_reply_source"] == "bot_draft"
    late = await harness.client.post(f"/api/v1/drafts/{draft['id']}/approve", json={}, headers=ana)
    assert late.status_code == 409
    await harness.drain()
    (handoff,) = harness.graph.state.accepted()  # the handoff message, never the draft
    assert handoff.body["type"] == "text"
    assert draft["text"] not in handoff.body["text"]["body"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_racing_approvals_send_once(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    _, bo = person(harness, "bo@example.com")
    draft = await drafted(harness)
    path = f"/api/v1/drafts/{draft['id']}/approve"
    answers = await asyncio.gather(
        *(
            harness.client.post(path, json=body, headers=who)
            for who, body in ((ana, {}), (bo, {"text": "Bo's words"}), (ana, {}), (bo, {}))
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1
    assert len(out_messages(harness, draft["conversation_id"])) == 1


@sqlite_only
async def test_a_draft_nobody_handles_within_the_limit_is_escalated(
    harness: Harness, clock: Clock
) -> None:
    _, ana = person(harness, "ana@example.com")
    draft = await drafted(harness, clock=clock)
    limit = harness.container.brief.rollout.draft_timeout
    cid = draft["conversation_id"]
    clock.advance(seconds=limit.total_seconds() / 2)
    assert harness.container.drafts.expire_due(clock.now) == 0
    assert "escalated" not in event_kinds(harness, cid)
    clock.advance(seconds=limit.total_seconds() / 2)
    assert harness.container.drafts.expire_due(clock.now) == 1
    assert harness.container.drafts.expire_due(clock.now + limit) == 0  # once
    expired = (await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=ana)).json()
    assert (expired["state"], expired["handled_by"]) == ("expired", None)
    assert "escalated" in event_kinds(harness, cid)
    with harness.container.db.read() as conn:
        triggers = conn.execute(
            select(decisions.c.triggers).where(
                decisions.c.conversation_id == cid, decisions.c.action == "escalate"
            )
        ).scalar_one()
    assert [t["type"] for t in triggers] == ["draft_expired"]
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1  # the handoff message


@sqlite_only
async def test_refusals_and_visibility(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    _, bo = person(harness, "bo@example.com")
    draft = await drafted(harness)
    assert (await harness.client.get("/api/v1/drafts")).status_code == 401
    assert (await harness.client.get("/api/v1/drafts/424242", headers=ana)).status_code == 404
    missing = await harness.client.post("/api/v1/drafts/424242/approve", json={}, headers=ana)
    assert missing.status_code == 404
    assert (await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=bo)).is_success
    sent = await harness.client.post(f"/api/v1/drafts/{draft['id']}/approve", json={}, headers=ana)
    assert sent.is_success
    # handled by Ana in a conversation the bot holds: another agent does not see it
    hidden = await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=bo)
    assert hidden.status_code == 403
    assert (
        await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=lead(harness))
    ).is_success


@sqlite_only
async def test_the_console_approvals_view_sends_once_under_csrf(console: Console) -> None:
    harness = console.harness
    draft = await drafted(harness)
    agent = await signed_in(console, "cy@example.com")
    page = await agent.get("/console/approvals")
    assert page.status_code == 200
    assert f'data-testid="draft-{draft["id"]}"' in page.text
    assert "For my home" in page.text and QUESTION in page.text
    path = f"/console/approvals/{draft['id']}/send"
    forged = await agent.post(path, data={"text": draft["text"]})
    assert forged.status_code == 403
    assert (
        harness.graph.state.accepted() == []
        and out_messages(harness, draft["conversation_id"]) == []
    )
    token = csrf_of(page)
    first = await agent.post(
        path, data={"text": draft["text"].replace("\n", "\r\n"), "csrf_token": token}
    )
    assert location(first) == "/console/approvals?done=draft_sent"
    second = await agent.post(path, data={"text": draft["text"], "csrf_token": token})
    assert second.status_code == 409 and "nothing was sent again" in second.text
    await harness.drain()
    assert len(harness.graph.state.accepted()) == 1
    stored = (
        await harness.client.get(f"/api/v1/drafts/{draft['id']}", headers=lead(harness))
    ).json()
    assert stored["unchanged"] is True  # the browser's CRLF is the same words
    assert "No drafts wait for approval." in (await agent.get("/console/approvals")).text


@sqlite_only
async def test_the_injected_intent_mode_decides_which_answers_wait(harness: Harness) -> None:
    """The stage asks `intent_mode` (the rollout's database-backed modes at merge): live
    pricing goes out at once, a draft-mode order status waits."""
    container = harness.container
    asked: list[str] = []

    def modes(intent: str) -> Literal["off", "draft", "live"]:
        asked.append(intent)
        return "draft" if intent == "order_status" else "live"

    stage = DecisionStage(
        container.db,
        container.decisions._decider,
        container.metrics,
        backlog_max_age=timedelta(hours=1),
        intent_mode=modes,
    )
    for wa_id, text in ((CUSTOMER, QUESTION), ("34600000702", "where is my order NW-10482")):
        body = text_webhook(body=text, wa_id=wa_id)
        assert (await harness.post_webhook(body, decide=False)).status_code == 200
    assert stage.run_until_idle() == 2
    assert asked == ["pricing", "order_status"]
    (held,) = container.drafts.waiting()
    assert held.intent == "order_status"
    await harness.drain()
    (sent,) = harness.graph.state.accepted()
    assert sent.body["to"] == CUSTOMER and sent.body["type"] == "interactive"


@sqlite_only
async def test_the_rollouts_mode_decides_what_is_drafted_and_lands_in_the_change_log(
    harness: Harness,
) -> None:
    """The decision stage asks the rollout's state, not the brief: pricing promoted to live
    (forced, gates unmet) is answered at once; rolled back to draft, it waits again. Both
    changes are in the change log the weekly review reads."""
    forced = await harness.client.post(
        "/api/v1/rollout/promote", json={"intent": "pricing", "force": True}, headers=lead(harness)
    )
    assert forced.status_code == 200, forced.text
    body = text_webhook(body=QUESTION, wa_id="34600000702")
    assert (await harness.post_webhook(body)).status_code == 200
    await harness.drain()
    assert [r.body["to"] for r in harness.graph.state.accepted()] == ["34600000702"]
    listed = await harness.client.get("/api/v1/drafts", headers=lead(harness))
    assert listed.json()["drafts"] == []

    back = await harness.client.post(
        "/api/v1/rollout/rollback",
        json={"intent": "pricing", "reason": "checking drafts again"},
        headers=lead(harness),
    )
    assert back.status_code == 200, back.text
    draft = await drafted(harness, wa_id="34600000703")
    assert draft["intent"] == "pricing" and draft["state"] == "pending"

    with harness.container.db.read() as conn:
        kinds = conn.execute(select(change_log.c.kind, change_log.c.summary)).all()
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.target, audit_log.c.actor)
        ).all()
    rollout = [summary for kind, summary in kinds if kind == "rollout"]
    assert len(rollout) == 2 and rollout[0].startswith("pricing: draft -> live")
    changes = [tuple(row) for row in audited if row.action == "rollout.changed"]
    assert changes == [("rollout.changed", "rollout:pricing", "lead@example.com")] * 2
