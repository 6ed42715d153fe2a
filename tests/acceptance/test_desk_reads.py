"""What the console reads, through the API on both databases: the handoff card after a real
escalation, my conversations, the waiting queue, queue and SLA overviews, agents' load,
who may read what, and the OpenAPI schema listing every route."""

from __future__ import annotations

from tests.acceptance.desk import escalated, lead, person
from tests.conftest import Clock, Harness

ANA = "34600000601"
BEN = "34600000602"
CAL = "34600000603"


async def test_the_handoff_card_tells_the_whole_story(harness: Harness) -> None:
    """A customer gives an order number, an email and a phone number, then asks for a
    person: the card has why, with scores, what they said, what they gave, what the bot
    tried, and a suggested next step and reply."""
    _, ana = person(harness, "agent@example.com")
    cid = await escalated(
        harness,
        ANA,
        before=(
            "Where is my order 4455667? my email is ana@example.org",
            "you can call me on +34 612 345 678",
        ),
        name="Ana Lopez",
    )
    await harness.drain()
    response = await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)
    assert response.status_code == 200, response.text
    card = response.json()

    assert card["status"] == "queued"
    assert card["queue"] == "general"
    human = next(t for t in card["triggers"] if t["type"] == "human_request")
    assert human["score"] >= human["threshold"]
    assert card["reason"]
    assert card["escalated_at"] is not None
    assert card["policy_version"]
    assert card["collected"]["order_numbers"] == ["4455667"]
    assert card["collected"]["emails"] == ["ana@example.org"]
    assert card["collected"]["phones"] == ["+••••••••678"]
    assert card["customer"]["name"] == "Ana Lopez"

    transcript = card["transcript"]
    customer_lines = [m["text"] for m in transcript if m["author_role"] == "customer"]
    assert customer_lines == [
        "Where is my order 4455667? my email is ana@example.org",
        "you can call me on +34 612 345 678",
        "I want to talk to a real person",
    ]
    assert {m["author"] for m in transcript if m["author_role"] == "customer"} == {"Ana Lopez"}
    assert any(m["author_role"] == "bot" for m in transcript)
    assert card["bot_tried"], "the bot answered or asked before escalating"
    assert "escalated" not in card["bot_tried"]

    assert len(card["sentiment"]["values"]) == 3
    assert card["sentiment"]["direction"] in ("steady", "worsening", "improving")
    assert "4455667" in card["next_step"]
    assert card["suggested_reply"].startswith("Hi Ana,")
    assert "order 4455667" in card["suggested_reply"]
    canned = {c["name"]: c for c in card["canned_responses"]}
    assert canned["checking_order"]["title"] == "Checking your order"
    assert canned["checking_order"]["text"].startswith("Thanks, Ana.")  # filled in
    assert card["notes"] == []
    assert card["feedback"] is None
    assert card["sla"]["priority"] == card["priority"]
    assert {c["clock"] for c in card["sla"]["clocks"]} >= {"first_response", "resolution"}


async def test_the_card_shows_the_agents_reply_by_name(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, ANA)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    await harness.client.post(
        f"/api/v1/conversations/{cid}/reply", json={"text": "Hello, Ana here"}, headers=ana
    )
    card = (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)).json()
    last = card["transcript"][-1]
    assert (last["author"], last["author_role"], last["text"]) == (
        "Ana",
        "agent",
        "Hello, Ana here",
    )
    assert card["assignee"]["name"] == "Ana"
    missing = await harness.client.get("/api/v1/conversations/31337/card", headers=ana)
    assert missing.status_code == 404


async def test_waiting_is_in_routing_order_and_my_conversations_are_mine(
    harness: Harness, clock: Clock
) -> None:
    """A P1 (fraud) that arrived last waits ahead of two P3s, which keep arrival order."""
    _, ana = person(harness, "ana@example.com")
    first = await escalated(harness, ANA)
    clock.advance(seconds=10)
    second = await escalated(harness, BEN)
    clock.advance(seconds=10)
    urgent = await escalated(harness, CAL, "There is an unauthorized charge on my card")

    queue = (await harness.client.get("/api/v1/queue", headers=ana)).json()["conversations"]
    assert [c["id"] for c in queue] == [urgent, first, second]
    assert [c["position"] for c in queue] == [0, 1, 2]
    assert queue[0]["priority"] == "P1"
    assert queue[1]["waiting_seconds"] == 20
    assert queue[1]["last_message"]["direction"] == "out"  # the handoff message

    await harness.client.post(f"/api/v1/conversations/{second}/take", headers=ana)
    mine = (await harness.client.get("/api/v1/me/conversations", headers=ana)).json()
    assert [c["id"] for c in mine["conversations"]] == [second]
    assert mine["conversations"][0]["assignee"]["name"] == "Ana"
    theirs = (await harness.client.get("/api/v1/me/conversations", headers=lead(harness))).json()
    assert theirs["conversations"] == []


