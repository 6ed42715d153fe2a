"""Black-box tests of real `relaydesk serve` processes: signed webhooks over HTTP in, replies
out to a local Graph API, kill -9 under load, a database outage and startup refusals.

Each server test runs on SQLite and on PostgreSQL (the `database_url` fixture). Children write
their output to files (a full pipe would stall them) and are always killed in fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.testing import Failure, GraphServer, GraphState, ServerThread, free_port, graph_app
from tests.conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    status_webhook,
    text_webhook,
)

pytestmark = pytest.mark.slow

SECRET_KEY = "process-test-secret-key-that-is-long-enough"
VERSION = "v23.0"
SERVE = [sys.executable, "-m", "relaydesk", "serve", "--host", "127.0.0.1"]
BODY = "where is my order?"  # the bundled shop answers this with exactly one reply


# --- helpers ----------------------------------------------------------------------------------


def child_env(database_url: str, **settings: str | None) -> dict[str, str]:
    """The parent's environment without RELAYDESK_* or proxies, plus the given settings
    (None removes one). Nothing a child does may leave loopback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RELAYDESK_") and "proxy" not in k.lower()
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["RELAYDESK_DATABASE_URL"] = database_url
    env["RELAYDESK_LOG_LEVEL"] = "warning"
    for name, value in settings.items():
        key = f"RELAYDESK_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def production_env(database_url: str, graph_url: str, **settings: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": "process-verify-token",
        "secret_key": SECRET_KEY,
        "whatsapp_graph_url": graph_url,
        "whatsapp_api_version": VERSION,
        "outbox_reconcile_seconds": "1",
        # A dead worker's rows are taken over after the lease; short here to keep tests fast.
        "outbox_lease_seconds": "6",
        "whatsapp_timeout_seconds": "3",
    }
    base.update(settings)
    return child_env(database_url, **base)


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def await_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def signed(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(body, APP_SECRET), "Content-Type": "application/json"}


def replies_to(graph: GraphServer) -> Counter[str]:
    """Accepted replies per recipient wa_id."""
    return Counter(str(r.body.get("to")) for r in graph.state.accepted())


def unsettled_outbox(database_url: str) -> int:
    """Outbox rows still pending or sending (while any exist, more sends may come)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
                ).scalar_one()
            )
    finally:
        engine.dispose()


class Relaydesk:
    """One `relaydesk serve` child process on a loopback port."""

    def __init__(self, env: dict[str, str], workdir: Path, port: int | None = None) -> None:
        self.env = env
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.workdir / f"serve-{self.port}-{self.runs}.out"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / f"serve-{self.port}-{self.runs}.err"

    def start(self, *, ready: bool = True, timeout: float = 120) -> Relaydesk:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.runs += 1
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*SERVE, "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        if ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=2) as client:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"relaydesk exited with {self.proc.returncode}: {self.stderr()[-3000:]}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/readyz").status_code == 200 and self.deciding():
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"relaydesk not ready in {timeout} s: {self.stderr()}")
                time.sleep(0.1)

    def deciding(self) -> bool:
        """Whether the worker child (if this serve has one) has trained its classifier and
        runs; it shares serve's stdout."""
        if self.env.get("RELAYDESK_EMBEDDED_WORKER") == "false":
            return True
        return "Relaydesk worker running" in self.stdout()

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Relaydesk]]:
    """Make `Relaydesk` processes; every one is killed at the end, whatever happened."""
    made: list[Relaydesk] = []

    def make(env: dict[str, str], port: int | None = None) -> Relaydesk:
        server = Relaydesk(env, tmp_path, port)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.kill()


