"""The message path's stages in one process, without HTTP: store (the acknowledging
transaction) and decide (the decision stage), on the everyday mix or confident messages.

    python -m bench.stages --messages 4000 --mix everyday [--database-url URL] [--profile]

Stores the messages through `InboundService.ingest_batch` in groups of 64 (as the group
commit does under load), then runs `DecisionStage.run_until_idle`. Prints wall time, CPU ms
per message of each stage and the decisions by action; with --profile, the decision
stage's hottest functions. A fresh SQLite file in a temporary directory unless a URL is
given (use an empty PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench import _mix
from relaydesk.adapters.storage.tables import decisions
from relaydesk.adapters.whatsapp.webhook import parse_webhook
from relaydesk.bootstrap import build
from relaydesk.config import load_settings
from relaydesk.observability import configure_logging
from relaydesk.services.inbound import Webhook

PHONE = "1122334455667"


def bodies(count: int, mix: str) -> list[bytes]:
    ts = int(datetime.now(UTC).timestamp())
    if mix == "everyday":
        return [_mix.envelope(p.message, PHONE) for p in _mix.plan(count, 0, "ST", ts)]
    out = []
    for index in range(count):  # confident: every customer new, one clear question
        wa_id = f"78{index:010d}"
        message = {
            "from": wa_id,
            "id": f"wamid.STAGES{index:08d}",
            "timestamp": str(ts),
            "type": "text",
            "text": {"body": "where is my order?"},
        }
        out.append(_mix.envelope(message, PHONE))
    return out


def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    url = args.database_url or f"sqlite:///{workdir / 'stages.sqlite'}"
    settings = load_settings({"RELAYDESK_DATABASE_URL": url, "RELAYDESK_LOG_LEVEL": "warning"})
    configure_logging("warning")
    container = build(settings, base_url="http://127.0.0.1:9", migrate=True)
    stage = container.decisions  # trains the brief's classifier
    if args.write_slice is not None:
        stage._write_slice = args.write_slice
    now = datetime.now(UTC)
    webhooks = [Webhook(b, parse_webhook(b), now) for b in bodies(args.messages, args.mix)]

    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(webhooks), 64):
        container.inbound.ingest_batch(webhooks[first : first + 64])
    store_wall, store_cpu = time.perf_counter() - started, time.process_time() - cpu

    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    decided = stage.run_until_idle()
    if profiler:
        profiler.disable()
    decide_wall, decide_cpu = time.perf_counter() - started, time.process_time() - cpu
    with container.db.read() as conn:
        grouped = select(decisions.c.action, func.count()).group_by(decisions.c.action)
        actions = Counter({str(a): int(n) for a, n in conn.execute(grouped)})
    container.db.dispose()
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    n = args.messages
    return {
        "mix": args.mix,
        "database": container.db.engine.dialect.name,
        "messages": n,
        "decided": decided,
        "store_per_s": round(n / store_wall),
        "store_cpu_ms": round(1000 * store_cpu / n, 3),
        "decide_per_s": round(decided / decide_wall) if decided else 0,
        "decide_cpu_ms": round(1000 * decide_cpu / max(decided, 1), 3),
        "actions": dict(actions),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--mix", choices=("everyday", "confident"), default="everyday")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--write-slice",
        type=float,
        default=None,
        help="seconds of deciding per SQLite write transaction (default: the stage's own)",
    )
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error(f"--messages {args.messages}: give at least 1")
    with tempfile.TemporaryDirectory() as workdir:
        print(json.dumps(run(args, Path(workdir))))


if __name__ == "__main__":
    main()
