"""Shared fixtures: databases (SQLite and PostgreSQL), settings and the whole app."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.bootstrap import Container, build
from relaydesk.config import Settings, load_settings
from relaydesk.testing import GraphServer

POSTGRES_URL = os.environ.get(
    "RELAYDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "whatsapp-samples"
APP_SECRET = "test-app-secret"
#: RELAYDESK_SECRET_KEY of the tests' settings: the key of stored token and session hashes.
SECRET_KEY = "test-secret-key-that-is-long-enough"


def sample(name: str) -> bytes:
    """A webhook body from ../shared/whatsapp-samples, or a skip saying where it should be."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"WhatsApp samples not found at {SAMPLES}; they live in ../shared/")
    return path.read_bytes()


ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "1122334455667"


def _postgres_schema_url(server: str, schema: str) -> str:
    url = make_url(server)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


class _PostgresRun:
    """What this run did about PostgreSQL, for the summary's one loud line."""

    note: str | None = None
    started: str | None = None
    skipped = 0


_POSTGRES_RUN = _PostgresRun()
_POSTGRES_SKIP = "PostgreSQL half skipped: "


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The PostgreSQL the storage tests use: RELAYDESK_TEST_POSTGRES_URL when it answers;
    else (not in CI) a throwaway cluster from this machine's initdb/pg_ctl; else a skip of
    the PostgreSQL half, said loudly at the end. With CI=true it must answer."""
    global POSTGRES_URL
    from tests import pg_cluster

    problem = pg_cluster.unreachable(POSTGRES_URL)
    if problem is None:
        yield POSTGRES_URL
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem}); CI=true requires it: "
            "start it or set RELAYDESK_TEST_POSTGRES_URL",
            pytrace=False,
        )
    bin_dir = pg_cluster.binaries()
    if bin_dir is None:
        _POSTGRES_RUN.note = (
            f"no PostgreSQL at {POSTGRES_URL} ({problem}) and no initdb/pg_ctl on this machine"
        )
        pytest.skip(_POSTGRES_SKIP + _POSTGRES_RUN.note)
    cluster = None
    try:
        cluster = pg_cluster.Cluster(bin_dir)
        POSTGRES_URL = cluster.start()
    except Exception as exc:
        _POSTGRES_RUN.note = (
            f"no PostgreSQL at {POSTGRES_URL} ({problem}) and a throwaway cluster from "
            f"{bin_dir} did not start ({exc})"
        )
        pytest.skip(_POSTGRES_SKIP + _POSTGRES_RUN.note)
    _POSTGRES_RUN.started = f"PostgreSQL: a throwaway cluster from {bin_dir} at {POSTGRES_URL}"
    try:
        yield POSTGRES_URL
    finally:
        cluster.stop()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the PostgreSQL half's skips from the reports, which reach the process that
    prints the summary under pytest-xdist too (its workers' own counters do not)."""
    if report.skipped and report.when == "setup":
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if _POSTGRES_SKIP in reason:
            _POSTGRES_RUN.skipped += 1
            _POSTGRES_RUN.note = reason.split(_POSTGRES_SKIP, 1)[1]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _POSTGRES_RUN.started:
        terminalreporter.write_line(_POSTGRES_RUN.started + " (removed after the run)")
    if _POSTGRES_RUN.note:
        terminalreporter.write_line(
            f"!!! POSTGRESQL SKIPPED: {_POSTGRES_RUN.skipped} PostgreSQL test(s) did not run, "
            f"only the SQLite half did: {_POSTGRES_RUN.note}. Install PostgreSQL or set "
            "RELAYDESK_TEST_POSTGRES_URL (CI=true requires it) !!!",
            red=True,
            bold=True,
        )


