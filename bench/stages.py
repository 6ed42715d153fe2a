"""The message path's stages in one process, without HTTP: store (the acknowledging
transaction), decide (the decision stage) and send (the outbox), on the everyday mix or
confident messages.

    python -m bench.stages --messages 4000 --mix everyday [--database-url URL]
        [--profile {decide,send}]

Stores the messages through `InboundService.ingest_batch` in groups of 64 (as the group
commit does under load), runs `DecisionStage.run_until_idle`, then the outbox
(`OutboxWorker.run_once` until nothing is due) against the benchmark's fake Graph API in a
process of its own (`bench._graph`), so that this process's CPU is the outbox's only.
Prints wall time, CPU ms per message (store, decide) or per reply sent (send) and the
decisions by action; with --profile, that stage's hottest functions (cProfile: the
calling thread only, so for send the event loop, not the recording threads). A fresh
SQLite file in a temporary directory unless a URL is given (use an empty PostgreSQL
schema).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench import _mix
from bench.webhooks import (
    ACCESS_TOKEN,
    base_env,
    free_port,
    relaydesk_env,
    spawn,
    wait_listening,
)
from relaydesk.adapters.storage.tables import decisions, outbox
from relaydesk.adapters.whatsapp.webhook import parse_webhook
from relaydesk.bootstrap import Container, build
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


@contextlib.contextmanager
def graph_server(workdir: Path) -> Iterator[int]:
    """The benchmark's fake Graph API in a process of its own (as `bench.webhooks` starts
    it); its port."""
    port = free_port()
    argv = [sys.executable, "-m", "bench._graph", str(port), ACCESS_TOKEN]
    graph = spawn("graph", argv, base_env(), port, workdir)
    try:
        asyncio.run(wait_listening(graph))
        yield port
    finally:
        graph.stop()


async def send_all(container: Container) -> int:
    """Run the outbox until nothing is due; how many rows it handled."""
    handled = 0
    try:
        while done := await container.worker.run_once():
            handled += done
    finally:
        await container.graph.aclose()
    return handled


def run(args: argparse.Namespace, workdir: Path, graph_port: int) -> dict[str, object]:
    url = args.database_url or f"sqlite:///{workdir / 'stages.sqlite'}"
    # bench.webhooks' production settings: its Graph API, an upgraded number's send rate
    settings = load_settings(relaydesk_env(url, graph_port))
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

    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    if args.profile == "decide":
        profiler.enable()
    decided = stage.run_until_idle()
    profiler.disable()
    decide_wall, decide_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    if args.profile == "send":
        profiler.enable()
    handled = asyncio.run(send_all(container))
    profiler.disable()
    send_wall, send_cpu = time.perf_counter() - started, time.process_time() - cpu
    with container.db.read() as conn:
        grouped = select(decisions.c.action, func.count()).group_by(decisions.c.action)
        actions = Counter({str(a): int(n) for a, n in conn.execute(grouped)})
        states = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        replies = Counter({str(a): int(n) for a, n in conn.execute(states)})
    container.db.dispose()
    if args.profile:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    sent = replies["done"]
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
        "sent": sent,
        "send_per_s": round(sent / send_wall) if sent else 0,
        "send_cpu_ms": round(1000 * send_cpu / max(sent, 1), 3),
        "outbox_handled": handled,
        "outbox": dict(replies),
        "actions": dict(actions),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--mix", choices=("everyday", "confident"), default="everyday")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--profile",
        choices=("decide", "send"),
        nargs="?",
        const="decide",
        default=None,
        help="print the hottest functions of this stage (cProfile; alone: decide)",
    )
    parser.add_argument(
        "--write-slice",
        type=float,
        default=None,
        help="seconds of deciding per SQLite write transaction (default: the stage's own)",
    )
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error(f"--messages {args.messages}: give at least 1")
    with tempfile.TemporaryDirectory() as workdir, graph_server(Path(workdir)) as port:
        print(json.dumps(run(args, Path(workdir), port)))


if __name__ == "__main__":
    main()
