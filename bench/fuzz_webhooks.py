"""Webhook fuzzing, the long run: mutated, signed copies of the real sample webhooks through
the whole app (in-process ASGI), counted by outcome.

    python -m bench.fuzz_webhooks --payloads 100000 --seed 1
    python -m bench.fuzz_webhooks --payloads 5000 --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m bench.fuzz_webhooks --minutes 10          # as many as fit in ten minutes

Each payload is a sample from ../shared/whatsapp-samples with 1 to 4 mutations
(tests/webhook_mutations.py: lone surrogates, NUL, 2**64, wrong types, missing senders,
numeric `from`, identities of two customers first seen apart, deep nesting, empty strings)
plus one well-formed text message in an entry of its own. Expected: no 5xx at all; a 400
only when the mutation broke the envelope; every acknowledged payload's good message stored.
Prints a progress line every few seconds and a JSON summary at the end (exit status 1 on
any violation). A PostgreSQL URL gets a fresh schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from tests.webhook_mutations import OPERATIONS, Mutant, load_samples, mutate

from relaydesk.adapters.storage.tables import messages, status_events
from relaydesk.adapters.whatsapp.webhook import sign
from relaydesk.bootstrap import build
from relaydesk.config import load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "whatsapp-samples"
SECRET = "fuzz-app-secret"


class LogCounter:
    """A structlog processor that counts the events the fuzz cares about and drops all."""

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()  #: webhook_item_skipped by error class
        self.events: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()  #: webhooks refused, by log event and error

    def __call__(self, _logger: Any, _method: str, event: dict[str, Any]) -> Any:
        name = str(event.get("event"))
        self.events[name] += 1
        if name == "webhook_item_skipped":
            self.skipped[f"{event.get('kind')}:{event.get('error')}"] += 1
        elif name in ("webhook_store_failed", "webhook_processing_failed"):
            self.failures[f"{name}:{event.get('error')}"] += 1
        raise structlog.DropEvent


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The database to fuzz: a temporary SQLite file, or a fresh PostgreSQL schema."""
    if url is None:
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/fuzz.sqlite"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        yield url
        return
    schema = f"fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        options = {"options": f"-csearch_path={schema}"}
        yield parsed.update_query_dict(options).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def payloads(seed: int, count: int, samples: list[tuple[str, dict[str, Any]]]) -> Iterator[Mutant]:
    rng = random.Random(seed)
    for _ in range(count):
        _, doc = rng.choice(samples)
        picks = [
            (rng.randrange(2**20), rng.randrange(len(OPERATIONS))) for _ in range(rng.randint(1, 4))
        ]
        yield mutate(doc, picks, good_slot=rng.randrange(8), token=f"{rng.getrandbits(128):032x}")


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    counter = LogCounter()
    structlog.configure(
        processors=[counter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=False,
    )
    settings = load_settings(
        {
            "RELAYDESK_DATABASE_URL": url,
            "RELAYDESK_WHATSAPP_APP_SECRET": SECRET,
            "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "fuzz-verify-token",
            "RELAYDESK_WHATSAPP_ACCESS_TOKEN": "fuzz-access-token",
            "RELAYDESK_SECRET_KEY": "fuzz-secret-key-that-is-long-enough",
            "RELAYDESK_WHATSAPP_GRAPH_URL": "http://127.0.0.1:9",  # never called: no worker
        }
    )
    container = build(settings, base_url="http://fuzz", migrate=True)
    from relaydesk.app.http.main import create_app

    app = create_app(container, run_worker=False)
    samples = load_samples(SAMPLES)
    status: Counter[str] = Counter()
    violations: list[str] = []
    acknowledged: list[str] = []
    sent = 0
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    started = time.perf_counter()
    source = payloads(args.seed, args.payloads, samples)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:

            async def post(body: bytes) -> int:
                headers = {"X-Hub-Signature-256": sign(body, SECRET)}
                response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
                return response.status_code

            async def worker() -> None:
                nonlocal sent
                for mutant in source:
                    if deadline is not None and time.monotonic() > deadline:
                        return
                    sent += 1
                    for seed in mutant.seeds:
                        await post(seed)
                    code = await post(mutant.body)
                    status[str(code)] += 1
                    if code == 200:
                        acknowledged.append(mutant.good_wamid)
                    elif not (code == 400 and mutant.envelope_touched):
                        violations.append(
                            f"{code} {list(zip(mutant.operations, mutant.paths, strict=True))}"
                        )

            async def progress() -> None:
                while True:
                    await asyncio.sleep(args.progress)
                    elapsed = time.perf_counter() - started
                    print(
                        f"{sent:,}/{args.payloads:,} payloads  {dict(status)}  "
                        f"skipped {sum(counter.skipped.values()):,}  "
                        f"{sent / elapsed:,.0f}/s  {elapsed:,.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )

            reporter = asyncio.create_task(progress())
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            reporter.cancel()
    elapsed = time.perf_counter() - started

    with container.db.read() as conn:
        stored_in = conn.execute(
            select(func.count()).select_from(messages).where(messages.c.direction == "in")
        ).scalar_one()
        statuses = conn.execute(select(func.count()).select_from(status_events)).scalar_one()
        found = 0
        for start in range(0, len(acknowledged), 500):
            chunk = acknowledged[start : start + 500]
            found += conn.execute(
                select(func.count()).select_from(messages).where(messages.c.wamid.in_(chunk))
            ).scalar_one()
    missing = len(acknowledged) - found
    container.db.dispose()
    return {
        "database": container.db.engine.dialect.name,
        "seed": args.seed,
        "payloads": sent,
        "concurrency": args.concurrency,
        "elapsed_seconds": round(elapsed, 1),
        "payloads_per_second": round(sent / elapsed, 1) if elapsed else None,
        "responses": dict(sorted(status.items())),
        "responses_5xx": sum(n for code, n in status.items() if code.startswith("5")),
        "inbound_messages_stored": stored_in,
        "status_receipts_stored": statuses,
        "good_messages_acknowledged": len(acknowledged),
        "good_messages_missing": missing,
        "items_skipped_by_reason": dict(counter.skipped.most_common()),
        "webhook_failures_by_error": dict(counter.failures.most_common()),
        "parser_warnings": counter.events["webhook_warning"],
        "bodies_refused_400": counter.events["webhook_bad_payload"],
        "violations": violations[:20],
        "violation_count": len(violations),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", help="SQLAlchemy URL; default a temporary SQLite file")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--minutes", type=float, help="stop after this long")
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between lines")
    args = parser.parse_args(argv)
    if not SAMPLES.exists():
        print(f"WhatsApp samples not found at {SAMPLES}; they live in ../shared/", file=sys.stderr)
        return 2
    with database(args.database) as url:
        summary = asyncio.run(run(args, url))
    print(json.dumps(summary, indent=2))
    failed = summary["violation_count"] or summary["good_messages_missing"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