@pytest.fixture(autouse=True, scope="session")
def loggers_never_cached() -> Iterator[None]:
    """`serve` and `worker` cache each logger's processors on its first use
    (`configure_logging(cache=True)`). A test that runs them in this process would leave
    every logger used after it cached, and `structlog.testing.capture_logs` in a later
    test would no longer see those loggers' events: in tests, nothing is cached."""
    import structlog

    configure = structlog.configure

    def uncached(*args: Any, **kwargs: Any) -> None:
        configure(*args, **{**kwargs, "cache_logger_on_first_use": False})

    structlog.configure = uncached
    try:
        yield
    finally:
        structlog.configure = configure


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relaydesk.sqlite'}"
        return
    server = request.getfixturevalue("postgres_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # CI must run PostgreSQL; say so loudly instead of skipping
        pytest.fail(
            f"PostgreSQL at {server} is unreachable ({exc}); start it or set "
            "RELAYDESK_TEST_POSTGRES_URL",
            pytrace=False,
        )
    try:
        yield _postgres_schema_url(server, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: str) -> Settings:
        environ = {
            "RELAYDESK_DATABASE_URL": database_url,
            "RELAYDESK_WHATSAPP_APP_SECRET": APP_SECRET,
            "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "test-verify-token",
            "RELAYDESK_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "RELAYDESK_SECRET_KEY": SECRET_KEY,
            "RELAYDESK_OUTBOX_RECONCILE_SECONDS": "0",
        }
        environ.update({f"RELAYDESK_{k.upper()}": v for k, v in overrides.items()})
        return load_settings(environ)

    return make


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with GraphServer(access_token=ACCESS_TOKEN) as server:
        yield server


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


class Harness:
    """The whole app over ASGI, the outbox worked by hand, a real local Graph server."""

    def __init__(self, container: Container, client: httpx.AsyncClient, graph: GraphServer):
        self.container = container
        self.client = client
        self.graph = graph

    async def post_webhook(
        self, body: bytes, *, secret: str = APP_SECRET, decide: bool = True
    ) -> httpx.Response:
        """POST a signed webhook; then (with `decide`) run the decision stage until every
        acknowledged message is decided, as the app's own decision thread would."""
        response = await self.client.post(
            "/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": sign(body, secret), "Content-Type": "application/json"},
        )
        if decide and response.status_code == 200:
            await self.decide()
        return response

    async def decide(self) -> int:
        """Decide every pending message now; how many were decided."""
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.container.decisions.run_until_idle)

    @functools.cached_property
    def token(self) -> str:
        """A bearer token of a supervisor, created on first use."""
        from relaydesk.services import accounts

        now = datetime.now(UTC)
        with self.container.db.write() as conn:
            accounts.create_user(
                conn,
                email="lead@example.com",
                name="Lead",
                role="supervisor",
                password=None,
                now=now,
            )
            return accounts.create_token(
                conn, email="lead@example.com", label="tests", now=now, key=SECRET_KEY
            )

    def set_attributes(self, wa_id: str, attributes: dict[str, str]) -> None:
        """Give a customer CRM attributes (creating the customer if new)."""
        from relaydesk.adapters.storage import repository as repo
        from relaydesk.domain.channel import Sender

        now = datetime.now(UTC)
        with self.container.db.write() as conn:
            customer_id = repo.upsert_customer(conn, Sender(wa_id=wa_id), now)
            repo.set_customer_attributes(conn, customer_id, attributes, now)

    async def drain(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            if not await self.container.worker.run_once():
                return


@pytest.fixture
async def harness(
    make_settings: Callable[..., Settings], graph: GraphServer, clock: Clock
) -> AsyncIterator[Harness]:
    from relaydesk.app.http.main import create_app

    settings = make_settings(whatsapp_graph_url=graph.url)
    container = build(settings, base_url="http://testserver", migrate=True)
    container.worker._clock = clock  # the worker reads the same hand-moved clock
    app = create_app(container, run_worker=False, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(container, client, graph)


def webhook_envelope(value: dict[str, Any], *, phone_number_id: str = PHONE_NUMBER_ID) -> bytes:
    """A signed-ready webhook body: one entry, one `messages` change holding `value`
    (its `messages`, `statuses`, `contacts`) under the business number's metadata."""
    import json

    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001234",
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


def message_webhook(
    message: dict[str, Any],
    *,
    wa_id: str = "34600000001",
    name: str = "Ana",
    phone_number_id: str = PHONE_NUMBER_ID,
) -> bytes:
    """One customer message (`message` without `from`, which is `wa_id`) with its contact."""
    return webhook_envelope(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, **message}],
        },
        phone_number_id=phone_number_id,
    )


def text_webhook(
    *,
    wamid: str | None = None,
    body: str = "hello",
    wa_id: str = "34600000001",
    name: str = "Ana",
    timestamp: datetime | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> bytes:
    ts = int((timestamp or datetime.now(UTC)).timestamp())
    return message_webhook(
        {
            "id": wamid or f"wamid.{uuid.uuid4().hex}",
            "timestamp": str(ts),
            "type": "text",
            "text": {"body": body},
        },
        wa_id=wa_id,
        name=name,
        phone_number_id=phone_number_id,
    )


def status_webhook(
    wamid: str,
    status: str,
    *,
    wa_id: str = "34600000001",
    callback: str | None = None,
    error_code: int | None = None,
) -> bytes:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(datetime.now(UTC).timestamp())),
        "recipient_id": wa_id,
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    if error_code:
        item["errors"] = [
            {
                "code": error_code,
                "title": "failed",
                "message": "failed",
                "error_data": {"details": "failed"},
            }
        ]
    return webhook_envelope({"statuses": [item]})
