"""Managing people through the API: admins only, with the same checks as the CLI."""

from __future__ import annotations

from tests.acceptance.desk import escalated, last_event, lead, person
from tests.conftest import Harness


async def test_an_admin_creates_lists_and_updates_people(harness: Harness) -> None:
    _, admin = person(harness, "root@example.com", role="admin")
    created = await harness.client.post(
        "/api/v1/users",
        json={
            "email": "New@Example.com",
            "name": "Nia",
            "role": "agent",
            "password": "a long enough password",
            "skills": ["orders"],
            "languages": ["en"],
            "capacity": 4,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    nia = created.json()
    assert (nia["email"], nia["has_password"], nia["presence"]) == (
        "new@example.com",
        True,
        "offline",
    )
    assert "password" not in nia and "password_hash" not in nia

    listed = (await harness.client.get("/api/v1/users", headers=admin)).json()["users"]
    assert [u["email"] for u in listed] == ["new@example.com", "root@example.com"]

    changed = await harness.client.patch(
        f"/api/v1/users/{nia['id']}",
        json={"role": "supervisor", "skills": ["orders", "refunds"], "active": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["role"], body["skills"], body["active"], body["capacity"]) == (
        "supervisor",
        ["orders", "refunds"],
        False,
        4,
    )


async def test_user_refusals(harness: Harness) -> None:
    root_id, admin = person(harness, "root@example.com", role="admin")
    ana_id, _ = person(harness, "ana@example.com")
    duplicate = await harness.client.post(
        "/api/v1/users",
        json={"email": "ana@example.com", "name": "Ana", "role": "agent"},
        headers=admin,
    )
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.json()["detail"]
    bad_role = await harness.client.patch(
        f"/api/v1/users/{ana_id}", json={"role": "boss"}, headers=admin
    )
    assert bad_role.status_code == 422
    assert "role 'boss'" in bad_role.json()["detail"]
    missing = await harness.client.patch("/api/v1/users/999", json={"capacity": 1}, headers=admin)
    assert missing.status_code == 404
    last = await harness.client.patch(
        f"/api/v1/users/{root_id}", json={"active": False}, headers=admin
    )
    assert last.status_code == 409
    assert "last active admin" in last.json()["detail"]
    supervisor = await harness.client.patch(
        f"/api/v1/users/{ana_id}", json={"capacity": 9}, headers=lead(harness)
    )
    assert supervisor.status_code == 403
    listed = (await harness.client.get("/api/v1/users", headers=admin)).json()["users"]
    ana = next(u for u in listed if u["id"] == ana_id)
    assert (ana["role"], ana["capacity"]) == ("agent", 2)


async def test_a_deactivated_persons_token_stops_working(harness: Harness) -> None:
    _, admin = person(harness, "root@example.com", role="admin")
    ana_id, ana = person(harness, "ana@example.com")
    assert (await harness.client.get("/api/v1/queues", headers=ana)).status_code == 200
    await harness.client.patch(f"/api/v1/users/{ana_id}", json={"active": False}, headers=admin)
    assert (await harness.client.get("/api/v1/queues", headers=ana)).status_code == 401


async def test_deactivating_someone_puts_their_conversations_back_in_the_queue(
    harness: Harness,
) -> None:
    admin_id, admin = person(harness, "root@example.com", role="admin")
    ana_id, ana = person(harness, "ana@example.com")
    cid = await escalated(harness, "34600000701")
    await harness.client.post(f"/api/v1/conversations/{cid}/take", headers=ana)
    await harness.client.patch(f"/api/v1/users/{ana_id}", json={"active": False}, headers=admin)
    queue = (await harness.client.get("/api/v1/queue", headers=admin)).json()["conversations"]
    assert [(c["id"], c["status"], c["assignee"]) for c in queue] == [(cid, "queued", None)]
    event = last_event(harness, "transferred")
    assert (event.conversation_id, event.actor_id, event.detail["reason"]) == (
        cid,
        admin_id,
        "released",
    )
