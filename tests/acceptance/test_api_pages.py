"""Pages through the API on both databases: a long conversation's messages and decisions,
the card's transcript and the waiting queue come `limit` at a time with `next` links
that, followed, give every item once and in order."""

from __future__ import annotations

from typing import Any

from tests.acceptance.desk import escalated, lead
from tests.conftest import Harness, text_webhook

ANA = "34600000901"


async def follow(
    harness: Harness, first: str | None, key: str, link: str = "next"
) -> list[list[dict[str, Any]]]:
    """Every page from `first` on, following `link`."""
    pages = []
    url = first
    while url is not None:
        response = await harness.client.get(url, headers=lead(harness))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[key])
        url = body[link]
    return pages


async def test_a_conversations_messages_and_decisions_page_back_in_time(
    harness: Harness,
) -> None:
    lines = [f"question number {n}" for n in range(5)]
    cid = await escalated(harness, ANA, before=tuple(lines))
    everything = (
        await harness.client.get(
            f"/api/v1/conversations/{cid}", params={"limit": 500}, headers=lead(harness)
        )
    ).json()
    assert everything["messages_next"] is None and everything["decisions_next"] is None
    all_messages = [m["id"] for m in everything["messages"]]
    assert len(all_messages) >= 6
    assert all_messages == sorted(all_messages)

    small = (
        await harness.client.get(
            f"/api/v1/conversations/{cid}", params={"limit": 2}, headers=lead(harness)
        )
    ).json()
    assert [m["id"] for m in small["messages"]] == all_messages[-2:]
    assert small["messages_next"] is not None

    older = await follow(harness, small["messages_next"] + "&limit=2", "messages")
    assert all(len(page) <= 2 for page in older)
    paged = [m["id"] for page in reversed(older) for m in page] + all_messages[-2:]
    assert paged == all_messages

    decisions = await follow(harness, f"/api/v1/conversations/{cid}/decisions?limit=1", "decisions")
    assert [len(page) for page in decisions] == [1] * len(everything["decisions"])
    assert [p[0]["message_id"] for p in reversed(decisions)] == [
        d["message_id"] for d in everything["decisions"]
    ]


async def test_the_cards_transcript_is_the_newest_messages_with_a_link_back(
    harness: Harness,
) -> None:
    cid = await escalated(harness, ANA, before=("my order 4455667 is late", "still waiting"))
    card = (
        await harness.client.get(
            f"/api/v1/conversations/{cid}/card", params={"limit": 2}, headers=lead(harness)
        )
    ).json()
    assert len(card["transcript"]) == 2
    assert card["transcript"][0]["text"] == "I want to talk to a real person"
    assert card["collected"]["order_numbers"] == ["4455667"], "from the whole conversation"
    older = await follow(harness, card["transcript_next"], "transcript", "transcript_next")
    assert all(len(page) == 2 for page in older[:-1])
    texts = [m["text"] for page in older for m in page]
    assert "my order 4455667 is late" in texts


async def test_the_queue_pages_by_position(harness: Harness) -> None:
    for n in range(3):
        await harness.post_webhook(
            text_webhook(body="I want to talk to a real person", wa_id=f"3460000091{n}")
        )
    whole = (await harness.client.get("/api/v1/queue", headers=lead(harness))).json()
    assert whole["next"] is None
    pages = await follow(harness, "/api/v1/queue?limit=2", "conversations")
    assert [len(p) for p in pages] == [2, 1]
    flat = [c for page in pages for c in page]
    assert [c["id"] for c in flat] == [c["id"] for c in whole["conversations"]]
    assert [c["position"] for c in flat] == [0, 1, 2]


async def test_page_sizes_are_bounded(harness: Harness) -> None:
    for limit in (0, 501, -1):
        response = await harness.client.get(
            "/api/v1/queue", params={"limit": limit}, headers=lead(harness)
        )
        assert response.status_code == 422, limit
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_paging_is_in_the_openapi_schema(harness: Harness) -> None:
    paths = (await harness.client.get("/openapi.json")).json()["paths"]
    for path, cursor in (
        ("/api/v1/conversations", "before"),
        ("/api/v1/conversations/{conversation_id}/messages", "before"),
        ("/api/v1/conversations/{conversation_id}/decisions", "before"),
        ("/api/v1/conversations/{conversation_id}/card", "before"),
        ("/api/v1/queue", "offset"),
        ("/api/v1/me/conversations", "offset"),
        ("/api/v1/sla/risk", "offset"),
    ):
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert parameters["limit"]["schema"]["maximum"] == 500, path
        assert cursor in parameters, path
