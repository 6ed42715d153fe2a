"""Health, readiness, metrics, OpenAPI and what the logs may contain."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.conftest import Harness, text_webhook


async def test_health_and_readiness(harness: Harness) -> None:
    assert (await harness.client.get("/healthz")).json()["status"] == "ok"
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["brief"] == harness.container.brief.version


async def test_readiness_fails_when_the_database_is_unreachable(harness: Harness) -> None:
    from relaydesk.adapters.storage.db import Database

    real = harness.container.db
    harness.container.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        response = await harness.client.get("/readyz")
    finally:
        harness.container.db.dispose()
        harness.container.db = real
    assert response.status_code == 503


async def test_metrics_count_webhooks_messages_and_the_outbox(harness: Harness) -> None:
    await harness.post_webhook(text_webhook(body="hello"))
    await harness.post_webhook(text_webhook(body="hello"), secret="wrong")
    before = (await harness.client.get("/metrics")).text
    assert "relaydesk_outbox_depth 1.0" in before
    await harness.drain()
    text = (await harness.client.get("/metrics")).text
    assert 'relaydesk_webhook_requests_total{outcome="ok"} 1.0' in text
    assert 'relaydesk_webhook_requests_total{outcome="bad_signature"} 1.0' in text
    assert 'relaydesk_messages_total{direction="in",outcome="new"} 1.0' in text
    assert 'relaydesk_messages_total{direction="out",outcome="sent"} 1.0' in text
    assert "relaydesk_outbox_depth 0.0" in text
    assert "relaydesk_outbox_oldest_seconds" in text


async def test_openapi_documents_the_api(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()
    assert "/api/v1/conversations/{conversation_id}" in schema["paths"]
    assert "ConversationOut" in schema["components"]["schemas"]


async def test_logs_above_debug_carry_no_bodies_or_phone_numbers(harness: Harness) -> None:
    secret_text = "my card 4111 is blocked please"
    with capture_logs() as logs:
        await harness.post_webhook(text_webhook(body=secret_text, wa_id="34699887766"))
        await harness.post_webhook(text_webhook(body=secret_text, wa_id="34699887766"), secret="x")
        await harness.drain()
    visible = [entry for entry in logs if entry["log_level"] != "debug"]
    assert visible, "the flow logs something at info or above"
    rendered = repr(visible)
    assert secret_text not in rendered
    assert "34699887766" not in rendered
