"""Settings from the environment, and the refusals that keep production safe."""

from __future__ import annotations

import pytest

from relaydesk.config import ConfigError, load_settings

PRODUCTION = {
    "RELAYDESK_WHATSAPP_ACCESS_TOKEN": "token",
    "RELAYDESK_WHATSAPP_APP_SECRET": "secret",
    "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "verify",
    "RELAYDESK_SECRET_KEY": "a-long-random-secret-key-for-tests",
}


def test_defaults_are_a_sandbox_on_sqlite() -> None:
    settings = load_settings({})
    assert settings.sandbox
    assert settings.database_url.startswith("sqlite:///")
    assert settings.brief.name == "shop.yaml"
    assert settings.send_rate_per_number == 80


def test_only_the_mapping_passed_in_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYDESK_SEND_RATE_PER_NUMBER", "5")
    assert load_settings({}).send_rate_per_number == 80


def test_production_settings_load() -> None:
    settings = load_settings(PRODUCTION)
    assert not settings.sandbox
    assert settings.app_secret == "secret"
    assert "a-long-random-secret-key-for-tests" not in repr(settings)
    assert "verify'" not in repr(settings)


@pytest.mark.parametrize(
    "missing", ["RELAYDESK_WHATSAPP_APP_SECRET", "RELAYDESK_WHATSAPP_VERIFY_TOKEN"]
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(environ)


def test_production_refuses_the_default_secret_key() -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != "RELAYDESK_SECRET_KEY"}
    with pytest.raises(ConfigError, match="RELAYDESK_SECRET_KEY"):
        load_settings(environ)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RELAYDESK_SEND_RATE_PER_NUMBER", "fast", "RELAYDESK_SEND_RATE_PER_NUMBER .got 'fast'"),
        ("RELAYDESK_LOG_LEVEL", "loud", "RELAYDESK_LOG_LEVEL"),
        ("RELAYDESK_WEBHOOK_MAX_BODY_BYTES", "0", "greater than 0"),
        ("RELAYDESK_DATABSE_URL", "x", "did you mean RELAYDESK_DATABASE_URL"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({name: value})


def test_secrets_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"RELAYDESK_SECRET_KEY": ""} | {"RELAYDESK_WHATSAPP_ACCESS_TOKEN": "t"})
    assert "t'" not in str(error.value)


def test_variables_read_outside_settings_are_not_unknown() -> None:
    """The NLU model directory and the CLI's variables are read elsewhere, not refused."""
    settings = load_settings(
        {"RELAYDESK_EMBEDDINGS_MODEL": "/models/minilm", "RELAYDESK_NEW_USER_PASSWORD": "x" * 12}
    )
    assert settings.sandbox
