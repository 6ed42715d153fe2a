"""Group commit for webhooks: a writer thread commits whatever arrived meanwhile in one
transaction, then answers each request. Under load this turns N commits into one; when
quiet, a webhook is committed alone, at once. SQLite has one writer; on PostgreSQL several
writer threads keep the database busy while each waits on its round trips.

What a commit is: `InboundService.ingest_batch` (the webhooks stored in the database
itself), or `IntakeWriter.commit` (`serve` on a SQLite file: the raw bodies committed to
the intake file, moved into the database by the worker)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from relaydesk.services.inbound import Webhook

log = structlog.get_logger(__name__)

MAX_BATCH = 64

R = TypeVar("R")


@dataclass
class _Job(Generic[R]):
    webhook: Webhook
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop


class BatchIngestor(Generic[R]):
    def __init__(
        self,
        commit: Callable[[Sequence[Webhook]], Sequence[R | Exception]],
        *,
        writers: int = 1,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers={writers}; at least one writer thread is needed")
        #: commits webhooks together: a result per webhook, in order (what was stored, or
        #: the error that kept it from being stored: the request then gets a 503 or a 500)
        self._commit = commit
        self._writers = writers
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job[R] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        for number in range(self._writers):
            thread = threading.Thread(target=self._run, name=f"ingest-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    async def submit(self, webhook: Webhook) -> R:
        """Commit `webhook` (with whatever else is waiting); raises what the commit raised."""
        if not self._threads:
            raise RuntimeError("BatchIngestor.start() was not called")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
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
                results = self._commit([job.webhook for job in jobs])
            except Exception as error:  # a commit returns errors; this is a last resort
                log.exception("ingest_thread_error")
                results = [error] * len(jobs)
            for job, result in zip(jobs, results, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, result)


def _settle(future: asyncio.Future[R], result: R | Exception) -> None:
    if future.done():  # the request was cancelled (client went away)
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
