"""Governance through HTTP on both databases: the audit log (written by sign-in, sign-out,
user changes and the agents' actions; read on the admin console page, as CSV and from the
API, admins only; append-only in the database) and a failed send's error code and reason
in the console transcript."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from relaydesk.services import accounts
from relaydesk.services.demo import ensure_demo_accounts
from tests.acceptance import test_console as tc
from tests.conftest import SECRET_KEY, status_webhook

console = tc.console  # the fixture: the whole app with a hand-moved clock


def _actions(rows: list[dict[str, str]]) -> list[str]:
    return [row["action"] for row in rows]


async def test_the_audit_log_records_who_did_what_and_admins_read_it(console: tc.Console) -> None:
    admin = await tc.signed_in(console, "root@example.com", "admin")
    lead = await tc.signed_in(console, "lead@example.com", "supervisor")
    refused = await tc.sign_in(console.browser(), "lead@example.com", "not the password")
    assert refused.status_code == 401
    conversation_id = await console.escalate()
    page = f"/console/conversations/{conversation_id}"
    tc.location(await tc.post(lead, "/console/queues/take", {"queue": "general"}))
    tc.location(await tc.post(lead, f"{page}/reply", {"text": "Hi Ana, on it."}))
    tc.location(await tc.post(lead, f"{page}/transfer", {"target": "queue:billing"}))
    tc.location(await tc.post(lead, f"{page}/escalate"))
    tc.location(await tc.post(lead, f"{page}/feedback", {"verdict": "needed"}))
    tc.location(await tc.post(lead, f"{page}/resolve"))
    ana = console.user("ana@example.com")
    made = await tc.post(
        admin,
        f"/console/admin/users/{ana}",
        {"name": "Ana", "role": "supervisor", "capacity": "3", "active": "on"},
    )
    tc.location(made)
    tc.location(await tc.post(lead, "/console/logout"))

    shown = await admin.get("/console/audit")
    assert shown.status_code == 200
    for action in (
        "sign_in",
        "sign_in.failed",
        "conversation.replied",
        "conversation.transferred",
        "conversation.escalated",
        "conversation.feedback",
        "conversation.resolved",
        "user.role_changed",
        "sign_out",
    ):
        assert f"<td>{action}</td>" in shown.text, action
    assert "Hi Ana, on it." not in shown.text  # targets by id, never message text

    got = await admin.get(
        "/console/audit.csv", params={"target": f"conversation:{conversation_id}"}
    )
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert _actions(rows) == [
        "conversation.resolved",
        "conversation.feedback",
        "conversation.escalated",
        "conversation.transferred",
        "conversation.replied",
    ]
    assert all(row["actor"] == "lead@example.com" for row in rows)
    assert '"to_queue": "billing"' in rows[3]["after"]

    role = await admin.get("/console/audit", params={"action": "user.role_changed"})
    assert '"role": "agent"' in role.text.replace("&#34;", '"')
    assert '"role": "supervisor"' in role.text.replace("&#34;", '"')
    assert "<td>sign_in</td>" not in role.text

    bad = await admin.get("/console/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "use YYYY-MM-DD" in bad.text
    assert (await lead.get("/console/audit")).status_code in (303, 401, 403)
    agent = await tc.signed_in(console, "bo@example.com")
    assert (await agent.get("/console/audit")).status_code == 403
    assert (await agent.get("/console/audit.csv")).status_code == 403

    # the API: the same entries for admins only, filters checked
    harness = console.harness
    with harness.container.db.write() as conn:
        token = accounts.create_token(
            conn, email="root@example.com", label="t", now=console.clock(), key=SECRET_KEY
        )
    admin_api = {"Authorization": f"Bearer {token}"}
    listed = await harness.client.get(
        "/api/v1/audit", params={"action": "sign_in.failed"}, headers=admin_api
    )
    assert listed.status_code == 200
    (failed,) = listed.json()["entries"]
    assert failed["actor"] is None and failed["target"].startswith("user:")
    paged = await harness.client.get("/api/v1/audit", params={"limit": 2}, headers=admin_api)
    assert len(paged.json()["entries"]) == 2 and paged.json()["next_before_id"]
    as_csv = await harness.client.get("/api/v1/audit", params={"format": "csv"}, headers=admin_api)
    assert as_csv.text.startswith("id,at,actor_id,actor,action,target,before,after")
    naive = await harness.client.get(
        "/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin_api
    )
    assert naive.status_code == 422
    with harness.container.db.write() as conn:
        lead_token = accounts.create_token(
            conn, email="lead@example.com", label="t", now=console.clock(), key=SECRET_KEY
        )
    forbidden = await harness.client.get(
        "/api/v1/audit", headers={"Authorization": f"Bearer {lead_token}"}
    )
    assert forbidden.status_code == 403


async def test_the_audit_log_refuses_updates_and_deletes(console: tc.Console) -> None:
    await tc.signed_in(console, "root@example.com", "admin")
    db = console.harness.container.db
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), db.write() as conn:
            conn.execute(text(statement))
    with db.read() as conn:
        kept = conn.execute(text("SELECT action FROM audit_log")).scalars().all()
    assert sorted(kept) == ["brief.changed", "sign_in", "user.created"]


async def test_a_failed_send_shows_its_code_and_reason_in_the_transcript(
    console: tc.Console,
) -> None:
    lead = await tc.signed_in(console, "lead@example.com", "supervisor")
    conversation_id = await console.escalate()
    await console.harness.drain()
    wamid = console.harness.graph.state.accepted()[-1].wamid
    assert wamid is not None
    failed = status_webhook(wamid, "failed", wa_id=tc.CUSTOMER, error_code=131047)
    assert (await console.harness.post_webhook(failed)).status_code == 200
    page = await lead.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 200
    assert 'data-testid="send-error"' in page.text
    assert "Not delivered: error 131047 (re-engagement window closed)" in page.text


async def test_the_demo_agent_signs_in_and_takes_what_the_sandbox_escalated(
    console: tc.Console,
) -> None:
    container = console.harness.container
    with container.db.write() as conn:
        made = ensure_demo_accounts(conn, container.brief, console.clock())
    with container.db.write() as conn:
        again = ensure_demo_accounts(conn, container.brief, console.clock())
    assert all(account.password for account in made)
    assert [a.password for a in again] == [None, None]
    conversation_id = await console.escalate()
    agent = next(a for a in made if a.role == "agent")
    assert agent.password is not None
    client = console.browser()
    assert (await tc.sign_in(client, agent.email, agent.password)).status_code == 303
    taken = await tc.post(client, f"/console/conversations/{conversation_id}/take")
    assert tc.location(taken).endswith("?done=taken")
    assert console.card(conversation_id)["status"] == "assigned"