async def test_queue_overview_counts_depth_oldest_wait_and_sla_risk(
    harness: Harness, clock: Clock
) -> None:
    """The P1 (5 minutes to first response, around the clock, warning at 80 %) is at risk
    after 4.5 minutes."""
    _, online = person(harness, "ana@example.com")
    await escalated(harness, ANA)
    clock.advance(minutes=1)
    urgent = await escalated(harness, CAL, "There is an unauthorized charge on my card")
    clock.advance(minutes=4, seconds=30)
    await harness.client.post("/api/v1/me/presence", json={"presence": "away"}, headers=online)

    overview = (await harness.client.get("/api/v1/queues", headers=online)).json()["queues"]
    by_name = {q["name"]: q for q in overview}
    assert list(by_name) == ["general", "billing", "technical", "management", "portuguese"]
    assert (by_name["general"]["depth"], by_name["general"]["oldest_wait_seconds"]) == (1, 330)
    assert (by_name["billing"]["depth"], by_name["billing"]["at_risk"]) == (1, 1)
    assert by_name["management"]["depth"] == 0
    assert by_name["management"]["oldest_wait_seconds"] is None
    assert [q["name"] for q in overview if q["backlog"]] == []

    risk = await harness.client.get("/api/v1/sla/risk", headers=lead(harness))
    assert risk.status_code == 200
    (at_risk,) = risk.json()["conversations"]
    assert at_risk["id"] == urgent
    assert (at_risk["sla"]["clock"], at_risk["sla"]["state"]) == ("first_response", "warning")
    assert at_risk["sla"]["remaining_seconds"] == 30


async def test_agents_overview_shows_presence_and_load(harness: Harness) -> None:
    ana_id, ana = person(harness, "ana@example.com", capacity=3)
    await escalated(harness, ANA)
    await harness.client.post("/api/v1/me/presence", json={"presence": "online"}, headers=ana)
    agents = (await harness.client.get("/api/v1/agents", headers=lead(harness))).json()["agents"]
    mine = next(a for a in agents if a["id"] == ana_id)
    assert (mine["presence"], mine["active_conversations"], mine["capacity"]) == ("online", 1, 3)
    assert mine["skills"] == ["orders"]


async def test_supervisor_views_are_refused_to_agents(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    for path in ("/api/v1/agents", "/api/v1/sla/risk", "/api/v1/stats/rewrites", "/api/v1/users"):
        refused = await harness.client.get(path, headers=ana)
        assert refused.status_code == 403, path
        assert "role 'agent' may not do this" in refused.json()["detail"]
        assert (await harness.client.get(path)).status_code == 401


async def test_openapi_lists_every_route_with_its_refusals(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    paths = schema["paths"]
    actions = ("take", "reply", "resolve", "handback", "transfer", "escalate", "notes", "feedback")
    for action in actions:
        operation = paths[f"/api/v1/conversations/{{conversation_id}}/{action}"]["post"]
        assert {"401", "403", "404", "409", "422"} <= set(operation["responses"]), action
    for path in (
        "/api/v1/conversations/{conversation_id}/card",
        "/api/v1/me/conversations",
        "/api/v1/queue",
        "/api/v1/queues",
        "/api/v1/sla/risk",
        "/api/v1/agents",
        "/api/v1/stats/rewrites",
        "/api/v1/users",
    ):
        assert "get" in paths[path], path
        assert paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "post" in paths["/api/v1/users"]
    assert "patch" in paths["/api/v1/users/{user_id}"]
    assert "post" in paths["/api/v1/me/presence"]
    assert "HandoffCardOut" in schema["components"]["schemas"]


async def test_agents_see_waiting_conversations_and_their_own_cards(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    _, bo = person(harness, "bo@example.com")
    cid = await escalated(harness, ANA)
    assert (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=bo)).is_success
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    refused = await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=bo)
    assert refused.status_code == 403
    assert "not yours" in refused.json()["detail"]
    assert (await harness.client.get(f"/api/v1/conversations/{cid}/card", headers=ana)).is_success
    supervisor = await harness.client.get(
        f"/api/v1/conversations/{cid}/card", headers=lead(harness)
    )
    assert supervisor.is_success


async def test_a_queue_waiting_longer_than_the_brief_allows_is_flagged_as_a_backlog(
    harness: Harness, clock: Clock
) -> None:
    """The example brief's policy.backlog_alert_wait is 30 minutes: past it, /queues flags
    the queue (the console's badge: test_console)."""
    _, watcher = person(harness, "watch@example.com", role="supervisor", skills=())
    await escalated(harness, ANA)
    clock.advance(minutes=30)
    overview = (await harness.client.get("/api/v1/queues", headers=watcher)).json()["queues"]
    assert [(q["name"], q["backlog"]) for q in overview if q["depth"]] == [("general", False)]
    clock.advance(seconds=1)
    overview = (await harness.client.get("/api/v1/queues", headers=watcher)).json()["queues"]
    flagged = {q["name"]: q["backlog_reasons"] for q in overview if q["backlog"]}
    assert flagged == {"general": ["wait"]}
