"""The first minute: `relaydesk serve` in sandbox mode creates a demo agent and a demo
supervisor once, prints their passwords once, and a restart prints none."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from relaydesk.adapters.storage.db import Database
from relaydesk.cli import cli
from relaydesk.services import accounts
from relaydesk.services.demo import DEMO_AGENT_EMAIL, DEMO_SUPERVISOR_EMAIL

_PRINTED = re.compile(r"^\s+(agent|supervisor)\s+(\S+@\S+)\s+password (\S+)$", re.MULTILINE)


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: None)


def serve(database: Path, **env: str) -> str:
    result = CliRunner().invoke(
        cli,
        ["serve", "--port", "9", "--no-worker"],
        env={"RELAYDESK_DATABASE_URL": f"sqlite:///{database}", **env},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_sandbox_prints_demo_passwords_once_and_they_sign_in(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite"
    first = serve(database)
    printed = {email: (role, password) for role, email, password in _PRINTED.findall(first)}
    assert set(printed) == {DEMO_AGENT_EMAIL, DEMO_SUPERVISOR_EMAIL}
    assert printed[DEMO_AGENT_EMAIL][0] == "agent"
    assert printed[DEMO_SUPERVISOR_EMAIL][0] == "supervisor"
    assert printed[DEMO_AGENT_EMAIL][1] != printed[DEMO_SUPERVISOR_EMAIL][1]

    again = serve(database)
    assert not _PRINTED.findall(again)
    assert all(password not in again for _, password in printed.values())
    assert f"Demo accounts: {DEMO_AGENT_EMAIL}, {DEMO_SUPERVISOR_EMAIL}" in again

    db = Database(f"sqlite:///{database}")
    try:
        with db.write() as conn:
            now = datetime.now(UTC)
            for email, (role, password) in printed.items():
                user = accounts.verify_password(conn, email, password, now)
                assert user is not None and user.role == role
            agent = accounts.find_user(conn, DEMO_AGENT_EMAIL)
            users = accounts.list_users(conn)
    finally:
        db.dispose()
    assert len(users) == 2, "a restart created nobody"
    # every queue of the example brief can be taken by the demo agent
    assert {"orders", "payments", "accounts"} <= set(agent.skills)
    assert {"en", "es"} <= set(agent.languages)


def test_production_mode_creates_no_demo_accounts(tmp_path: Path) -> None:
    database = tmp_path / "prod.sqlite"
    output = serve(
        database,
        RELAYDESK_WHATSAPP_APP_SECRET="real-app-secret-value",
        RELAYDESK_WHATSAPP_VERIFY_TOKEN="real-verify-token",
        RELAYDESK_WHATSAPP_ACCESS_TOKEN="real-access-token",
        RELAYDESK_SECRET_KEY="a-long-random-secret-key-for-tests",
        RELAYDESK_WHATSAPP_PHONE_NUMBER_ID="1122334455667",
    )
    assert "Demo" not in output
    db = Database(f"sqlite:///{database}")
    try:
        with db.read() as conn:
            assert accounts.list_users(conn) == []
    finally:
        db.dispose()


def test_serve_leaves_nothing_frozen_once_it_returns(tmp_path: Path) -> None:
    """`serve` freezes what start-up built out of the collector's way; when the server
    returns (here at once: `uvicorn.run` is replaced), nothing stays frozen, even if the
    app never ran its shutdown (a later test in the same process counts on it)."""
    import gc

    serve(tmp_path / "frozen.sqlite")
    assert gc.get_freeze_count() == 0
