"""What the API and the console do with input they cannot store, on both databases: text
with a NUL or a lone surrogate (422 naming the field), ids beyond what a row can have
(404 in the path, 422 in a body), and an unhandled error (500, logged with its class and
route, never the values). Each refusal changes nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog
from sqlalchemy import func, select, text

from relaydesk.adapters.storage.tables import notes, users
from tests.acceptance.desk import escalated, lead, person, snapshot
from tests.acceptance.test_console import Console, console, csrf_of, post, signed_in
from tests.conftest import Harness

__all__ = ["console"]  # the fixture, for the console tests below

CUSTOMER = "34600000801"
POISON = {"lone surrogate": "Hola \ud83d", "NUL": "Hola \x00 there"}
HUGE = (2**63, 2**64, 10**30, -1, 0)


async def send(harness: Harness, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    """A JSON request whose body may hold lone surrogates (escaped as JSON allows)."""
    return await harness.client.request(
        method,
        path,
        content=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


def count(harness: Harness, table: Any) -> int:
    with harness.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("kind", sorted(POISON))
async def test_poison_text_in_any_api_field_is_422_naming_it(harness: Harness, kind: str) -> None:
    poison = POISON[kind]
    ana_id, ana = person(harness, "ana@example.com")
    admin = person(harness, "root@example.com", role="admin")[1]
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    before = snapshot(harness, cid)
    people = count(harness, users)
    conversation = f"/api/v1/conversations/{cid}"
    user = {"email": "new@example.com", "name": "New", "role": "agent"}

    cases: list[tuple[str, str, dict[str, Any], dict[str, str], str]] = [
        ("POST", f"{conversation}/notes", {"body": poison}, ana, "body"),
        ("POST", f"{conversation}/reply", {"text": poison}, ana, "text"),
        ("POST", f"{conversation}/reply", {"text": "hi", "draft": poison}, ana, "draft"),
        ("POST", f"{conversation}/transfer", {"queue": poison}, ana, "queue"),
        ("POST", f"{conversation}/feedback", {"verdict": poison}, ana, "verdict"),
        ("POST", f"{conversation}/feedback", {"verdict": "needed", "tags": [poison]}, ana, "tags"),
        ("POST", "/api/v1/me/presence", {"presence": poison}, ana, "presence"),
        ("POST", "/api/v1/users", {**user, "name": poison}, admin, "name"),
        ("POST", "/api/v1/users", {**user, "email": poison}, admin, "email"),
        ("POST", "/api/v1/users", {**user, "password": poison * 4}, admin, "password"),
        ("POST", "/api/v1/users", {**user, "skills": [poison]}, admin, "skills"),
        ("PATCH", f"/api/v1/users/{ana_id}", {"name": poison}, admin, "name"),
        ("PATCH", f"/api/v1/users/{ana_id}", {"password": poison * 4}, admin, "password"),
    ]
    for method, path, body, headers, field in cases:
        refused = await send(harness, method, path, body, headers)
        where = (method, path, body)
        assert refused.status_code == 422, (where, refused.text)
        [error] = refused.json()["detail"]
        assert field in error["loc"], (where, error)
        assert kind in error["msg"] and field in error["msg"], (where, error)
        assert ("remove it" in error["msg"]) or ("valid UTF-8" in error["msg"]), error

    assert snapshot(harness, cid) == before
    assert count(harness, users) == people
    assert (await harness.client.get("/api/v1/users", headers=admin)).json()["users"][-1][
        "name"
    ] != poison


async def test_a_poison_customer_filter_is_422(harness: Harness) -> None:
    refused = await harness.client.get(
        "/api/v1/conversations", params={"customer": "34\x00600"}, headers=lead(harness)
    )
    assert refused.status_code == 422
    assert "NUL" in refused.json()["detail"][0]["msg"]


async def test_ids_no_row_can_have_are_404_in_the_path(harness: Harness) -> None:
    _, ana = person(harness, "ana@example.com")
    admin = person(harness, "root@example.com", role="admin")[1]
    gets = ("", "/card", "/messages", "/decisions")
    posts = ("take", "reply", "notes", "transfer", "escalate", "resolve", "handback", "feedback")
    for huge in HUGE:
        for tail in gets:
            response = await harness.client.get(f"/api/v1/conversations/{huge}{tail}", headers=ana)
            assert response.status_code == 404, (huge, tail, response.text)
            assert "is not an id" in response.json()["detail"]
        for action in posts:
            response = await harness.client.post(
                f"/api/v1/conversations/{huge}/{action}", json={}, headers=ana
            )
            assert response.status_code == 404, (huge, action, response.text)
        patched = await harness.client.patch(
            f"/api/v1/users/{huge}", json={"name": "X"}, headers=admin
        )
        assert patched.status_code == 404, (huge, patched.text)


async def test_a_huge_agent_id_in_a_transfer_is_422_and_changes_nothing(
    harness: Harness,
) -> None:
    cid = await escalated(harness, CUSTOMER)
    before = snapshot(harness, cid)
    for huge in (2**63, 2**64, -5):
        refused = await harness.client.post(
            f"/api/v1/conversations/{cid}/transfer", json={"agent_id": huge}, headers=lead(harness)
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "agent_id"]
    assert snapshot(harness, cid) == before


async def test_an_unhandled_error_logs_its_class_and_route_not_the_values(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The notes table is gone, so adding a note fails in the database: 500, and neither
    the note nor the customer's number reaches any log line."""
    _, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, CUSTOMER)
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    with harness.container.db.write() as conn:
        conn.execute(text("DROP TABLE notes"))
    secret = "card 4111 1111 1111 1111 for 34600000801"
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        failed = await harness.client.post(
            f"/api/v1/conversations/{cid}/notes", json={"body": secret}, headers=ana
        )
    assert failed.status_code == 500
    assert failed.headers["x-content-type-options"] == "nosniff"
    assert secret not in failed.text
    [line] = [e for e in logs if e["event"] == "unhandled_error"]
    assert line["log_level"] == "error"
    assert line["route"] == "/api/v1/conversations/{conversation_id}/notes"
    assert line["method"] == "POST"
    assert line["error"].endswith(("OperationalError", "ProgrammingError", "UndefinedTable"))
    everything = repr(logs) + caplog.text
    assert "4111" not in everything