def db_upgrade(env: dict[str, str], workdir: Path) -> None:
    if env["RELAYDESK_DATABASE_URL"].startswith("sqlite"):
        return  # serve migrates a fresh SQLite file itself
    done = subprocess.run(
        [sys.executable, "-m", "relaydesk", "db", "upgrade"],
        env=env,
        cwd=workdir,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with GraphServer(access_token=ACCESS_TOKEN) as server:
        yield server


# --- 1. one reply, also for a webhook delivered three times at once ---------------------------


async def test_inbound_text_gets_exactly_one_reply_even_when_delivered_three_times_at_once(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    env = production_env(database_url, graph.url)
    db_upgrade(env, tmp_path)
    server = servers(env).start()
    single = text_webhook(wamid="wamid.ONE", body=BODY, wa_id="34611000001")
    triple = text_webhook(wamid="wamid.THREE", body=BODY, wa_id="34611000002")
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=10) as client:
        first = await client.post("/webhooks/whatsapp", content=single, headers=signed(single))
        assert first.status_code == 200, first.text
        at_once = await asyncio.gather(
            *(
                client.post("/webhooks/whatsapp", content=triple, headers=signed(triple))
                for _ in range(3)
            )
        )
        assert [r.status_code for r in at_once] == [200, 200, 200]

    await await_for(
        lambda: len(graph.state.accepted()) >= 2 and unsettled_outbox(database_url) == 0,
        timeout=20,
        what="both replies sent",
    )
    sent = graph.state.accepted()
    assert replies_to(graph) == {"34611000001": 1, "34611000002": 1}
    assert len(graph.state.received) == 2  # nothing else was even attempted
    for reply in sent:
        assert reply.version == VERSION
        assert reply.phone_number_id == PHONE_NUMBER_ID
        assert reply.authorization == f"Bearer {ACCESS_TOKEN}"
        assert reply.body["messaging_product"] == "whatsapp"
        assert reply.body["biz_opaque_callback_data"].startswith("rd:ob:")


# --- 2. Graph errors are retried, the reply still arrives once ------------------------------


async def test_graph_500_and_throttling_are_retried_and_the_reply_arrives_once(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    env = production_env(database_url, graph.url, outbox_reconcile_seconds="1")
    db_upgrade(env, tmp_path)
    server = servers(env).start()
    graph.fail(Failure(500), Failure(400, 130429, "Rate limit hit"))
    body = text_webhook(body=BODY, wa_id="34612000001")
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=10) as client:
        response = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
    assert response.status_code == 200

    # retry delays are full jitter: up to 1 s, then up to 2 s
    await await_for(
        lambda: len(graph.state.accepted()) == 1 and unsettled_outbox(database_url) == 0,
        timeout=30,
        what="the reply after two failures",
    )
    assert replies_to(graph) == {"34612000001": 1}
    assert len(graph.state.received) == 3  # 500, 130429, then the accepted one
    assert all(r.authorization == f"Bearer {ACCESS_TOKEN}" for r in graph.state.received)
    tags = {r.body["biz_opaque_callback_data"] for r in graph.state.received}
    assert len(tags) == 1  # the same outbox row each time


# --- 3. kill -9 under load ----------------------------------------------------------------


class _Latency:
    """ASGI wrapper: the Graph server has recorded (and accepted) a send but its answer takes
    `seconds` to come back, like Meta over the internet. `answering` counts sends the Graph
    server has handled whose answer has not reached the sender yet."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.answering = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def slow_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.answering += 1
                try:
                    await asyncio.sleep(self.seconds)
                    await send(message)
                finally:
                    self.answering -= 1
                return
            await send(message)

        await self.app(scope, receive, slow_send)


class SlowGraphServer(GraphServer):
    def __init__(self, latency: float) -> None:
        self.state = GraphState(access_token=ACCESS_TOKEN)
        self.latency = _Latency(graph_app(self.state), latency)
        ServerThread.__init__(self, self.latency)


@dataclass
class Delivery:
    wa_id: str
    body: bytes
    status: int | None = None  # the last HTTP answer, None: no answer (connection failed)
    attempts: list[str] = field(default_factory=list)


async def deliver(client: httpx.AsyncClient, delivery: Delivery) -> None:
    try:
        response = await client.post(
            "/webhooks/whatsapp", content=delivery.body, headers=signed(delivery.body)
        )
    except httpx.HTTPError as exc:
        delivery.status = None
        delivery.attempts.append(type(exc).__name__)
    else:
        delivery.status = response.status_code
        delivery.attempts.append(str(response.status_code))


async def meta_statuses(client: httpx.AsyncClient, graph: GraphServer, stop: asyncio.Event) -> int:
    """Act as Meta: for every send the Graph server accepted, POST a signed `sent` status
    echoing its biz_opaque_callback_data, retrying until it is acknowledged."""
    seen: set[str] = set()
    tasks: list[asyncio.Task[None]] = []

    async def post_until_ok(body: bytes) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post(
                    "/webhooks/whatsapp", content=body, headers=signed(body)
                )
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.2)

    while True:
        stopping = stop.is_set()
        for sent in graph.state.accepted():
            assert sent.wamid is not None
            if sent.wamid in seen:
                continue
            seen.add(sent.wamid)
            body = status_webhook(
                sent.wamid,
                "sent",
                wa_id=sent.body["to"],
                callback=sent.body.get("biz_opaque_callback_data"),
            )
            tasks.append(asyncio.create_task(post_until_ok(body)))
        if stopping:
            break
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    return len(seen)


def unrecorded_attempts(database_url: str) -> tuple[int, list[str]]:
    """Sends whose attempt was recorded but whose outcome was not (outcome still NULL)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    text("SELECT outbox_id FROM send_attempts WHERE outcome IS NULL")
                ).scalars()
            )
    finally:
        engine.dispose()
    return len(ids), [f"rd:ob:{i}" for i in ids]


