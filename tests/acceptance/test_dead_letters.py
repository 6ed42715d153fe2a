"""Dead letters of the integration outbox in the API and the console, on both databases:
supervisors and admins list and retry them; agents are refused; a retry is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from relaydesk.adapters.storage import integration_outbox as box
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.tables import audit_log
from relaydesk.domain.channel import Sender
from tests.acceptance.desk import lead, person
from tests.acceptance.test_console import (
    Console,
    location,
    post,
    signed_in,
)
from tests.acceptance.test_console import console as console  # the fixture, re-exported
from tests.conftest import Harness


def a_dead_letter(harness: Harness) -> int:
    now = datetime.now(UTC)
    with harness.container.db.write() as conn:
        customer = repo.upsert_customer(conn, Sender(wa_id="34600000900"), now)
        cid = repo.open_conversation(conn, customer, "PNID", now).id
        box.enqueue(conn, "conversation.escalated", conversation_id=cid, payload={}, now=now)
        box.fan_out(conn, {"zd": ("conversation.escalated",)}, now)
        (row,) = box.for_conversation(conn, "zd", cid)
        box.dead(conn, row.id, now, "zd ticket create: HTTP 422 RecordInvalid")
    return row.id


async def test_the_api_lists_and_retries_dead_letters_for_supervisors(console: Console) -> None:
    harness = console.harness
    row_id = a_dead_letter(harness)
    _, agent = person(harness, "ana@example.com")
    listed = await harness.client.get("/api/v1/integrations/dead-letters", headers=lead(harness))
    assert listed.status_code == 200, listed.text
    (dead,) = listed.json()["dead_letters"]
    assert (dead["id"], dead["integration"], dead["event_type"]) == (
        row_id,
        "zd",
        "conversation.escalated",
    )
    assert "RecordInvalid" in dead["last_error"]
    refused = await harness.client.get("/api/v1/integrations/dead-letters", headers=agent)
    assert refused.status_code == 403

    path = f"/api/v1/integrations/dead-letters/{row_id}/retry"
    assert (await harness.client.post(path, headers=agent)).status_code == 403
    retried = await harness.client.post(path, headers=lead(harness))
    assert retried.json() == {"id": row_id, "status": "pending"}
    again = await harness.client.post(path, headers=lead(harness))
    assert again.status_code == 404
    assert "is not a dead letter (it is pending)" in again.json()["detail"]
    missing = await harness.client.post(
        "/api/v1/integrations/dead-letters/999999/retry", headers=lead(harness)
    )
    assert missing.status_code == 404
    with harness.container.db.read() as conn:
        assert box.get(conn, row_id).status == "pending"  # type: ignore[union-attr]
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert actions.count("integration.retried") == 1


async def test_the_console_page_shows_them_with_a_retry_button(console: Console) -> None:
    harness = console.harness
    row_id = a_dead_letter(harness)
    agent = await signed_in(console, "ana@example.com")
    assert (await agent.get("/console/integrations")).status_code == 403

    supervisor = await signed_in(console, "sam@example.com", role="supervisor")
    page = await supervisor.get("/console/integrations")
    assert page.status_code == 200
    assert "RecordInvalid" in page.text
    assert f"/console/integrations/dead-letters/{row_id}/retry" in page.text

    forged = await supervisor.post(f"/console/integrations/dead-letters/{row_id}/retry")
    assert forged.status_code == 403  # no CSRF token: nothing changed
    done = await post(supervisor, f"/console/integrations/dead-letters/{row_id}/retry")
    assert location(done) == f"/console/integrations?retried={row_id}"
    after = await supervisor.get(location(done))
    assert "No dead letters." in after.text
    assert f"Dead letter {row_id} is back in line." in after.text
    twice = await post(supervisor, f"/console/integrations/dead-letters/{row_id}/retry")
    assert twice.status_code == 404
