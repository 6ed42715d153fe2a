"""The ASGI application: webhooks, API, operations, the agent console and (without
credentials) the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import structlog
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from relaydesk import __version__
from relaydesk.app.console import install_console
from relaydesk.app.console._web import console_error_page
from relaydesk.app.http.errors import ErrorGuard, install_error_handling
from relaydesk.app.http.ingest import BatchIngestor
from relaydesk.app.http.receiver import WebhookReceiver
from relaydesk.app.http.routes import (
    api,
    drafts,
    events,
    governance,
    integrations,
    links,
    metrics,
    ops,
    reads,
    replays,
    review,
    rollout,
    tokens,
    webhooks,
)
from relaydesk.app.http.uploads import UploadLimit
from relaydesk.app.runtime import settle_gc
from relaydesk.app.worker_metrics import WorkerMetrics
from relaydesk.bootstrap import Container, sandbox_phone_number_id
from relaydesk.sandbox.router import build_sandbox
from relaydesk.services import insights
from relaydesk.services.intake import IntakeWriter
from relaydesk.services.runner import Loop

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


#: How long shutdown waits for the start's warming before it goes on without it.
WARMING_STOP_SECONDS = 10.0


async def _warm(container: Container, now: datetime, freeze_gc: bool) -> None:
    """`insights.warm` in a thread; a failure (storage down at start) is logged, and the
    pages then read their periods whole as without it."""
    began = time.perf_counter()
    try:
        held = await anyio.to_thread.run_sync(
            insights.warm, container.db, container.brief, container.insights_cache, now
        )
    except Exception as exc:
        log.warning("insights_cache_warm_failed", error=type(exc).__name__)
        return
    log.info(
        "insights_cache_warmed",
        conversations=held,
        seconds=round(time.perf_counter() - began, 2),
    )
    if freeze_gc:
        settle_gc()


async def _stop_warming(warming: asyncio.Future[None]) -> None:
    """Wait for the warming at shutdown, at most `WARMING_STOP_SECONDS` (a hung database
    connection must not hold the shutdown up); its thread then ends on its own."""
    try:
        await asyncio.wait_for(asyncio.shield(warming), WARMING_STOP_SECONDS)
    except TimeoutError:
        log.warning("insights_cache_warm_abandoned", seconds=WARMING_STOP_SECONDS)


def create_app(
    container: Container,
    *,
    run_worker: bool = False,
    alongside: Sequence[Loop] = (),
    clock: Callable[[], datetime] = utc_now,
    worker_metrics: WorkerMetrics | None = None,
    warm_insights: bool = False,
    freeze_gc: bool = False,
    intake: IntakeWriter | None = None,
) -> FastAPI:
    """Build the app around a container. `run_worker` runs the worker's runner (deciding,
    sending, the periodic jobs) inside this process's event loop, for tests that drive one
    process; `relaydesk serve` never does: it passes its worker child process's supervisor
    in `alongside`, loops that run from start-up until shutdown, and `worker_metrics`, which
    reads the child's metrics into this process's `/metrics`. `warm_insights` (serve's)
    reads the console's default Insights period into the process's summary cache in the
    background at start (`insights.warm`). `freeze_gc` (serve's) then freezes the warmed
    summaries out of the garbage collector's full collections (`settle_gc`) and
    unfreezes everything at shutdown; tests leave it off. With `intake` (serve's, on a
    SQLite file) a webhook is acknowledged once it is committed to the intake file, and the
    worker moves it into the database (`services.intake`); without, once it is committed to
    the database itself."""
    settings = container.settings
    sandbox = None
    if settings.sandbox:
        sandbox = build_sandbox(
            app_secret=settings.app_secret,
            access_token=settings.access_token,
            phone_number_id=sandbox_phone_number_id(settings),
            display_phone_number="15550001234",
            waba_id="100000000000000",
            webhook_url=f"{container.base_url}/webhooks/whatsapp",
        )

    ingestor: BatchIngestor[Any]
    if intake is not None:
        ingestor = BatchIngestor(intake.commit)
    else:
        ingestor = BatchIngestor(
            container.inbound.ingest_batch,
            writers=1 if container.db.is_sqlite else settings.ingest_writers,
        )
    if run_worker:  # the decision stage joins the runner; without it no model is loaded
        container.decisions  # noqa: B018 - building it trains the classifier now

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ingestor.start()
        stop = asyncio.Event()
        loops = [
            *alongside,
            *([container.runner.run] if run_worker else []),
            *([intake.run_purge] if intake is not None else []),
        ]
        tasks = [asyncio.ensure_future(loop(stop)) for loop in loops]
        warming = (
            asyncio.ensure_future(_warm(container, clock(), freeze_gc)) if warm_insights else None
        )
        log.info(
            "relaydesk_started",
            version=__version__,
            sandbox=settings.sandbox,
            worker=run_worker,
            brief=container.brief.version,
            database=container.db.engine.dialect.name,
        )
        try:
            yield
        finally:
            stop.set()
            await container.hub.stop()
            for task in tasks:
                await task
            if warming is not None:  # it holds a connection: let it finish first
                await _stop_warming(warming)
            if freeze_gc:
                gc.unfreeze()
            ingestor.stop()
            if intake is not None:
                intake.close()
            if sandbox is not None:
                await sandbox.aclose()
            await container.graph.aclose()
            if worker_metrics is not None:
                worker_metrics.close()
            container.db.dispose()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files in the package,
    # so the API's pages work without the network.
    app = FastAPIOffline(
        static_url="/docs/static",
        title="Relaydesk",
        version=__version__,
        description="Customer support on WhatsApp: webhooks, operator API and sandbox.",
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry checks its providers on every request; Relaydesk
        # reports through Prometheus and its logs, so it stays off.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.clock = clock
    app.state.ingestor = ingestor
    app.state.worker_metrics = worker_metrics
    app.include_router(webhooks.router)
    app.include_router(reads.router)
    app.include_router(api.router)
    app.include_router(events.router)
    app.include_router(tokens.router)
    app.include_router(replays.router)
    app.include_router(rollout.router)
    app.include_router(drafts.router)
    app.include_router(ops.router)
    app.include_router(metrics.router)
    app.include_router(governance.router)
    app.include_router(integrations.router)
    app.include_router(review.router)
    app.include_router(links.router)
    install_console(app)
    install_error_handling(app, error_page=console_error_page)
    if sandbox is not None:
        app.include_router(sandbox.router)
        app.state.sandbox = sandbox
    app.add_middleware(
        UploadLimit,
        paths=(replays.PATH, "/console/replays"),
        max_bytes=settings.replay_max_upload_bytes,
        setting="RELAYDESK_REPLAY_MAX_UPLOAD_BYTES",
    )
    app.add_middleware(
        WebhookReceiver,
        ingestor=ingestor,
        metrics=container.metrics,
        app_secret=settings.app_secret,
        max_body_bytes=settings.webhook_max_body_bytes,
        clock=clock,
    )
    app.add_middleware(ErrorGuard)
    return app
