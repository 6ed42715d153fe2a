"""A cheap HTTP/1.1 load generator on asyncio streams: pre-built requests, keep-alive
connections, an open-loop (fixed offered rate) mode and a closed-loop (saturation) mode.

Open loop: request i is *scheduled* at t0 + i/rate whatever happened to earlier requests, and
its latency is measured from that scheduled time, so time spent waiting for a free connection
(queueing) counts. If the backlog of scheduled-but-unsent requests grows past
`max_backlog_seconds` of traffic, the step stops offering and the rest is reported as shed:
the target cannot keep up with that rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one pre-encoded request and read the answer: (status, body)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.used += 1
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        body = b""
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
            if length:
                body = await self.reader.readexactly(length)
        elif b"\r\ntransfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body

    async def call(self, data: bytes) -> tuple[int, bytes, bool]:
        """`request`, retried once on a fresh connection when a reused keep-alive connection
        turns out to be closed before any answer (the server's idle timeout). (status, body,
        retried)"""
        reused = self.writer is not None and self.used > 0
        try:
            status, body = await self.request(data)
            return status, body, False
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            partial = getattr(exc, "partial", b"")
            if not reused or partial:
                raise
        status, body = await self.request(data)
        return status, body, True


def http_request(method: str, path: str, port: int, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def get_json(conn: Connection, path: str) -> Any:
    status, body, _ = await conn.call(http_request("GET", path, conn.port))
    if status != 200:
        raise HttpError(f"GET {path}: HTTP {status}")
    return json.loads(body)


@dataclass
class Run:
    """What one load step did. Times are time.monotonic() seconds."""

    mode: str  #: "open" or "closed"
    planned: int
    offered_rate: float | None = None
    t0: float = 0.0
    t_stop: float = 0.0  #: when offering stopped (last scheduled send, or closed-loop deadline)
    sent: int = 0
    shed: int = 0
    retries: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    #: per acknowledged (HTTP 200) request: index, scheduled/send time, ack time
    acked: list[tuple[int, float, float]] = field(default_factory=list)
    inflight: int = 0
    backlog: int = 0

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "200")


async def _one(conn: Connection, data: bytes, timeout: float, run: Run) -> str:
    try:
        async with asyncio.timeout(timeout):
            status, _, retried = await conn.call(data)
        run.retries += retried
        return str(status)
    except TimeoutError:
        conn.close()
        return "timeout"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        conn.close()
        return type(exc).__name__


async def open_loop(
    host: str,
    port: int,
    requests: list[bytes],
    rate: float,
    *,
    connections: int,
    timeout: float = 30.0,
    max_backlog_seconds: float = 3.0,
    run: Run | None = None,
) -> Run:
    run = run or Run("open", len(requests))
    run.offered_rate = rate
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    now = time.monotonic

    async def worker() -> None:
        conn = Connection(host, port)
        try:
            while True:
                index = await queue.get()
                if index is None:
                    return
                run.inflight += 1
                status = await _one(conn, requests[index], timeout, run)
                run.inflight -= 1
                run.statuses[status] += 1
                if status == "200":
                    run.acked.append((index, run.t0 + index / rate, now()))
        finally:
            conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.05)  # let the workers park on the queue
    run.t0 = t0 = now()
    limit = max(int(rate * max_backlog_seconds), connections)
    index, total = 0, len(requests)
    while index < total:
        due = min(total, int((now() - t0) * rate) + 1)
        while index < due:
            queue.put_nowait(index)
            index += 1
        run.sent = index
        run.backlog = queue.qsize()
        if run.backlog > limit:
            # give up: what was scheduled but not yet started is shed along with the rest
            unsent = 0
            while not queue.empty():
                queue.get_nowait()
                unsent += 1
            run.sent = index - unsent
            run.shed = total - run.sent
            break
        await asyncio.sleep(max(0.0, t0 + index / rate - now()))
    run.t_stop = min(now(), t0 + index / rate)
    run.backlog = 0
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return run


async def closed_loop(
    host: str,
    port: int,
    requests: list[bytes],
    duration: float,
    *,
    connections: int,
    timeout: float = 30.0,
    run: Run | None = None,
    cycle: bool = False,
) -> Run:
    """Each connection sends its next request as soon as the previous one is answered.
    `cycle` reuses the requests round-robin (only for targets that keep no state)."""
    run = run or Run("closed", len(requests))
    now = time.monotonic
    count = len(requests)
    position = itertools.count() if cycle else iter(range(count))
    run.t0 = now()
    deadline = run.t0 + duration

    async def worker() -> None:
        conn = Connection(host, port)
        try:
            for index in position:
                if now() >= deadline:
                    return
                run.sent += 1
                run.inflight += 1
                started = now()
                status = await _one(conn, requests[index % count], timeout, run)
                run.inflight -= 1
                run.statuses[status] += 1
                if status == "200":
                    run.acked.append((index, started, now()))
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    run.t_stop = min(now(), deadline)
    return run


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": pick(0.50),
        "p90": pick(0.90),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }


@contextlib.asynccontextmanager
async def connection(host: str, port: int) -> Any:
    conn = Connection(host, port)
    try:
        yield conn
    finally:
        conn.close()
