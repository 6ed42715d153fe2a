"""The daily transcript review through HTTP: supervisors list and search every
conversation (bot-only ones included) in the console and under `/api/v1/conversations`,
follow each to its transcript, and put failure tags on any conversation."""

from __future__ import annotations

import re

from sqlalchemy import select

from relaydesk.adapters.storage.tables import audit_log, conversations
from relaydesk.services import conversations as reads
from tests.acceptance.desk import lead, person
from tests.acceptance.test_console import Console, console, csrf_of, location, signed_in
from tests.conftest import text_webhook

__all__ = ["console"]  # the fixture

BEA, CARLOS = "34600000401", "34600000402"


async def two_conversations(console: Console) -> tuple[int, int]:
    """Bea's conversation stays with the bot; Carlos asks for a person."""
    harness = console.harness
    for wa_id, name, body in ((BEA, "Bea", "hello"),
                              (CARLOS, "Carlos", "I want to talk to a real person")):  # fmt: skip
        webhook = text_webhook(body=body, wa_id=wa_id, name=name, timestamp=console.clock())
        assert (await harness.post_webhook(webhook)).status_code == 200
    with harness.container.db.read() as conn:
        (bot,) = reads.find_for_customer(conn, BEA)
        (queued,) = reads.find_for_customer(conn, CARLOS)
    assert bot["status"] == "bot" and queued["status"] == "queued"
    return int(bot["id"]), int(queued["id"])


def listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-conversation="(\d+)">', page)]


def tags_of(console: Console, conversation_id: int) -> list[str]:
    with console.harness.container.db.read() as conn:
        row = conn.execute(
            select(conversations.c.failure_tags).where(conversations.c.id == conversation_id)
        ).one()
    return list(row.failure_tags or [])


async def test_the_console_lists_searches_and_links_every_conversation(console: Console) -> None:
    bot, queued = await two_conversations(console)
    browser = await signed_in(console, "reviewer@example.com", "supervisor")

    page = await browser.get("/console/review")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [queued, bot]
    assert f'href="/console/conversations/{bot}"' in page.text
    assert (await browser.get(f"/console/conversations/{bot}")).status_code == 200

    assert listed((await browser.get("/console/review?status=bot")).text) == [bot]
    assert listed((await browser.get("/console/review?q=carlos")).text) == [queued]
    assert listed((await browser.get("/console/review?q=%2B34 600 000 401")).text) == [bot]
    today = console.clock().astimezone(console.harness.container.brief.timezone).date()
    assert listed((await browser.get(f"/console/review?start={today}&end={today}")).text) == [
        queued,
        bot,
    ]

    refused = await browser.get("/console/review?status=sleeping")
    assert refused.status_code == 422
    assert "status &#39;sleeping&#39; is not one of: bot, queued, assigned" in refused.text
    refused = await browser.get("/console/review?start=30/11/2026")
    assert refused.status_code == 422 and "write YYYY-MM-DD" in refused.text

    agent = await signed_in(console, "agent-review@example.com", "agent")
    assert (await agent.get("/console/review")).status_code == 403


async def test_failure_tags_go_on_a_bot_only_conversation(console: Console) -> None:
    bot, _ = await two_conversations(console)
    browser = await signed_in(console, "tagger@example.com", "supervisor")
    token = csrf_of(await browser.get("/console/review"))

    saved = await browser.post(
        f"/console/review/conversations/{bot}/tags",
        data={"csrf_token": token, "tags": ["unclear_intent", "weak_follow_up"],
              "next": "/console/review?status=bot"},
    )  # fmt: skip
    assert location(saved) == "/console/review?status=bot&done=tagged"
    assert tags_of(console, bot) == ["unclear_intent", "weak_follow_up"]
    transcript = await browser.get(f"/console/conversations/{bot}")
    assert 'value="unclear_intent" checked' in transcript.text
    with console.harness.container.db.read() as conn:
        entry = conn.execute(
            select(audit_log).where(audit_log.c.action == "conversation.failure_tags")
        ).one()
    assert entry.target == f"conversation:{bot}"

    refused = await browser.post(
        f"/console/review/conversations/{bot}/tags",
        data={"csrf_token": token, "tags": ["rude"], "next": f"/console/conversations/{bot}"},
    )
    assert refused.status_code == 422
    assert "failure tag(s) &#39;rude&#39; not known" in refused.text
    assert tags_of(console, bot) == ["unclear_intent", "weak_follow_up"]

    forged = await browser.post(
        f"/console/review/conversations/{bot}/tags", data={"tags": ["unclear_intent"]}
    )
    assert forged.status_code == 403


async def test_the_api_searches_every_conversation_and_tags_any(console: Console) -> None:
    harness = console.harness
    bot, queued = await two_conversations(console)
    headers = lead(harness)
    api = harness.client

    everything = await api.get("/api/v1/conversations", headers=headers)
    assert everything.status_code == 200, everything.text
    assert [c["id"] for c in everything.json()["conversations"]] == [queued, bot]
    first = await api.get("/api/v1/conversations", params={"limit": 1}, headers=headers)
    assert [c["id"] for c in first.json()["conversations"]] == [queued]
    rest = await api.get(first.json()["next"], headers=headers)
    assert [c["id"] for c in rest.json()["conversations"]] == [bot]
    assert rest.json()["next"] is None
    for params, expected in (({"status": "bot"}, [bot]), ({"q": "bea"}, [bot]),
                             ({"q": "402"}, [queued]), ({"customer": BEA}, [bot])):  # fmt: skip
        answer = await api.get("/api/v1/conversations", params=params, headers=headers)
        assert [c["id"] for c in answer.json()["conversations"]] == expected, params

    bad = await api.get("/api/v1/conversations", params={"queue": "nowhere"}, headers=headers)
    assert bad.status_code == 422
    assert "queue 'nowhere' is not in the brief" in bad.text
    naive = await api.get(
        "/api/v1/conversations", params={"start": "2026-11-30T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422 and "needs a time zone" in naive.text

    _, agent = person(harness, "agent-api@example.com")
    seen = await api.get("/api/v1/conversations", headers=agent)
    assert [c["id"] for c in seen.json()["conversations"]] == [queued]  # not the bot's
    put = await api.put(
        f"/api/v1/conversations/{bot}/failure-tags", json={"tags": ["weak_follow_up"]},
        headers=agent,
    )  # fmt: skip
    assert put.status_code == 403
    assert tags_of(console, bot) == []

    put = await api.put(
        f"/api/v1/conversations/{bot}/failure-tags", json={"tags": ["weak_follow_up"]},
        headers=headers,
    )  # fmt: skip
    assert put.status_code == 200 and put.json() == {"tags": ["weak_follow_up"]}
    assert tags_of(console, bot) == ["weak_follow_up"]
    missing = await api.put(
        "/api/v1/conversations/999999/failure-tags", json={"tags": []}, headers=headers
    )
    assert missing.status_code == 404
    unknown = await api.put(
        f"/api/v1/conversations/{bot}/failure-tags", json={"tags": ["rude"]}, headers=headers
    )
    assert unknown.status_code == 422 and "not known" in unknown.text
    assert tags_of(console, bot) == ["weak_follow_up"]
