"""`relaydesk serve` chooses the sandbox only when it is safe, and otherwise refuses to start
before opening anything, naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from relaydesk.cli import cli

SECRETS = {
    "RELAYDESK_WHATSAPP_APP_SECRET": "real-app-secret-value",
    "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "real-verify-token",
    "RELAYDESK_SECRET_KEY": "a-long-random-secret-key-for-tests",
}


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """A `serve` that got as far as listening fails the test instead of blocking it."""
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: started.append(app))
    return started


def serve(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    database = tmp_path / "never.sqlite"
    result = CliRunner().invoke(
        cli,
        ["serve", "--port", "9"],
        env={"RELAYDESK_DATABASE_URL": f"sqlite:///{database}", **env},
        catch_exceptions=False,
    )
    assert not database.exists(), "refused before opening the database"
    return result.exit_code, result.output


def test_secrets_without_an_access_token_do_not_start_a_sandbox(tmp_path: Path) -> None:
    code, output = serve(tmp_path, SECRETS)
    assert code == 1
    assert "error: RELAYDESK_WHATSAPP_ACCESS_TOKEN must be set in production mode" in output
    assert "Sandbox:" not in output
    assert all(value not in output for value in SECRETS.values())


@pytest.mark.parametrize(
    "credential", ["RELAYDESK_WHATSAPP_APP_SECRET", "RELAYDESK_WHATSAPP_VERIFY_TOKEN"]
)
def test_an_explicit_sandbox_with_a_real_credential_does_not_start(
    tmp_path: Path, credential: str
) -> None:
    code, output = serve(tmp_path, {"RELAYDESK_SANDBOX": "true", credential: SECRETS[credential]})
    assert code == 1
    assert f"RELAYDESK_SANDBOX=true cannot be combined with {credential}" in output
    assert SECRETS[credential] not in output
