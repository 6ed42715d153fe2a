"""`/api/v1/tokens` (list, create with expiry, revoke; own tokens for everyone, everyone's
for admins) and `PATCH /api/v1/users/{id}` ending the person's credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.services import sessions
from tests.acceptance.desk import person
from tests.conftest import SECRET_KEY, Harness

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_people_manage_their_own_tokens(harness: Harness) -> None:
    client = harness.client
    ana_id, ana = person(harness, "ana@example.com")
    _, root = person(harness, "root@example.com", role="admin")
    created = await client.post(
        "/api/v1/tokens", json={"label": "script", "expires_in": "30d"}, headers=ana
    )
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["token"].startswith("rdk_")
    assert (new["user_id"], new["label"], new["state"]) == (ana_id, "script", "active")
    expires = datetime.fromisoformat(new["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert (await client.get("/api/v1/queue", headers=bearer(new["token"]))).status_code == 200

    mine = (await client.get("/api/v1/tokens", headers=ana)).json()["tokens"]
    assert {t["email"] for t in mine} == {"ana@example.com"}
    assert len(mine) == 2 and all("token" not in t for t in mine)
    everyone = (await client.get("/api/v1/tokens", headers=root)).json()["tokens"]
    assert {t["email"] for t in everyone} == {"ana@example.com", "root@example.com"}
    root_token = next(t for t in everyone if t["email"] == "root@example.com")

    refused = await client.get(f"/api/v1/tokens?user_id={root_token['user_id']}", headers=ana)
    assert refused.status_code == 403
    assert "may only manage its own tokens" in refused.json()["detail"]
    hidden = await client.delete(f"/api/v1/tokens/{root_token['id']}", headers=ana)
    assert hidden.status_code == 404
    for_root = await client.post(
        "/api/v1/tokens", json={"user_id": root_token["user_id"]}, headers=ana
    )
    assert for_root.status_code == 403
    assert (await client.get("/api/v1/queue", headers=root)).status_code == 200  # untouched

    revoked = await client.delete(f"/api/v1/tokens/{new['id']}", headers=ana)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert (await client.get("/api/v1/queue", headers=bearer(new["token"]))).status_code == 401
    again = await client.delete(f"/api/v1/tokens/{new['id']}", headers=ana)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_a_token_cannot_mint_one_that_outlives_it(harness: Harness) -> None:
    """A leaked short-lived token must not buy lasting access."""
    client = harness.client
    _, root = person(harness, "root@example.com", role="admin")
    short = await client.post("/api/v1/tokens", json={"expires_in": "1h"}, headers=root)
    short_expiry = datetime.fromisoformat(short.json()["expires_at"])
    for asked in ({}, {"expires_in": "30d"}):
        minted = await client.post(
            "/api/v1/tokens", json=asked, headers=bearer(short.json()["token"])
        )
        assert minted.status_code == 201, minted.text
        assert datetime.fromisoformat(minted.json()["expires_at"]) <= short_expiry
    shorter = await client.post(
        "/api/v1/tokens", json={"expires_in": "5m"}, headers=bearer(short.json()["token"])
    )
    assert datetime.fromisoformat(shorter.json()["expires_at"]) < short_expiry


async def test_admins_create_and_revoke_anyones_tokens(harness: Harness) -> None:
    client = harness.client
    ana_id, ana = person(harness, "ana@example.com")
    _, root = person(harness, "root@example.com", role="admin")
    created = await client.post("/api/v1/tokens", json={"user_id": ana_id}, headers=root)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "ana@example.com"
    assert created.json()["expires_at"] is None
    listed = (await client.get(f"/api/v1/tokens?user_id={ana_id}", headers=root)).json()
    assert len(listed["tokens"]) == 2
    ana_own = next(t for t in listed["tokens"] if t["id"] != created.json()["id"])
    assert (await client.delete(f"/api/v1/tokens/{ana_own['id']}", headers=root)).status_code == 200
    assert (await client.get("/api/v1/queue", headers=ana)).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/api/v1/tokens", {"expires_in": "3x"}, 422, "is not a duration like"),
        ("POST", "/api/v1/tokens", {"expires_in": "0h"}, 422, "is zero"),
        ("POST", "/api/v1/tokens", {"expires_in": "99999w"}, 422, "longer than 3650 days"),
        ("POST", "/api/v1/tokens", {"label": "x" * 201}, 422, "200 characters"),
        ("POST", "/api/v1/tokens", {"label": "tab\there"}, 422, "control characters"),
        ("POST", "/api/v1/tokens", {"user_id": 2**64}, 422, "less than or equal"),
        ("POST", "/api/v1/tokens", {"user_id": 999}, 404, "no user with id 999"),
        ("GET", f"/api/v1/tokens?user_id={2**64}", None, 422, "less than or equal"),
        ("DELETE", f"/api/v1/tokens/{2**64}", None, 404, "is not an id"),
        ("DELETE", "/api/v1/tokens/999", None, 404, "no token with id 999"),
    ],
)
async def test_bad_requests_say_what_to_fix_and_change_nothing(
    harness: Harness, method: str, path: str, body: object, status: int, message: str
) -> None:
    _, root = person(harness, "root@example.com", role="admin")
    response = await harness.client.request(method, path, json=body, headers=root)
    assert response.status_code == status, response.text
    assert message in response.text
    listed = (await harness.client.get("/api/v1/tokens", headers=root)).json()["tokens"]
    assert [t["state"] for t in listed] == ["active"]


async def test_the_token_routes_are_in_the_openapi_schema(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    assert set(schema["paths"]["/api/v1/tokens"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/tokens/{token_id}"]) == {"delete"}


def sign_in(harness: Harness, email: str) -> str:
    with harness.container.db.write() as conn:
        new = sessions.login(conn, email, PASSWORD, datetime.now(UTC), key=SECRET_KEY)
    assert new is not None
    return new.token


def signed_in(harness: Harness, cookie: str) -> bool:
    with harness.container.db.read() as conn:
        found = sessions.lookup(conn, cookie, datetime.now(UTC), key=SECRET_KEY)
    return isinstance(found, sessions.ConsoleSession)


async def test_a_new_password_through_the_api_ends_console_sessions(harness: Harness) -> None:
    ana_id, ana = person(harness, "ana@example.com", password=PASSWORD)
    _, root = person(harness, "root@example.com", role="admin")
    cookie = sign_in(harness, "ana@example.com")
    changed = await harness.client.patch(
        f"/api/v1/users/{ana_id}", json={"password": "another long secret"}, headers=root
    )
    assert changed.status_code == 200, changed.text
    assert not signed_in(harness, cookie)
    assert (await harness.client.get("/api/v1/queue", headers=ana)).status_code == 200


async def test_deactivation_through_the_api_ends_everything_for_good(harness: Harness) -> None:
    ana_id, ana = person(harness, "ana@example.com", password=PASSWORD)
    _, root = person(harness, "root@example.com", role="admin")
    cookie = sign_in(harness, "ana@example.com")
    for active in (False, True):
        patched = await harness.client.patch(
            f"/api/v1/users/{ana_id}", json={"active": active}, headers=root
        )
        assert patched.status_code == 200, patched.text
    assert not signed_in(harness, cookie)
    assert (await harness.client.get("/api/v1/queue", headers=ana)).status_code == 401
    listed = (await harness.client.get(f"/api/v1/tokens?user_id={ana_id}", headers=root)).json()
    assert [t["state"] for t in listed["tokens"]] == ["revoked"]
