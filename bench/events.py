"""How long a change takes to reach a console connected to another server process.

    python -m bench.events [--events 200] [--postgres-url URL]

One `Database` writes events (each in its own transaction, as an agent action or an
escalation would); an `EventHub` on a second `Database` - another process's view of the
same data - delivers them to a subscriber. Latency is from the writer's commit to the
subscriber receiving the event. Three ways, in the same run:

- PostgreSQL, LISTEN/NOTIFY (the hub's poll set to a minute, so only NOTIFY can deliver);
- PostgreSQL, polling every 0.25 s only (the baseline: no LISTEN connection);
- SQLite, polling every 0.25 s (what the single-file default does).

Prints p50/p90/p99/max in milliseconds and each median as a ratio to the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.services.events import Event, EventHub, EventKind, record

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PollOnlyHub(EventHub):
    """The baseline: the same hub without its LISTEN connection."""

    async def _listen(self) -> None:
        await asyncio.Event().wait()


async def measure(writer: Database, hub: EventHub, count: int) -> list[float]:
    """Write `count` events at random intervals; return commit-to-delivery latencies."""
    committed: dict[int, float] = {}
    latencies: list[float] = []
    stream = hub.subscribe()
    reader = asyncio.ensure_future(_collect(stream, count, committed, latencies))
    await asyncio.sleep(0.5)  # subscribed (and listening)
    rng = random.Random(0)
    for n in range(count):
        await asyncio.to_thread(_write, writer, n)
        committed[n] = time.perf_counter()
        await asyncio.sleep(rng.uniform(0.0, 0.05))
    await asyncio.wait_for(reader, 30)
    await hub.stop()
    return latencies


def _write(db: Database, n: int) -> None:
    with db.write() as conn:
        record(conn, EventKind.NOTE, now=datetime.now(UTC), detail={"n": n})


async def _collect(
    stream: AsyncIterator[Event], count: int, committed: dict[int, float], latencies: list[float]
) -> None:
    async for event in stream:
        arrived = time.perf_counter()
        n = int(event.detail["n"])
        while n not in committed:  # delivered before the writer's thread returned
            await asyncio.sleep(0)
        latencies.append(max(arrived - committed[n], 0.0) * 1000)
        if len(latencies) == count:
            return


def summary(name: str, values: list[float], baseline: float | None) -> str:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(int(p * len(ordered)), len(ordered) - 1)]

    median = statistics.median(ordered)
    ratio = f"{median / baseline:5.2f}x" if baseline else "  1.00x (baseline)"
    return (
        f"{name:<34} p50 {median:7.1f}  p90 {pct(0.9):7.1f}  p99 {pct(0.99):7.1f}  "
        f"max {ordered[-1]:7.1f} ms   {ratio}"
    )


def _postgres_schema(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with create_engine(url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, scoped.render_as_string(hide_password=False)


async def run(count: int, postgres_url: str) -> None:
    schema, pg = _postgres_schema(postgres_url)
    try:
        upgrade(Database(pg).engine)
        rows = []
        for name, hub_class, poll in (
            ("PostgreSQL, poll 0.25 s (baseline)", PollOnlyHub, 0.25),
            ("PostgreSQL, LISTEN/NOTIFY", EventHub, 60.0),
        ):
            writer, watcher = Database(pg), Database(pg)
            rows.append(
                (name, await measure(writer, hub_class(watcher, poll_interval=poll), count))
            )
            writer.dispose()
            watcher.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            lite = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            writer, watcher = Database(lite), Database(lite)
            upgrade(writer.engine)
            hub = EventHub(watcher, poll_interval=0.25)
            rows.append(("SQLite, poll 0.25 s", await measure(writer, hub, count)))
            writer.dispose()
            watcher.dispose()
    finally:
        with create_engine(postgres_url).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    baseline = statistics.median(rows[0][1])
    print(f"{count} events each, commit to delivery in another process's hub:")
    for i, (name, values) in enumerate(rows):
        print(summary(name, values, None if i == 0 else baseline))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--events", type=int, default=200, help="events per way (default 200)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error(f"--events {args.events}: use at least 10 for percentiles")
    asyncio.run(run(args.events, args.postgres_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
