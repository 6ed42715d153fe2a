"""Who may read which conversation, through HTTP on both databases: one rule (agents see
what waits in the queues and what is assigned to them; supervisors and admins see
everything) on every API route and console page that reads or lists conversations."""

from __future__ import annotations

from tests.acceptance.desk import escalated, lead, person
from tests.conftest import Harness

ANA = "34600000701"
BEN = "34600000702"


async def _taken_by(harness: Harness, headers: dict[str, str], wa_id: str) -> int:
    cid = await escalated(harness, wa_id)
    taken = await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=headers)
    assert taken.status_code == 200, taken.text
    return cid


async def test_an_agent_cannot_read_another_agents_conversation_by_id(harness: Harness) -> None:
    """Refused as the card refuses it (403), without the transcript or the phone number."""
    _, alice = person(harness, "alice@example.com")
    _, bob = person(harness, "bob@example.com")
    cid = await _taken_by(harness, bob, ANA)

    for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/card"):
        refused = await harness.client.get(path, headers=alice)
        assert refused.status_code == 403, (path, refused.text)
        assert ANA not in refused.text
        assert "not yours" in refused.json()["detail"]

    assert (await harness.client.get(f"/api/v1/conversations/{cid}", headers=bob)).is_success
    supervisor = await harness.client.get(f"/api/v1/conversations/{cid}", headers=lead(harness))
    assert supervisor.status_code == 200
    assert supervisor.json()["customer"]["wa_id"] == ANA


async def test_a_missing_conversation_is_404_for_everyone(harness: Harness) -> None:
    _, alice = person(harness, "alice@example.com")
    for headers in (alice, lead(harness)):
        missing = await harness.client.get("/api/v1/conversations/987654", headers=headers)
        assert missing.status_code == 404
        assert "no conversation 987654" in missing.json()["detail"]


async def test_the_customer_filter_lists_only_what_the_agent_may_see(harness: Harness) -> None:
    _, alice = person(harness, "alice@example.com")
    _, bob = person(harness, "bob@example.com")
    cid = await _taken_by(harness, bob, ANA)

    hidden = await harness.client.get(
        "/api/v1/conversations", params={"customer": ANA}, headers=alice
    )
    assert hidden.status_code == 200
    assert hidden.json()["conversations"] == []
    assert ANA not in hidden.text

    for headers in (bob, lead(harness)):
        seen = await harness.client.get(
            "/api/v1/conversations", params={"customer": ANA}, headers=headers
        )
        assert [c["id"] for c in seen.json()["conversations"]] == [cid]


async def test_waiting_conversations_are_visible_to_every_agent(harness: Harness) -> None:
    _, alice = person(harness, "alice@example.com")
    _, bob = person(harness, "bob@example.com")
    mine = await _taken_by(harness, bob, ANA)
    waiting = await escalated(harness, BEN)

    for customer, expected in ((ANA, []), (BEN, [waiting])):
        found = await harness.client.get(
            "/api/v1/conversations", params={"customer": customer}, headers=alice
        )
        assert [c["id"] for c in found.json()["conversations"]] == expected
    assert (await harness.client.get(f"/api/v1/conversations/{waiting}", headers=alice)).is_success
    queue = (await harness.client.get("/api/v1/queue", headers=alice)).json()["conversations"]
    assert [c["id"] for c in queue] == [waiting]
    own = (await harness.client.get("/api/v1/me/conversations", headers=bob)).json()
    assert [c["id"] for c in own["conversations"]] == [mine]