async def test_kill_9_under_load_loses_nothing_and_doubles_nothing(
    database_url: str, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    total, rate = 300, 100.0  # webhooks, per second
    with SlowGraphServer(latency=0.15) as graph:
        env = production_env(database_url, graph.url, outbox_reconcile_seconds="15")
        db_upgrade(env, tmp_path)
        server = servers(env).start()
        deliveries = [
            Delivery(wa_id := f"3462{i:08d}", text_webhook(body=BODY, wa_id=wa_id))
            for i in range(total)
        ]
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        async with (
            httpx.AsyncClient(
                base_url=server.url, trust_env=False, timeout=15, limits=limits
            ) as client,
            httpx.AsyncClient(
                base_url=server.url, trust_env=False, timeout=15, limits=limits
            ) as meta,
        ):
            stop = asyncio.Event()
            statuses = asyncio.create_task(meta_statuses(meta, graph, stop))
            killed: dict[str, Any] = {}

            async def killer() -> None:
                # in the middle: half the webhooks are out and Graph answers are on their way
                while not (
                    sum(d.attempts != [] for d in deliveries) >= total // 2
                    and graph.latency.answering > 0
                ):
                    await asyncio.sleep(0.002)
                killed["graph_in_flight"] = graph.latency.answering
                server.kill()

            kill_task = asyncio.create_task(killer())
            posts = []
            for delivery in deliveries:
                posts.append(asyncio.create_task(deliver(client, delivery)))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*posts)
            await asyncio.wait_for(kill_task, timeout=30)

            acked_first = {d.wa_id for d in deliveries if d.status == 200}
            unacked = [d for d in deliveries if d.status != 200]
            unrecorded, tags = unrecorded_attempts(database_url)
            reached_graph = {
                str(r.body.get("biz_opaque_callback_data")) for r in graph.state.received
            }
            ambiguous = sum(tag in reached_graph for tag in tags)

            server.start()  # same port, same database
            for _ in range(50):  # as Meta retries every delivery without a 200
                pending = [d for d in deliveries if d.status != 200]
                if not pending:
                    break
                await asyncio.gather(*(deliver(client, d) for d in pending))
                await asyncio.sleep(0.2)
            assert all(d.status == 200 for d in deliveries), Counter(
                d.attempts[-1] for d in deliveries
            )

            # in-flight rows wait out their lease (6 s here), then reconcile or resend
            everyone = {d.wa_id for d in deliveries}
            await await_for(
                lambda: set(replies_to(graph)) >= everyone and unsettled_outbox(database_url) == 0,
                timeout=90,
                what="a reply to every acknowledged message",
                interval=0.25,
            )
            stop.set()
            status_posts = await asyncio.wait_for(statuses, timeout=30)

        counts = replies_to(graph)
        doubled = {wa_id: n for wa_id, n in counts.items() if n > 1}
        report = (
            f"{total} webhooks; {len(acked_first)} acknowledged before/at the kill, "
            f"{len(unacked)} re-delivered after restart; at the kill {killed['graph_in_flight']} "
            f"Graph answers were in flight, {unrecorded} attempts had no recorded outcome "
            f"({ambiguous} of them had reached the Graph server); {status_posts} status "
            f"webhooks posted; doubled: {len(doubled)}"
        )
        print(report)
        assert acked_first, report
        assert unacked, report
        assert ambiguous, report  # the kill did leave sends whose outcome was unknown
        assert set(counts) == everyone, report
        assert not doubled, report


