"""`relaydesk integrations check` against a local Zendesk and webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fakes.zendesk import ZendeskServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def servers() -> Iterator[tuple[ZendeskServer, WebhookReceiver]]:
    with ZendeskServer() as zendesk, WebhookReceiver(SECRET) as hooks:
        yield zendesk, hooks


def brief(tmp_path: Path, zendesk: ZendeskServer, hooks: WebhookReceiver) -> Path:
    path = tmp_path / "brief.yaml"
    path.write_text(
        EXAMPLE_BRIEF.read_text(encoding="utf-8")
        + f"""
integrations:
  zd:
    kind: zendesk
    base_url: {zendesk.url}
    secrets: {{email: CHECK_ZD_EMAIL, api_token: CHECK_ZD_TOKEN}}
  hook:
    kind: webhook
    base_url: {hooks.url}/hooks
    secrets: {{secret: CHECK_HOOK_SECRET}}
""",
        encoding="utf-8",
    )
    return path


def run(path: Path, **env: str) -> Result:
    environ = {"RELAYDESK_SANDBOX": "true", **env}
    return CliRunner().invoke(cli, ["integrations", "check", "--brief", str(path)], env=environ)


def test_everything_in_place_is_ok(
    servers: tuple[ZendeskServer, WebhookReceiver], tmp_path: Path
) -> None:
    zendesk, hooks = servers
    result = run(
        brief(tmp_path, zendesk, hooks),
        CHECK_ZD_EMAIL=zendesk.state.email,
        CHECK_ZD_TOKEN=zendesk.state.token,
        CHECK_HOOK_SECRET=SECRET,
    )
    assert result.exit_code == 0, result.output
    assert "zd (zendesk): ok" in result.output
    assert "hook (webhook): ok" in result.output
    assert [body["type"] for _, body in hooks.state.received] == ["relaydesk.ping"]


def test_what_is_missing_is_said_exactly_and_no_secret_is_shown(
    servers: tuple[ZendeskServer, WebhookReceiver], tmp_path: Path
) -> None:
    zendesk, hooks = servers
    path = brief(tmp_path, zendesk, hooks)
    wrong = run(path, CHECK_ZD_EMAIL=zendesk.state.email, CHECK_ZD_TOKEN="wrong-token-value")
    assert wrong.exit_code == 1
    assert "zd (zendesk): MISSING: zd: Zendesk rejected the email and API token" in wrong.output
    assert (
        "hook (webhook): MISSING: integration hook: set the environment variable(s) "
        "CHECK_HOOK_SECRET" in wrong.output
    )
    assert "wrong-token-value" not in wrong.output

    zendesk.state.role = "end-user"
    bad_secret = "whsec_x"
    limited = run(
        path,
        CHECK_ZD_EMAIL=zendesk.state.email,
        CHECK_ZD_TOKEN=zendesk.state.token,
        CHECK_HOOK_SECRET=bad_secret,
    )
    assert limited.exit_code == 1
    assert "the user is a end-user; tickets and user search need an agent or admin" in (
        limited.output
    )
    assert "the webhook secret is not base64" in limited.output
    assert bad_secret not in limited.output

    other = run(
        path,
        CHECK_ZD_EMAIL=zendesk.state.email,
        CHECK_ZD_TOKEN=zendesk.state.token,
        CHECK_HOOK_SECRET="whsec_" + "A" * 32,  # not the receiver's secret
    )
    assert "hook: the endpoint refused a signed ping (hook POST: HTTP 401 bad signature)" in (
        other.output
    )


def test_an_unreadable_brief_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text("integrations: 3\n", encoding="utf-8")
    result = run(path)
    assert result.exit_code == 2
    assert "is invalid" in result.output
