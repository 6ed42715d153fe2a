"""Group commit for webhooks: one writer thread commits whatever arrived meanwhile in one
transaction, then answers each request. Under load this turns N commits into one; when
quiet, a webhook is committed alone, at once."""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass

import structlog

from relaydesk.services.inbound import InboundService, IngestResult, Webhook

log = structlog.get_logger(__name__)

MAX_BATCH = 64


@dataclass
class _Job:
    webhook: Webhook
    future: asyncio.Future[IngestResult]
    loop: asyncio.AbstractEventLoop


class BatchIngestor:
    def __init__(self, inbound: InboundService, max_batch: int = MAX_BATCH) -> None:
        self._inbound = inbound
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def submit(self, webhook: Webhook) -> IngestResult:
        """Commit `webhook` (with whatever else is waiting); raises what the commit raised."""
        if self._thread is None:
            raise RuntimeError("BatchIngestor.start() was not called")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._jobs.put(_Job(webhook, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            while len(jobs) < self._max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                jobs.append(job)
            try:
                results = self._inbound.ingest_batch([job.webhook for job in jobs])
            except Exception as error:  # ingest_batch returns errors; this is a last resort
                log.exception("ingest_thread_error")
                results = [error] * len(jobs)
            for job, result in zip(jobs, results, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, result)


def _settle(future: asyncio.Future[IngestResult], result: IngestResult | Exception) -> None:
    if future.done():  # the request was cancelled (client went away)
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
