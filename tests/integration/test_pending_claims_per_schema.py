"""PostgreSQL's advisory locks are database-wide, so the decider's per-customer lock is keyed
by schema: two deployments in two schemas of one database (staging beside production, or
parallel test workers) never skip each other's customers, while two deciders of the same
schema still exclude each other."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from relaydesk.adapters.storage import pending as pending_store
from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.app.http.main import create_app
from relaydesk.bootstrap import Container, build
from relaydesk.config import Settings
from tests.conftest import APP_SECRET, Harness, _postgres_schema_url, text_webhook


@pytest.fixture
def second_schema(harness: Harness, postgres_server: str) -> Iterator[str]:
    """The URL of another, empty schema in the same PostgreSQL database."""
    if harness.container.db.is_sqlite:
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers instead")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(postgres_server, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def acknowledged(container: Container, body: bytes) -> None:
    app = create_app(container, run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/webhooks/whatsapp",
                content=body,
                headers={
                    "X-Hub-Signature-256": sign(body, APP_SECRET),
                    "Content-Type": "application/json",
                },
            )
    assert response.status_code == 200, response.text


async def test_a_claim_in_one_schema_leaves_the_same_customer_id_free_in_another(
    harness: Harness, second_schema: str, make_settings: Callable[..., Settings]
) -> None:
    other = build(
        make_settings(database_url=second_schema, whatsapp_graph_url=harness.graph.url),
        base_url="http://testserver",
        migrate=True,
    )
    try:
        body = text_webhook(body="where is my order?", wa_id="34600000777")
        await harness.post_webhook(body, decide=False)
        await acknowledged(other, body)

        with harness.container.db.write() as here:
            mine = pending_store.claim(here, 10)
            assert [p.customer_id for p in mine] == [1]
            with harness.container.db.engine.connect() as rival, rival.begin():
                assert pending_store.claim(rival, 10) == []  # same schema: held
            with other.db.write() as there:
                theirs = pending_store.claim(there, 10)
                assert [p.customer_id for p in theirs] == [1]  # another schema: free
    finally:
        other.db.dispose()