def test_database_errors_do_not_carry_bound_parameters(harness: Harness) -> None:
    with pytest.raises(Exception) as failed, harness.container.db.write() as conn:
        conn.execute(text("INSERT INTO no_such_table (v) VALUES (:v)"), {"v": "34600000801 secret"})
    assert "secret" not in str(failed.value)
    assert "hide_parameters" in str(failed.value)
    _ = notes


async def test_api_responses_say_nosniff(harness: Harness) -> None:
    for path in ("/api/v1/queue", "/api/v1/conversations/1", "/openapi.json"):
        response = await harness.client.get(path, headers=lead(harness))
        assert response.headers["x-content-type-options"] == "nosniff", path


# -- the console ------------------------------------------------------------------------------


async def test_console_conversation_urls_with_huge_ids_are_404_pages(console: Console) -> None:
    client = await signed_in(console, "sue@example.com", "supervisor")
    for huge in HUGE:
        page = await client.get(f"/console/conversations/{huge}")
        assert page.status_code == 404, (huge, page.text[:300])
        assert "text/html" in page.headers["content-type"]
        assert "is not an id" in page.text
        older = await client.get("/console/conversations/1", params={"before": huge})
        assert older.status_code == 422, (huge, older.status_code)
        assert "text/html" in older.headers["content-type"]
        assert "query.before" in older.text


async def test_console_forms_refuse_nul_and_change_nothing(console: Console) -> None:
    client = await signed_in(console, "sue@example.com", "supervisor")
    cid = await console.escalate()
    page = f"/console/conversations/{cid}"
    await post(client, f"{page}/take")
    for path, field in (
        (f"{page}/note", "body"),
        (f"{page}/reply", "text"),
        (f"{page}/transfer", "target"),
        (f"{page}/feedback", "verdict"),
    ):
        refused = await post(client, path, {field: "bad \x00 value"})
        assert refused.status_code == 422, (path, refused.text[:300])
        assert f"{field} has a NUL character" in refused.text
    assert console.count(notes) == 0

    transfer = await post(client, f"{page}/transfer", {"target": f"agent:{2**64}"})
    assert transfer.status_code == 422


async def test_the_user_form_shows_the_error_for_a_nul_name(console: Console) -> None:
    client = await signed_in(console, "root@example.com", "admin")
    people = console.count(users)
    form = await client.get("/console/admin/users/new")
    refused = await client.post(
        "/console/admin/users",
        data={
            "csrf_token": csrf_of(form),
            "email": "new@example.com",
            "name": "New \x00 Person",
            "role": "agent",
            "capacity": "3",
        },
    )
    assert refused.status_code == 422
    assert "name has a NUL character" in refused.text
    assert 'value="new@example.com"' in refused.text
    assert console.count(users) == people
