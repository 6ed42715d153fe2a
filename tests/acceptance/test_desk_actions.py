"""Agents' and supervisors' actions through the API, on both databases: each one's happy
path, the event it records, and its refusals (403 not yours, 404, 409 wrong state, 422
bad value), which change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from relaydesk.adapters.storage.tables import conversations, messages
from tests.acceptance.desk import escalated, event_kinds, last_event, lead, person, snapshot
from tests.conftest import Clock, Harness, text_webhook

CUSTOMER = "34600000501"
OTHER = "34600000502"


def conversation_row(harness: Harness, conversation_id: int) -> Any:
    with harness.container.db.read() as conn:
        return conn.execute(
            select(conversations).where(conversations.c.id == conversation_id)
        ).one()


async def test_a_qualified_agent_takes_a_waiting_conversation(
    harness: Harness, clock: Clock
) -> None:
    """Take assigns it at once and records who took it; the agent stays offline, so it
    was not routing that gave it to them."""
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    taken = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    assert taken.status_code == 200, taken.text
    row = conversation_row(harness, cid)
    assert (row.status, row.assignee_id, row.assigned_at) == ("assigned", agent_id, clock.now)
    event = last_event(harness, "assigned")
    assert (event.actor_id, event.detail["how"], event.detail["queue"]) == (
        agent_id,
        "take",
        "general",
    )


async def test_take_refusals_change_nothing(harness: Harness) -> None:
    _, billing = person(harness, "cy@example.com", skills=("payments",))
    _, full = person(harness, "di@example.com", capacity=0)
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    before = snapshot(harness, cid)

    unqualified = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=billing)
    assert unqualified.status_code == 403
    assert "general queue needs one of the skills" in unqualified.json()["detail"]
    no_room = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=full)
    assert no_room.status_code == 409
    assert "capacity is 0" in no_room.json()["detail"]
    missing = await harness.client.post("/api/v1/conversations/424242/take", headers=ana)
    assert missing.status_code == 404
    assert snapshot(harness, cid) == before

    assert (await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)).is_success
    twice = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=lead(harness))
    assert twice.status_code == 409
    assert "is assigned" in twice.json()["detail"]


async def test_a_supervisor_may_take_any_waiting_conversation(harness: Harness) -> None:
    cid = await escalated(harness, CUSTOMER)
    taken = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=lead(harness))
    assert taken.status_code == 200, taken.text
    assert conversation_row(harness, cid).status == "assigned"


async def test_a_reply_keeps_its_author_and_draft_and_the_rewrite_rate_counts_it(
    harness: Harness,
) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    card = (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)).json()
    draft = card["suggested_reply"]
    sent = await harness.client.post(
        f"/api/v1/conversations/{cid}/reply",
        json={"text": draft + " I'm Ana.", "draft": draft},
        headers=ana,
    )
    assert sent.status_code == 200, sent.text
    await harness.client.post(
        f"/api/v1/conversations/{cid}/reply",
        json={"text": "As drafted", "draft": "As drafted"},
        headers=ana,
    )
    await harness.drain()
    with harness.container.db.read() as conn:
        rows = conn.execute(
            select(messages.c.text, messages.c.author_id, messages.c.draft)
            .where(messages.c.conversation_id == cid, messages.c.author_id.is_not(None))
            .order_by(messages.c.id)
        ).all()
    assert [(r.author_id, r.draft) for r in rows] == [(agent_id, draft), (agent_id, "As drafted")]
    assert harness.graph.state.accepted()[-1].body["text"]["body"] == "As drafted"
    assert event_kinds(harness, cid).count("message_out") == 2
    stats = (await harness.client.get("/api/v1/stats/rewrites", headers=lead(harness))).json()
    assert stats["replies_with_draft"] == 2
    assert stats["rewritten"] == 1
    assert stats["rewrite_rate"] == 0.5
    assert 0 < stats["mean_edit_distance"] < 0.5


async def test_reply_refusals(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    _, bo = person(harness, "bo@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    not_mine = await harness.client.post(
        f"/api/v1/conversations/{cid}/reply", json={"text": "hi"}, headers=bo
    )
    assert not_mine.status_code == 403
    blank = await harness.client.post(
        f"/api/v1/conversations/{cid}/reply", json={"text": "   "}, headers=ana
    )
    assert blank.status_code == 422
    assert "1 to 4096" in blank.json()["detail"]
    assert snapshot(harness, cid) == before
    await harness.client.post(f"/api/v1/conversations/{cid}/resolve", headers=ana)
    closed = await harness.client.post(
        f"/api/v1/conversations/{cid}/reply", json={"text": "hi"}, headers=ana
    )
    assert closed.status_code == 409
    assert "is resolved" in closed.json()["detail"]


async def test_resolve_asks_for_csat_and_records_it(harness: Harness, clock: Clock) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    clock.advance(minutes=3)
    done = await harness.client.post(f"/api/v1/conversations/{cid}/resolve", headers=ana)
    assert done.status_code == 200
    row = conversation_row(harness, cid)
    assert (row.status, row.csat_state, row.resolved_at) == ("resolved", "pending", clock.now)
    assert last_event(harness, "resolved").actor_id == agent_id
    before = snapshot(harness, cid)
    again = await harness.client.post(f"/api/v1/conversations/{cid}/resolve", headers=ana)
    assert again.status_code == 409
    assert snapshot(harness, cid) == before


async def test_hand_back_returns_it_to_the_bot(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    back = await harness.client.post(f"/api/v1/conversations/{cid}/handback", headers=ana)
    assert back.status_code == 200
    row = conversation_row(harness, cid)
    assert (row.status, row.assignee_id, row.queue) == ("bot", None, None)
    assert event_kinds(harness, cid)[-1] == "handed_back"
    again = await harness.client.post(f"/api/v1/conversations/{cid}/handback", headers=ana)
    assert again.status_code == 409


async def test_transfer_to_a_queue_requeues_it_there(harness: Harness, clock: Clock) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    queued_at = conversation_row(harness, cid).queued_at
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    clock.advance(minutes=2)
    moved = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"queue": "billing"}, headers=ana
    )
    assert moved.status_code == 200, moved.text
    row = conversation_row(harness, cid)
    assert (row.status, row.queue, row.tier, row.assignee_id) == ("queued", "billing", 3, None)
    assert row.entered_queue_at == clock.now
    assert row.queued_at == queued_at  # keeps its place in line
    event = last_event(harness, "transferred")
    assert event.detail == {"from_queue": "general", "to_queue": "billing"}


async def test_transfer_to_a_person_assigns_it_to_them(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    bo_id, _ = person(harness, "bo@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    given = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"agent_id": bo_id}, headers=ana
    )
    assert given.status_code == 200, given.text
    row = conversation_row(harness, cid)
    assert (row.status, row.assignee_id) == ("assigned", bo_id)
    assert event_kinds(harness, cid)[-2:] == ["assigned", "transferred"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"queue": "nowhere"}, 422, "queue 'nowhere' is not in the brief"),
        ({}, 422, "give exactly one"),
        ({"queue": "billing", "agent_id": 1}, 422, "give exactly one"),
        ({"agent_id": 999}, 422, "no user with id 999"),
    ],
)
async def test_transfer_refusals_change_nothing(
    harness: Harness, body: dict[str, object], status: int, message: str
) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    refused = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json=body, headers=ana
    )
    assert refused.status_code == status
    assert message in refused.json()["detail"]
    assert snapshot(harness, cid) == before


async def test_transfer_to_someone_inactive_or_of_someone_else_is_refused(
    harness: Harness,
) -> None:
    _, ana = person(harness, "ana@example.com")
    gone_id, _ = person(harness, "gone@example.com")
    _, bo = person(harness, "bo@example.com")
    admin_id, admin = person(harness, "root@example.com", role="admin")
    await harness.client.patch(f"/api/v1/users/{gone_id}", json={"active": False}, headers=admin)
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    inactive = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"agent_id": gone_id}, headers=ana
    )
    assert inactive.status_code == 422
    assert "deactivated" in inactive.json()["detail"]
    not_mine = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"queue": "billing"}, headers=bo
    )
    assert not_mine.status_code == 403
    assert snapshot(harness, cid) == before
    supervisor = await harness.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"agent_id": admin_id}, headers=lead(harness)
    )
    assert supervisor.status_code == 200


async def test_escalate_moves_up_the_ladder_to_whoever_is_there(harness: Harness) -> None:
    """general -> billing (someone with the skill is online) -> management (the top)."""
    _, ana = person(harness, "ana@example.com")
    billing_id, billing = person(harness, "cy@example.com", skills=("refunds",))
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=billing)
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    up = await harness.client.post(f"/api/v1/conversations/{cid}/escalate", headers=ana)
    assert up.status_code == 200, up.text
    row = conversation_row(harness, cid)
    assert (row.queue, row.tier) == ("billing", 3)
    assert (row.status, row.assignee_id) == ("assigned", billing_id)  # routed at once
    moved = last_event(harness, "moved")
    assert moved.detail["reason"] == "agent"
    assert (moved.detail["from_queue"], moved.detail["to_queue"]) == ("general", "billing")
    top = await harness.client.post(f"/api/v1/conversations/{cid}/escalate", headers=billing)
    assert top.status_code == 200
    assert conversation_row(harness, cid).queue == "management"
    before = snapshot(harness, cid)
    beyond = await harness.client.post(
        f"/api/v1/conversations/{cid}/escalate", headers=lead(harness)
    )
    assert beyond.status_code == 409
    assert "top of the ladder" in beyond.json()["detail"]
    assert snapshot(harness, cid) == before


async def test_escalate_skips_a_step_nobody_is_online_for(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    up = await harness.client.post(f"/api/v1/conversations/{cid}/escalate", headers=ana)
    assert up.status_code == 200
    assert conversation_row(harness, cid).queue == "management"
    assert last_event(harness, "moved").detail["skipped"] == ["billing"]


async def test_notes_are_internal_and_show_on_the_card(harness: Harness) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    await harness.drain()
    sent_before = len(harness.graph.state.accepted())
    noted = await harness.client.post(
        f"/api/v1/conversations/{cid}/notes", json={"body": "Called the courier."}, headers=ana
    )
    assert noted.status_code == 201, noted.text
    await harness.drain()
    assert len(harness.graph.state.accepted()) == sent_before  # never sent
    card = (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)).json()
    assert [(n["id"], n["author"], n["body"]) for n in card["notes"]] == [
        (noted.json()["id"], "Ana", "Called the courier.")
    ]
    assert last_event(harness, "note").actor_id == agent_id


@pytest.mark.parametrize(
    ("body", "message"),
    [(" ", "the note is 0 characters"), ("x" * 4001, "the note is 4001 characters; write 1")],
)
async def test_note_refusals_change_nothing(harness: Harness, body: str, message: str) -> None:
    _, ana = person(harness, "ana@example.com")
    _, bo = person(harness, "bo@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    bad = await harness.client.post(
        f"/api/v1/conversations/{cid}/notes", json={"body": body}, headers=ana
    )
    assert bad.status_code == 422
    assert message in bad.json()["detail"]
    not_mine = await harness.client.post(
        f"/api/v1/conversations/{cid}/notes", json={"body": "hi"}, headers=bo
    )
    assert not_mine.status_code == 403
    assert snapshot(harness, cid) == before


async def test_feedback_is_stored_and_replaced(harness: Harness, clock: Clock) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    await harness.client.post(f"/api/v1/conversations/{cid}/resolve", headers=ana)
    first = await harness.client.post(
        f"/api/v1/conversations/{cid}/feedback", json={"verdict": "needed"}, headers=ana
    )
    assert first.status_code == 200, first.text
    clock.advance(seconds=30)
    second = await harness.client.post(
        f"/api/v1/conversations/{cid}/feedback",
        json={"verdict": "too_late", "tags": ["weak_follow_up", "unclear_intent"]},
        headers=ana,
    )
    assert second.status_code == 200
    row = conversation_row(harness, cid)
    assert (row.feedback, row.failure_tags, row.feedback_by, row.feedback_at) == (
        "too_late",
        ["unclear_intent", "weak_follow_up"],
        agent_id,
        clock.now,
    )
    card = (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)).json()
    assert card["feedback"]["verdict"] == "too_late"
    assert last_event(harness, "feedback").detail == {
        "verdict": "too_late",
        "tags": ["unclear_intent", "weak_follow_up"],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"verdict": "meh"}, "verdict 'meh' is not one of: needed, not_needed, too_late"),
        ({"verdict": "needed", "tags": ["rude"]}, "failure tag(s) 'rude' not known"),
    ],
)
async def test_feedback_bad_values_change_nothing(
    harness: Harness, body: dict[str, object], message: str
) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    bad = await harness.client.post(f"/api/v1/conversations/{cid}/feedback", json=body, headers=ana)
    assert bad.status_code == 422
    assert message in bad.json()["detail"]
    assert snapshot(harness, cid) == before


async def test_feedback_on_a_conversation_never_escalated_is_refused(harness: Harness) -> None:
    await harness.post_webhook(text_webhook(body="hello", wa_id=OTHER))
    found = await harness.client.get(
        "/api/v1/conversations", params={"customer": OTHER}, headers=lead(harness)
    )
    cid = found.json()["conversations"][0]["id"]
    refused = await harness.client.post(
        f"/api/v1/conversations/{cid}/feedback", json={"verdict": "needed"}, headers=lead(harness)
    )
    assert refused.status_code == 409
    assert "never escalated" in refused.json()["detail"]


async def test_presence_is_an_event_and_going_online_gets_work(
    harness: Harness, clock: Clock
) -> None:
    agent_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    clock.advance(seconds=5)
    online = await harness.client.post(
        "/api/v1/me/presence", json={"presence": "online"}, headers=ana
    )
    assert online.status_code == 200
    presence = last_event(harness, "presence")
    assert (presence.actor_id, presence.detail, presence.conversation_id) == (
        agent_id,
        {"presence": "online"},
        None,
    )
    assigned = last_event(harness, "assigned")
    assert (assigned.conversation_id, assigned.detail["how"]) == (cid, "routing")
    assert assigned.created_at == clock.now
    assert assigned.created_at - presence.created_at == timedelta(0)


async def test_anonymous_and_unknown_tokens_get_401(harness: Harness) -> None:
    cid = await escalated(harness, CUSTOMER)
    for path in ("take", "resolve", "handback", "escalate"):
        anonymous = await harness.client.post(f"/api/v1/conversations/{cid}/{path}")
        assert anonymous.status_code == 401
    forged = await harness.client.post(
        f"/api/v1/conversations/{cid}/take", headers={"Authorization": "Bearer rdk_nope"}
    )
    assert forged.status_code == 401
