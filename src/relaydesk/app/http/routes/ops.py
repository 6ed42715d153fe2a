"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import anyio.to_thread
import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from relaydesk import __version__
from relaydesk.app.http.deps import ContainerDep

log = structlog.get_logger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(container: ContainerDep) -> JSONResponse:
    """The process can serve: its database answers."""
    try:
        await anyio.to_thread.run_sync(container.db.ping)
    except Exception as exc:
        log.warning("not_ready", error=type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "brief": container.brief.version})


@router.get("/metrics")
async def metrics(container: ContainerDep, request: Request) -> Response:
    """This process's metrics, and those of serve's worker child merged in
    (`app.worker_metrics`)."""
    child = request.app.state.worker_metrics
    if child is None:
        data = await anyio.to_thread.run_sync(generate_latest, container.metrics.registry)
    else:
        data = await anyio.to_thread.run_sync(child.exposition, container.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
