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


def _cli_envvars() -> set[str]:
    import click

    from relaydesk.cli import cli

    found: set[str] = set()
    stack: list[click.Command] = [cli]
    while stack:
        command = stack.pop()
        for param in command.params:
            names = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            found.update(n for n in names if isinstance(n, str))
        if isinstance(command, click.Group):
            stack.extend(command.commands.values())
    return found


def test_every_variable_a_command_reads_is_a_known_setting() -> None:
    """A variable the CLI's help names (`show_envvar`) must not stop the program as an
    unknown setting: RELAYDESK_WORKER_METRICS_PORT once did."""
    envvars = _cli_envvars()
    assert {"RELAYDESK_WORKER_METRICS_PORT", "RELAYDESK_BRIEF_MESSAGE"} <= envvars
    for name in sorted(envvars):
        value = "9123" if name.endswith("_PORT") else "x" * 12
        settings = load_settings({name: value})
        assert settings.sandbox, name


@pytest.mark.parametrize(
    "given",
    [
        {"RELAYDESK_WHATSAPP_APP_SECRET": "secret"},
        {"RELAYDESK_WHATSAPP_VERIFY_TOKEN": "verify"},
        {"RELAYDESK_SECRET_KEY": "a-long-random-secret-key-for-tests"},
        {"RELAYDESK_WHATSAPP_ACCESS_TOKEN": ""},
    ],
    ids=["app-secret", "verify-token", "secret-key", "empty-access-token"],
)
def test_any_production_secret_means_production(given: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="must be set in production mode") as error:
        load_settings(given)
    for name in PRODUCTION:
        if not given.get(name):
            assert name in str(error.value)


def test_secrets_without_an_access_token_refuse_to_start_instead_of_a_sandbox() -> None:
    """The sandbox would sign unauthenticated messages with the real app secret."""
    environ = {k: v for k, v in PRODUCTION.items() if k != "RELAYDESK_WHATSAPP_ACCESS_TOKEN"}
    with pytest.raises(ConfigError) as error:
        load_settings(environ)
    message = str(error.value)
    assert message.startswith("RELAYDESK_WHATSAPP_ACCESS_TOKEN must be set in production mode")
    assert "secret'" not in message and "verify'" not in message


def test_the_sandbox_can_be_asked_for_explicitly() -> None:
    settings = load_settings(
        {"RELAYDESK_SANDBOX": "true", "RELAYDESK_SECRET_KEY": "a-long-random-key-for-the-demo"}
    )
    assert settings.sandbox
    assert settings.secret_key.get_secret_value() == "a-long-random-key-for-the-demo"


@pytest.mark.parametrize(
    "credential",
    [
        "RELAYDESK_WHATSAPP_APP_SECRET",
        "RELAYDESK_WHATSAPP_VERIFY_TOKEN",
        "RELAYDESK_WHATSAPP_ACCESS_TOKEN",
    ],
)
def test_an_explicit_sandbox_refuses_real_whatsapp_credentials(credential: str) -> None:
    refusal = f"RELAYDESK_SANDBOX=true cannot be combined with {credential}"
    with pytest.raises(ConfigError, match=refusal):
        load_settings({"RELAYDESK_SANDBOX": "true", credential: "real-value"})


def test_sandbox_false_refuses_to_fall_back_to_the_sandbox() -> None:
    with pytest.raises(ConfigError, match="RELAYDESK_WHATSAPP_APP_SECRET, "):
        load_settings({"RELAYDESK_SANDBOX": "false"})
    assert not load_settings(PRODUCTION | {"RELAYDESK_SANDBOX": "false"}).sandbox


def test_a_bad_sandbox_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"RELAYDESK_SANDBOX \(got 'maybe'\)"):
        load_settings({"RELAYDESK_SANDBOX": "maybe"})
