"""The brief's `integrations` section: every bad value named with its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from relaydesk.brief.integrations import Integration
from relaydesk.brief.loader import BriefError, load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.services.integrations import IntegrationConfigError, credentials


def spec(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "zendesk",
        "base_url": "https://acme.zendesk.com",
        "secrets": {"email": "ZD_EMAIL", "api_token": "ZD_TOKEN"},
        **overrides,
    }


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Integration.model_validate(data)
    return str(caught.value)


def test_a_crm_takes_the_conversation_events_by_default_and_a_webhook_also_failures() -> None:
    parsed = Integration.model_validate(spec(attributes={"vip": "user_fields.vip"}))
    conversation = (
        "conversation.escalated",
        "conversation.assigned",
        "conversation.resolved",
        "csat.received",
    )
    assert parsed.event_types == conversation
    assert parsed.lookup_budget_ms == 300
    assert parsed.looks_up
    hook = Integration.model_validate(
        {"kind": "webhook", "base_url": "https://h.example/x", "secrets": {"secret": "S"}}
    )
    assert hook.event_types == (*conversation, "message.failed")
    assert not hook.looks_up
    chosen = Integration.model_validate(spec(events=["message.failed"]))
    assert chosen.event_types == ("message.failed",)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"base_url": "http://acme.zendesk.com"}, "is not an https:// URL"),
        ({"secrets": {"email": "ZD_EMAIL", "api_token": "abc123secret"}}, "never the secret"),
        ({"secrets": {"email": "ZD_EMAIL"}}, "missing: api_token"),
        ({"kind": "freshdesk"}, "'zendesk', 'hubspot', 'salesforce' or 'webhook'"),
        ({"events": ["ticket.opened"]}, "conversation.escalated"),
        (
            {"kind": "webhook", "secrets": {"secret": "S"}, "attributes": {"vip": "x"}},
            "no customers",
        ),
        ({"lookup_budget_ms": 0}, "greater than or equal to 10"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_refused_with_the_fix(overrides: dict[str, Any], expected: str) -> None:
    assert expected in error_of(spec(**overrides))


def test_a_secret_pasted_into_the_brief_is_refused_without_echoing_it(tmp_path: Path) -> None:
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8") + (
        "\nintegrations:\n  zd:\n    kind: zendesk\n    base_url: https://acme.zendesk.com\n"
        "    secrets: {email: ZD_EMAIL, api_token: hunter2-my-token}\n"
    )
    path = tmp_path / "brief.yaml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(BriefError) as caught:
        load_brief(path)
    assert "integrations.zd.secrets.api_token" in str(caught.value)
    assert "not an environment variable name" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_missing_variables_are_named_and_their_values_never_shown() -> None:
    parsed = Integration.model_validate(spec())
    with pytest.raises(IntegrationConfigError, match="ZD_TOKEN") as caught:
        credentials("zd", parsed, {"ZD_EMAIL": "bot@example.com"})
    assert "bot@example.com" not in str(caught.value)
    assert credentials("zd", parsed, {"ZD_EMAIL": "e", "ZD_TOKEN": "t"}) == {
        "email": "e",
        "api_token": "t",
    }


def test_the_example_briefs_commented_integrations_are_valid_once_uncommented(
    tmp_path: Path,
) -> None:
    """The example ships them off (the sandbox calls no CRM); uncommented, they load."""
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    assert load_brief(EXAMPLE_BRIEF).integrations == {}
    start = source.index("# integrations:")
    block = "\n".join(line.removeprefix("# ") for line in source[start:].splitlines())
    path = tmp_path / "brief.yaml"
    path.write_text(source[:start] + block + "\n", encoding="utf-8")
    loaded = load_brief(path).integrations
    assert sorted(loaded) == ["analytics", "zendesk"]
    assert loaded["zendesk"].attributes == {"vip": "user_fields.vip"}
