"""GET /webhooks/whatsapp: Meta's verification handshake, whatever the token holds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from relaydesk.app.http.routes.webhooks import router

TOKEN = "test-verify-token"


def client(verify_token: str = TOKEN) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.state.container = SimpleNamespace(settings=SimpleNamespace(verify_token=verify_token))
    return TestClient(app, raise_server_exceptions=False)


def handshake(test_client: TestClient, token: str | None, **extra: str) -> tuple[int, str]:
    params = {"hub.mode": "subscribe", "hub.challenge": "12345", **extra}
    if token is not None:
        params["hub.verify_token"] = token
    response = test_client.get("/webhooks/whatsapp", params=params)
    return response.status_code, response.text


def test_the_right_token_gets_the_challenge_back() -> None:
    assert handshake(client(), TOKEN) == (200, "12345")


@pytest.mark.parametrize(
    "token",
    ["wrong", "jeton-vérifié", "\U0001f600", "тест-verify-token", TOKEN + "\u00e9", "", "x" * 5000],
)
def test_any_other_token_is_refused_with_403_and_a_warning_without_the_token(token: str) -> None:
    with structlog.testing.capture_logs() as logs:
        code, text = handshake(client(), token)
    assert code == 403
    assert "hub.verify_token" in text
    assert "RELAYDESK_WHATSAPP_VERIFY_TOKEN" in text
    (event,) = [e for e in logs if e["event"] == "webhook_verification_refused"]
    assert event["log_level"] == "warning"
    if token:
        assert all(token not in str(value) for value in event.values())


def test_a_non_ascii_configured_token_is_matched_by_its_utf8_bytes() -> None:
    token = "jeton-vérifié-\U0001f600"
    assert handshake(client(token), token) == (200, "12345")
    assert handshake(client(token), "jeton-verifie-\U0001f600")[0] == 403


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"hub.mode": "unsubscribe"}, "hub.mode"),
        ({"hub.challenge": ""}, "hub.challenge"),
    ],
)
def test_a_wrong_mode_or_missing_challenge_is_refused(params: dict[str, str], reason: str) -> None:
    code, text = handshake(client(), TOKEN, **params)
    assert code == 403
    assert reason in text


def test_a_missing_token_is_refused() -> None:
    code, text = handshake(client(), None)
    assert code == 403
    assert "hub.verify_token" in text
