"""Settings, read once from `RELAYDESK_*` environment variables and passed down."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

EXAMPLE_BRIEF = Path(__file__).parent / "brief" / "examples" / "shop.yaml"
DEFAULT_SECRET_KEY = "change-me-relaydesk-dev-only"  # noqa: S105 - the sentinel we refuse in production
SANDBOX_APP_SECRET = "relaydesk-sandbox-app-secret"  # noqa: S105 - sandbox mode only, never real
SANDBOX_VERIFY_TOKEN = "relaydesk-sandbox"  # noqa: S105
SANDBOX_ACCESS_TOKEN = "relaydesk-sandbox-token"  # noqa: S105
SANDBOX_PHONE_NUMBER_ID = "100000000000001"
#: Any of these in the environment means production, unless RELAYDESK_SANDBOX says otherwise.
PRODUCTION_SECRETS = (
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "whatsapp_access_token",
    "secret_key",
)


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and the fix."""


class Settings(BaseSettings):
    """Every setting Relaydesk reads. Documented in README.md ("Configuration")."""

    model_config = SettingsConfigDict(env_prefix="RELAYDESK_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///relaydesk.sqlite",
        description="SQLAlchemy URL. SQLite file in the working directory by default; "
        "postgresql+psycopg://user@host/db in production.",
    )
    brief: Path = Field(default=EXAMPLE_BRIEF, description="Path of the operating brief (YAML).")
    nlu_history: Path | None = Field(
        default=None,
        description="CSV (text,label) of past customer messages labelled with the brief's "
        "intents (or oos), added to the brief's examples when the classifier is trained.",
    )
    brief_author: str | None = Field(
        default=None,
        max_length=200,
        description="Who wrote the brief this process loads, stored with it when its content "
        "is new (`relaydesk brief log`).",
    )
    brief_message: str | None = Field(
        default=None,
        description="Why the brief changed, stored with it when its content is new.",
    )
    sandbox: bool = Field(
        default=False,
        description="Sandbox mode: fake Graph endpoint, fixed development secrets and an "
        "unauthenticated phone simulator. Unset: sandbox exactly when none of "
        "RELAYDESK_WHATSAPP_APP_SECRET, _VERIFY_TOKEN, _ACCESS_TOKEN and RELAYDESK_SECRET_KEY "
        "is set. true: sandbox, refused if any WhatsApp credential is set. false: production.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET_KEY),
        description="Key of the HMACs under which API tokens and console sessions are "
        "stored and that turn emails into sign-in throttle keys; changing it invalidates "
        "every token and session. Required outside sandbox mode.",
    )
    whatsapp_app_secret: SecretStr | None = Field(
        default=None, description="App Secret that signs webhooks (X-Hub-Signature-256)."
    )
    whatsapp_verify_token: SecretStr | None = Field(
        default=None, description="Token Meta echoes in the GET verification handshake."
    )
    whatsapp_access_token: SecretStr | None = Field(
        default=None, description="System-user token for the Graph API."
    )
    whatsapp_graph_url: str = Field(
        default="https://graph.facebook.com", description="Base URL of the Graph API."
    )
    whatsapp_api_version: str = Field(default="v23.0", description="Graph API version in URLs.")
    whatsapp_phone_number_id: str | None = Field(
        default=None,
        description="The sandbox's business phone number id (default: a fixed fake id); "
        "outside the sandbox every message names its own.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite durability: NORMAL survives process crashes, FULL also power loss.",
    )
    webhook_max_body_bytes: int = Field(
        default=3 * 1024 * 1024, gt=0, description="Webhook bodies larger than this get 413."
    )
    replay_max_upload_bytes: int = Field(
        default=20 * 1024 * 1024,
        gt=0,
        description="History files uploaded for a replay (console or API) larger than this "
        "are refused with 413.",
    )
    backlog_max_age_seconds: int = Field(
        default=3600,
        ge=0,
        description="Inbound messages older than this are stored but not answered as if live.",
    )
    raw_webhook_retention_days: int = Field(
        default=7, ge=0, description="Raw webhook bodies are deleted after this many days."
    )
    send_rate_per_number: float = Field(
        default=80.0, gt=0, description="Outbound messages per second per business number."
    )
    outbox_batch_size: int = Field(default=100, gt=0, description="Rows a worker claims at once.")
    outbox_max_attempts: int = Field(
        default=8, gt=0, description="Attempts before a retryable send is given up."
    )
    outbox_reconcile_seconds: float = Field(
        default=30.0,
        ge=0,
        description="After a send whose outcome is unknown (crash, timeout), wait this long "
        "for a status webhook proving it arrived before sending again.",
    )
    outbox_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a worker owns the rows it claimed; a worker that dies mid-send "
        "leaves them to others after this. Must exceed RELAYDESK_WHATSAPP_TIMEOUT_SECONDS.",
    )
    whatsapp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one Graph API request."
    )
    ingest_writers: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Threads committing webhooks on PostgreSQL (SQLite always uses one).",
    )
    whatsapp_connections: int = Field(
        default=16,
        gt=0,
        le=512,
        description="Concurrent Graph API requests per worker. Raise it for numbers upgraded "
        "to 1,000 messages/s on slow links; each connection costs CPU per request.",
    )
    embedded_worker: bool = Field(
        default=True,
        description="`serve` starts `relaydesk worker` (the decision stage, the outbox worker "
        "and the periodic jobs) as a child process, restarted if it exits; false: `serve` only "
        "receives and acknowledges.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    log_format: Literal["json", "console"] = Field(default="json")
    public_url: str | None = Field(
        default=None,
        description="URL the service is reached at (sandbox webhooks go there; the tracked "
        "booking links sent to customers, /r/<token>, point there).",
    )

    @classmethod
    def settings_customise_sources(  # type: ignore[override]
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: object,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what `load_settings` passes in: the environment is read once, at the edge."""
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _choose_mode(cls, data: Any) -> Any:
        """Unset RELAYDESK_SANDBOX: the sandbox only when no production secret is given
        (even an empty one counts, so a half-configured production fails closed)."""
        if isinstance(data, dict) and data.get("sandbox") in (None, ""):
            data = {**data, "sandbox": not any(name in data for name in PRODUCTION_SECRETS)}
        return data

    @field_validator("whatsapp_graph_url", "public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _lease_outlives_a_request(self) -> Settings:
        if self.outbox_lease_seconds <= self.whatsapp_timeout_seconds:
            raise ValueError(
                f"RELAYDESK_OUTBOX_LEASE_SECONDS ({self.outbox_lease_seconds}) must be larger "
                f"than RELAYDESK_WHATSAPP_TIMEOUT_SECONDS ({self.whatsapp_timeout_seconds}), "
                "or a slow send could be claimed and sent again by another worker"
            )
        return self

    @property
    def app_secret(self) -> str:
        if self.whatsapp_app_secret is not None:
            return self.whatsapp_app_secret.get_secret_value()
        return SANDBOX_APP_SECRET

    @property
    def verify_token(self) -> str:
        if self.whatsapp_verify_token is not None:
            return self.whatsapp_verify_token.get_secret_value()
        return SANDBOX_VERIFY_TOKEN

    @property
    def access_token(self) -> str:
        if self.whatsapp_access_token is not None:
            return self.whatsapp_access_token.get_secret_value()
        return SANDBOX_ACCESS_TOKEN

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, refusing unsafe production setups."""
    relevant = {k: v for k, v in environ.items() if k.startswith("RELAYDESK_")}
    try:
        settings = Settings.model_validate(_as_fields(relevant))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "RELAYDESK_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            value = relevant.get(name)
            shown = f" (got {value!r})" if value is not None and "SECRET" not in name else ""
            problems.append(f"{name}{shown}: {error['msg']}")
        raise ConfigError("Invalid settings: " + "; ".join(problems)) from None
    _check_production(settings)
    return settings


#: RELAYDESK_* variables read elsewhere (CLI options, the test suite), not by Settings.
OTHER_VARIABLES = frozenset(
    {
        "RELAYDESK_HOST",
        "RELAYDESK_PORT",
        "RELAYDESK_NEW_USER_PASSWORD",
        "RELAYDESK_EMBEDDINGS_MODEL",  # read by relaydesk.nlu (minilm, embeddings)
        "RELAYDESK_WORKER_METRICS_PORT",  # `relaydesk worker --metrics-port`
        "RELAYDESK_WORKER_METRICS_HOST",  # `relaydesk worker --metrics-host`
    }
)


def _as_fields(environ: Mapping[str, str]) -> dict[str, str]:
    names = set(Settings.model_fields)
    fields = {}
    unknown = []
    for key, value in environ.items():
        name = key.removeprefix("RELAYDESK_").lower()
        if name in names:
            fields[name] = value
        elif key not in OTHER_VARIABLES and not key.startswith("RELAYDESK_TEST_"):
            unknown.append(key)
    if unknown:
        known = [f"RELAYDESK_{n.upper()}" for n in names] + sorted(OTHER_VARIABLES)
        hints = []
        for key in sorted(unknown):
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"{key} (did you mean {close[0]}?)" if close else key)
        raise ConfigError(
            "Unknown setting(s): " + ", ".join(hints) + ". Fix the name or unset it; "
            "README.md lists every setting."
        )
    return fields


def _check_production(settings: Settings) -> None:
    credentials = (
        ("RELAYDESK_WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
        ("RELAYDESK_WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
        ("RELAYDESK_WHATSAPP_ACCESS_TOKEN", settings.whatsapp_access_token),
    )
    if settings.sandbox:
        given = [env for env, value in credentials if value is not None]
        if given:
            raise ConfigError(
                f"RELAYDESK_SANDBOX=true cannot be combined with {', '.join(given)}: the "
                "sandbox's phone simulator posts unauthenticated messages as webhooks signed "
                "with the app secret. Unset them to run the sandbox, or unset "
                "RELAYDESK_SANDBOX to run in production."
            )
        return
    missing = [env for env, value in credentials if value is None or not value.get_secret_value()]
    if settings.secret_key.get_secret_value() in ("", DEFAULT_SECRET_KEY):
        missing.append("RELAYDESK_SECRET_KEY")
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} must be set in production mode (a production secret is "
            "set, or RELAYDESK_SANDBOX=false). Copy the WhatsApp values from the Meta App "
            "Dashboard and set RELAYDESK_SECRET_KEY to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`; or, to run the "
            "sandbox, unset every RELAYDESK_WHATSAPP_* secret and RELAYDESK_SECRET_KEY."
        )