# --- 4. a database outage (PostgreSQL) ----------------------------------------------------


class TcpGate:
    """A loopback TCP proxy to PostgreSQL that can be cut: `close()` drops every connection
    and answers new ones by hanging up at once (the database is gone); `open()` restores."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_open = True
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.running = True

    def __enter__(self) -> TcpGate:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.close()
        self.listener.close()
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while self.running:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.is_open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self.lock:
                    self.sockets.discard(sock)

    def close(self) -> None:
        self.is_open = False
        with self.lock:
            sockets = list(self.sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def open(self) -> None:
        self.is_open = True


async def test_database_outage_answers_503_and_the_redelivery_is_answered_once(
    database_url: str, graph: GraphServer, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server to lose; the outage is a PostgreSQL case")
    url = make_url(database_url)
    with TcpGate((url.host or "127.0.0.1", url.port or 5432)) as gate:
        gated = url.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)
        env = production_env(gated, graph.url)
        db_upgrade(env, tmp_path)
        server = servers(env).start()
        body = text_webhook(body=BODY, wa_id="34614000001")
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=15) as client:
            gate.close()
            down = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
            assert down.status_code == 503, down.text
            assert (await client.get("/readyz")).status_code == 503
            again = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
            assert again.status_code == 503  # Meta keeps retrying while it is down
            assert graph.state.received == []

            gate.open()
            up = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
            assert up.status_code == 200, up.text
            dup = await client.post("/webhooks/whatsapp", content=body, headers=signed(body))
            assert dup.status_code == 200  # a late duplicate retry changes nothing

        await await_for(
            lambda: len(graph.state.accepted()) >= 1 and unsettled_outbox(database_url) == 0,
            timeout=20,
            what="the reply after the outage",
        )
        assert replies_to(graph) == {"34614000001": 1}
        assert server.proc is not None and server.proc.poll() is None  # it rode it out


# --- 5. startup refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"whatsapp_app_secret": None}, "RELAYDESK_WHATSAPP_APP_SECRET"),
        ({"secret_key": None}, "RELAYDESK_SECRET_KEY"),
        ({"secret_key": "change-me-relaydesk-dev-only"}, "RELAYDESK_SECRET_KEY"),
    ],
    ids=["no-app-secret", "no-secret-key", "default-secret-key"],
)
def test_production_mode_refuses_to_start_naming_the_missing_variable(
    tmp_path: Path, settings: dict[str, str | None], named: str
) -> None:
    # refused while reading settings, before any database is opened: one database is enough
    database = tmp_path / "never.sqlite"
    env = production_env(f"sqlite:///{database}", "http://127.0.0.1:9", **settings)
    port = free_port()
    done = subprocess.run(
        [*SERVE, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    stderr = done.stderr.decode()
    assert done.returncode != 0
    assert named in stderr, stderr
    assert "Traceback" not in stderr
    assert SECRET_KEY not in stderr and APP_SECRET not in stderr
    assert not database.exists()


# --- 6. sandbox mode prints where it is --------------------------------------------------


def test_serve_without_credentials_prints_the_sandbox_api_and_webhook_urls(
    database_url: str, servers: Callable[..., Relaydesk], tmp_path: Path
) -> None:
    env = child_env(database_url)
    db_upgrade(env, tmp_path)
    server = servers(env).start()  # the URLs are there while it runs, not only at exit
    out = server.stdout()
    assert f"{server.url}/sandbox" in out, out
    assert f"{server.url}/api/v1" in out, out
    assert f"{server.url}/webhooks/whatsapp" in out, out
    with httpx.Client(trust_env=False, timeout=10) as client:
        assert client.get(f"{server.url}/sandbox").status_code == 200
    server.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15, not a kill (-9)
    assert server.proc is not None
    assert server.proc.returncode in (0, -signal.SIGTERM), server.stderr()
