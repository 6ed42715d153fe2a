"""What the Insights cost on a large history: the week's scorecard, the weekly review and
the console's Insights page.

    python -m bench.insights [--conversations 100000] [--weeks 13] [--postgres-url URL]
                             [--requests 20] [--changed 25]

A fresh SQLite file (or, with `--postgres-url`, a fresh PostgreSQL schema, vacuumed and
analysed after filling) is migrated and filled by `relaydesk demo seed`'s generator:
`--conversations` over the last `--weeks` (13 by default: a quarter's history), about 10
messages and 5 decisions each. Then every conversation is summarised for the Insights as
the worker's job does it (`services.summaries.Refresh`, 2,000 at a time; skipped by code
without summaries), and, each timed on its own:

- scorecard: the last complete week's scorecard alone, then with the week before it
  (what `/api/v1/metrics/scorecard` computes), three runs each, median and worst;
- weekly review: everything `relaydesk report weekly` computes for that week but the
  content gaps (whose cost is MiniLM's), once;
- Insights page: `GET /console/insights` (the last 7 days: every table of the page) by a
  signed-in supervisor through the ASGI app started as `relaydesk serve` starts it
  (warming the cache and freezing what start-up built out of the garbage collector's
  way, where the code does): the first page after a start, three ways (asked for at
  once while the start's warming reads the default period; with nothing read, as before
  the warming; after the warming, which is timed on its own), then `--requests` pages in
  a row with nothing changing, then `--requests` more with `--changed` conversations
  given a customer's message and as many others a CSAT answer before each (a desk far
  busier than 100,000 conversations a quarter, about one new conversation a minute):
  p50, p95 and worst.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, messages
from relaydesk.bootstrap import build
from relaydesk.config import load_settings
from relaydesk.domain.scorecard import scorecard
from relaydesk.services import accounts, insights
from relaydesk.services.demo_seed import seed
from relaydesk.services.weekly import last_complete_week, review

try:
    from relaydesk.services.summaries import Refresh, SummaryCache
except ImportError:  # code from before the summaries (an A/B run)
    Refresh = None  # type: ignore[assignment,misc]

PASSWORD = "bench password 123"


def _postgres(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), schema


def _timed(label: str, call: object, runs: int = 1) -> list[float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        seconds.append(time.perf_counter() - began)
    shown = ", ".join(f"{s:.2f}" for s in seconds)
    print(
        f"{label}: median {statistics.median(seconds):.2f} s, worst {max(seconds):.2f} s ({shown})"
    )
    return seconds


def _traffic(db: Database, now: datetime, changed: int, round_: int) -> None:
    """What a busy desk writes between two page views: `changed` conversations of the last
    7 days get a customer's message (their summaries go stale: the page summarises them
    again from their facts), and as many others a CSAT answer (a live column)."""
    since = now - timedelta(days=7)
    with db.write() as conn:
        ids = list(
            conn.execute(
                select(conversations.c.id)
                .where(conversations.c.created_at >= since)
                .order_by(conversations.c.id)
                .offset(round_ * 2 * changed)
                .limit(2 * changed)
            ).scalars()
        )
        if not ids:  # the week's conversations used up
            return
        at = now - timedelta(seconds=1)
        conn.execute(
            insert(messages),
            [
                {"conversation_id": cid, "direction": "in", "type": "text",
                 "text": "any news?", "payload": {}, "sent_at": at, "created_at": at}
                for cid in ids[:changed]
            ],
        )  # fmt: skip
        conn.execute(
            update(conversations)
            .where(conversations.c.id.in_(ids[changed:]))
            .values(csat_state="answered", csat_rating=4)
        )


async def _pages(
    container: Any, requests: int, changed: int, now: datetime
) -> tuple[dict[str, float], list[float], list[float]]:
    """The first pages after a start, then `requests` pages with nothing changing between
    them, then `requests` with `_traffic` before each. The first pages, each with a new
    `SummaryCache` (what a new process has):

    - during the warming: the app started as `relaydesk serve` starts it (warming the
      cache in the background), the page asked for at once;
    - unwarmed: nothing read yet, as every first page was before the warming;
    - warmed: after `insights.warm` (timed) has read the default period."""
    from relaydesk.app.http import main as app_main
    from relaydesk.app.http.main import create_app

    warming = hasattr(insights, "warm")  # code from before the warming (an A/B run)
    settle_gc = getattr(app_main, "settle_gc", lambda: None)
    options: dict[str, Any] = {"warm_insights": True} if warming else {}
    if hasattr(app_main, "settle_gc"):
        options["freeze_gc"] = True
    app = create_app(container, run_worker=False, **options)
    first: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
            assert token is not None
            signed = await client.post(
                "/console/login",
                data={"email": "lead@bench.example", "password": PASSWORD,
                      "csrf_token": token.group(1)},
            )  # fmt: skip
            assert signed.status_code == 303, signed.text

            async def page() -> float:
                began = time.perf_counter()
                got = await client.get("/console/insights")
                assert got.status_code == 200, got.text[:300]
                return time.perf_counter() - began

            if warming:
                first["during the warming"] = await page()
            container.insights_cache = SummaryCache()
            first["unwarmed"] = await page()
            if warming:
                container.insights_cache = SummaryCache()
                began = time.perf_counter()
                held = await asyncio.to_thread(
                    insights.warm, container.db, container.brief, container.insights_cache, now
                )
                first[f"the warming alone ({held} conversations)"] = time.perf_counter() - began
                settle_gc()  # as serve does after its warming
                first["warmed"] = await page()
            quiet = [await page() for _ in range(requests)]
            busy = []
            for round_ in range(requests):
                _traffic(container.db, now, changed, round_)
                busy.append(await page())
    return first, quiet, busy


def _shown(label: str, pages: list[float]) -> None:
    ordered = sorted(pages)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"{label} x{len(pages)}: p50 {statistics.median(pages) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, worst {ordered[-1] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--postgres-url", help="PostgreSQL to run on instead of SQLite")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--changed",
        type=int,
        default=25,
        help="conversations given a message, and as many a CSAT answer, before each busy page",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if args.postgres_url:
            url, schema = _postgres(args.postgres_url)
        else:
            url = f"sqlite:///{Path(tmp) / 'insights.sqlite'}"
        settings = load_settings({"RELAYDESK_DATABASE_URL": url})
        db = Database(url)
        upgrade(db.engine)
        container = build(settings, base_url="http://bench", migrate=True)
        brief, now = container.brief, datetime.now(UTC)
        began = time.perf_counter()
        made = seed(db, brief, conversations_wanted=args.conversations, now=now, weeks=args.weeks)
        print(
            f"{db.engine.dialect.name}: seeded {made.conversations} conversations, "
            f"{made.messages} messages, {made.decisions} decisions in "
            f"{time.perf_counter() - began:.0f} s"
        )
        if db.engine.dialect.name == "postgresql":
            # What autovacuum leaves after a bulk load: every stored message and decision
            # bumped its conversation's facts_rev, so the rows' old versions are vacuumed.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(messages)).scalar_one()
        if Refresh is not None:
            began, refresh, summarised = time.perf_counter(), Refresh(db, brief), 0
            while stored := refresh(now):
                summarised += stored
            print(
                f"summarised {summarised} conversations (the worker's job) in "
                f"{time.perf_counter() - began:.0f} s"
            )
        wk = last_complete_week(now, brief.timezone)
        in_week = len(insights.facts(db, insights.Filters(wk.start, wk.end)))
        print(f"week {wk.label}: {in_week} conversations started")
        week = insights.Filters(wk.start, wk.end)
        _timed(
            "scorecard of the week alone",
            lambda: scorecard(insights.facts(db, week), brief, now),
            runs=3,
        )
        _timed(
            "scorecard of the week and the week before (the API's table)",
            lambda: insights.table(db, brief, "scorecard", insights.Filters(wk.start, wk.end), now),
            runs=3,
        )
        _timed("weekly review", lambda: review(db, brief, wk, now))
        with db.write() as conn:
            accounts.create_user(
                conn, email="lead@bench.example", name="Lead", role="supervisor",
                password=PASSWORD, now=now,
            )  # fmt: skip
        first, quiet, busy = asyncio.run(_pages(container, args.requests, args.changed, now))
        for label, seconds in first.items():
            print(f"GET /console/insights (7 days), the first after a start, {label}: "
                  f"{seconds * 1000:.0f} ms")  # fmt: skip
        _shown("GET /console/insights, nothing changing", quiet)
        _shown(f"GET /console/insights, {2 * args.changed} conversations changed before each", busy)
        db.dispose()
        container.db.dispose()
        if schema is not None and args.postgres_url:
            admin = create_engine(args.postgres_url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
