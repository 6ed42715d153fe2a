"""Schemathesis over the app's own `/openapi.json`, in process, on SQLite with a few seeded
conversations: valid and invalid requests to every documented operation, as an admin
(the only one, whom the API will neither deactivate nor demote), and never a 5xx.

`GET /api/v1/events` is left out: it is a server-sent event stream that stays open until
the client goes away, which schemathesis's in-process client cannot end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi

from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.bootstrap import build
from relaydesk.config import Settings
from relaydesk.services import accounts
from relaydesk.testing import GraphServer
from tests.conftest import APP_SECRET, SECRET_KEY, Clock, text_webhook

EXAMPLES = 10  #: per operation and generation mode; about 40 s for the whole schema here
EXCLUDED = ("/api/v1/events",)
CUSTOMERS = ("34600000951", "34600000952", "34600000953")


@pytest.fixture
def fuzzed_app(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> Iterator[tuple[Any, dict[str, str], Callable[[], None]]]:
    """The app with seeded conversations and people, an admin's headers, and a function
    that puts that admin back (active, admin) whatever the last request did."""
    from relaydesk.app.http.main import create_app

    container = build(
        make_settings(whatsapp_graph_url=graph.url), base_url="http://testserver", migrate=True
    )
    app = create_app(container, run_worker=False, clock=clock)
    now = datetime.now(UTC)
    with container.db.write() as conn:
        admin = accounts.create_user(
            conn, email="root@example.com", name="Root", role="admin", password=None, now=now
        )
        token = accounts.create_token(
            conn, email="root@example.com", label="fuzz", now=now, key=SECRET_KEY
        )
        for email, role in (("ana@example.com", "agent"), ("sue@example.com", "supervisor")):
            accounts.create_user(
                conn, email=email, name=email[:3], role=role, password=None, now=now
            )

    def restore() -> None:
        with container.db.write() as conn:
            accounts.update_user(conn, admin.id, role="admin", active=True, now=now)

    try:
        with asgi.get_client(app) as client:  # starts the app's lifespan, kept for the test
            for n, wa_id in enumerate(CUSTOMERS):
                body = text_webhook(
                    wa_id=wa_id, body="I want to talk to a real person" if n else "hello"
                )
                posted = client.post(
                    "/webhooks/whatsapp",
                    data=body,
                    headers={
                        "X-Hub-Signature-256": sign(body, APP_SECRET),
                        "Content-Type": "application/json",
                    },
                )
                assert posted.status_code == 200, posted.text
        yield app, {"Authorization": f"Bearer {token}"}, restore
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_operation_answers_a_5xx(
    fuzzed_app: tuple[Any, dict[str, str], Callable[[], None]],
) -> None:
    app, headers, restore = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=list(EXCLUDED))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                try:
                    response = case.call(headers=headers)
                    case.validate_response(response, checks=[not_a_server_error])
                finally:
                    restore()

            try:
                call()
            except Unsatisfiable:  # no invalid request exists for an operation without inputs
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])
    assert operations >= 20, "the schema lost its operations"
    assert failures == [], "\n\n".join(failures)
