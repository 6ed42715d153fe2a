"""Webhook benchmark: signed single-message webhooks at fixed offered rates, end to end.

    python -m bench.webhooks                    # full run, ~10 minutes
    python -m bench.webhooks --quick            # smoke check, ~1 minute
    python -m bench.webhooks --targets sqlite --rates 500,1000 --duration 20
    python -m bench.webhooks --mix everyday,confident --targets bare,pywa,sqlite

Mixes (`--mix`, each on a freshly started target):

- everyday: greetings, order status with and without a number, thanks/bye, vague
  messages, app/login problems, refunds, shipping, a person request now and then, emoji
  and button taps, from 2,000 returning customers (bench._mix). Many land in
  conversations already open, escalated or queued, which get no bot reply by design, so
  "fully processed" is read from the target's database (bench._ledger): a decision row
  for the message and every outbox row it produced delivered. Its rate is taken over the
  whole step, from the first send to the last message processed: a decision row carries
  its message's acknowledgement time, not when it was made.
- confident: "where is my order?" from a new customer each time, answered with exactly
  one reply, counted at the Graph server (the behaviour before `--mix`). Its rate is
  taken over the whole step too, from the first send to the last reply (before 12-07,
  evening: replies in the step's last 80%, now `replies_per_s`).

Targets (each a separate process started here, all served by uvicorn the same way):

- sqlite / postgres: `relaydesk serve` with production settings, which starts its worker
  (deciding and sending) as a child process; its CPU and memory are counted with the
  target's. Its Graph API is `relaydesk.testing.graph_app` in another process (bench._graph).
  Fully processed and exactly once are counted per mix as above, after every step
  (violations reported loudly). Run from this checkout's `src`.
- bare: a raw ASGI endpoint that only verifies the signature and parses the JSON.
- pywa: the pywa library on FastAPI, signature validation on, no-op message handler.

Results: a JSON file under bench/results/ and a summary printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import gc
import hashlib
import hmac
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import _ledger, _mix
from bench import _loadgen as lg
from bench import _procstats as ps

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PATH = "/webhooks/whatsapp"
APP_SECRET = "bench-app-secret"
ACCESS_TOKEN = "bench-access-token"
PHONE_NUMBER_ID = "1122334455667"
TEXT = "where is my order?"  # the bundled shop brief answers it with exactly one text reply
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIXES = ("everyday", "confident")
ALL_TARGETS = ("sqlite", "sqlite-split", "postgres", "postgres-split", "bare", "pywa")
LABELS = {
    "sqlite": "Relaydesk, SQLite",
    "postgres": "Relaydesk, PostgreSQL",
    "sqlite-split": "Relaydesk, SQLite, serve --no-worker + worker process",
    "postgres-split": "Relaydesk, PostgreSQL, serve --no-worker + worker process",
    "bare": "bare ASGI (HMAC + json.loads)",
    "pywa": "pywa 4 (FastAPI, no-op handler)",
}
#: the most requests per second a closed-loop run is given (bodies are pre-built)
CLOSED_CAP = {
    "sqlite": 3000,
    "postgres": 3000,
    "sqlite-split": 3000,
    "postgres-split": 3000,
    "bare": 2000,
    "pywa": 8000,
}
STATELESS = {"bare"}  #: closed-loop runs may reuse its requests round-robin
SUSTAINABLE_P99 = 0.100


def log(message: str) -> None:
    print(message, flush=True)


# --- webhook bodies ------------------------------------------------------------------------


def webhook_body(wa_id: str, wamid: str, ts: int) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001234",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Bench"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": str(ts),
                                    "type": "text",
                                    "text": {"body": TEXT},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


def wa_id_for(step: int, index: int) -> str:
    """Distinct per step and message: 12 digits, `9SS` then the index."""
    return f"9{step:02d}{index:09d}"


def build_requests(port: int, step: int, count: int) -> list[bytes]:
    """Pre-built, pre-signed HTTP requests: one distinct customer and wamid each."""
    ts = int(time.time())
    key = APP_SECRET.encode()
    salt = secrets.token_hex(4)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = []
    for index in range(count):
        wa_id = wa_id_for(step, index)
        body = webhook_body(wa_id, f"wamid.BENCH{salt}{wa_id}", ts)
        signature = hmac.new(key, body, hashlib.sha256).hexdigest()
        requests.append(
            head
            + f"X-Hub-Signature-256: sha256={signature}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return requests


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    logfile: Path

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def spawn(name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path) -> Proc:
    logfile = workdir / f"{name}.log"
    with logfile.open("wb") as out:
        popen = subprocess.Popen(
            argv,
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Proc(name, popen, port, logfile)


async def wait_listening(proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", proc.port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not listen on {proc.port} within {timeout}s")


async def wait_logged(proc: Proc, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        if text in proc.tail(200):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not log {text!r} within {timeout}s:\n{proc.tail()}")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    # the relaydesk of this checkout, not whichever one is installed (editable elsewhere)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def relaydesk_env(database_url: str, graph_port: int) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "RELAYDESK_DATABASE_URL": database_url,
            "RELAYDESK_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "RELAYDESK_WHATSAPP_APP_SECRET": APP_SECRET,
            "RELAYDESK_WHATSAPP_VERIFY_TOKEN": "bench-verify-token",
            "RELAYDESK_SECRET_KEY": "bench-secret-key-" + secrets.token_hex(16),
            "RELAYDESK_WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{graph_port}",
            # an upgraded number (Meta allows up to 1,000 msg/s); the default 80 would cap replies
            "RELAYDESK_SEND_RATE_PER_NUMBER": "1000",
            "RELAYDESK_LOG_LEVEL": "warning",
        }
    )
    return env


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL at `url`; yields a URL whose search_path is it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Target:
    name: str
    proc: Proc
    graph: Proc | None  #: the fake Graph server (Relaydesk targets only)
    workers: tuple[Proc, ...] = ()  #: `relaydesk worker` processes of the -split targets
    db_url: str | None = None  #: the Relaydesk target's database
    mix: str = "confident"

    @property
    def relaydesk(self) -> tuple[Proc, ...]:
        """The Relaydesk processes (serve, then workers); none for bare and pywa."""
        return (self.proc, *self.workers) if self.graph is not None else ()

    def worker_pids(self) -> list[int]:
        """The `relaydesk worker` processes: the -split targets' own, or `serve`'s child."""
        if self.workers:
            return [w.popen.pid for w in self.workers]
        return ps.children(self.proc.popen.pid) if self.graph is not None else []

    def rss(self) -> dict[str, float | None]:
        rss = {self.proc.name: ps.rss_mb(self.proc.popen.pid)}
        if self.workers:
            rss |= {w.name: ps.rss_mb(w.popen.pid) for w in self.workers}
        else:
            rss |= {f"{self.name}-child{i}": ps.rss_mb(p) for i, p in enumerate(self.worker_pids())}
        return rss | ({self.graph.name: ps.rss_mb(self.graph.popen.pid)} if self.graph else {})


@contextlib.asynccontextmanager
async def started(
    name: str, workdir: Path, postgres_url: str, start_timeout: float = 60.0, workers: int = 1
) -> AsyncIterator[Target]:
    exe = sys.executable
    port = free_port()
    procs: list[Proc] = []
    with contextlib.ExitStack() as stack:
        try:
            graph = None
            url = None
            base, _, topology = name.partition("-")
            spawned: list[Proc] = []
            if base in ("sqlite", "postgres"):
                gport = free_port()
                argv = [exe, "-m", "bench._graph", str(gport), ACCESS_TOKEN]
                graph = spawn("graph", argv, base_env(), gport, workdir)
                procs.append(graph)
                await wait_listening(graph)
                if base == "sqlite":
                    url = f"sqlite:///{workdir / 'relaydesk.sqlite'}"
                else:
                    url = stack.enter_context(postgres_schema(postgres_url))
                env = relaydesk_env(url, gport)
                if base == "postgres":
                    subprocess.run(
                        [exe, "-m", "relaydesk", "db", "upgrade"],
                        env=env,
                        cwd=workdir,
                        check=True,
                        capture_output=True,
                    )
                argv = [exe, "-m", "relaydesk", "serve", "--host", "127.0.0.1", "--port", str(port)]
                if topology == "split":  # production layout: receiving apart from deciding
                    argv.append("--no-worker")
                    for number in range(workers):
                        worker = spawn(
                            f"{name}-worker{number}",
                            [exe, "-m", "relaydesk", "worker"],
                            env,
                            0,
                            workdir,
                        )
                        spawned.append(worker)
                        procs.append(worker)
                proc = spawn(name, argv, env, port, workdir)
            else:
                argv = [exe, "-m", "bench._targets", name, str(port), APP_SECRET]
                proc = spawn(name, argv, base_env(), port, workdir)
            procs.append(proc)
            await wait_listening(proc, start_timeout)
            for worker in spawned:  # a worker says so once its classifier is trained
                await wait_logged(worker, "worker running", start_timeout)
            if graph is not None and not spawned:  # serve's child, on serve's output
                await wait_logged(proc, "worker running", start_timeout)
            yield Target(name, proc, graph, tuple(spawned), url)
        finally:
            for p in reversed(procs):
                p.stop()


# --- steps ---------------------------------------------------------------------------------


class GraphWatch:
    """Reads the fake Graph server's reply counter."""

    def __init__(self, graph: Proc) -> None:
        self.conn = lg.Connection("127.0.0.1", graph.port)
        self.total = 0

    async def poll(self) -> int:
        self.total = int((await lg.get_json(self.conn, "/_bench/stats?since=1e18"))["total"])
        return self.total

    async def series(self, since: float) -> list[tuple[float, int]]:
        data = await lg.get_json(self.conn, f"/_bench/stats?since={since}")
        return [(float(t), int(n)) for t, n in data["series"]]

    async def replies(self, prefix: str) -> dict[str, int]:
        return dict(await lg.get_json(self.conn, f"/_bench/replies?prefix={prefix}"))

    def close(self) -> None:
        self.conn.close()


def count_at(series: list[tuple[float, int]], t: float) -> float:
    """Cumulative replies at time t (the series is sampled every 20 ms)."""
    times = [s[0] for s in series]
    i = bisect.bisect_right(times, t)
    return series[i - 1][1] if i else (series[0][1] if series else 0)


async def progress(label: str, run: lg.Run, watch: GraphWatch | None, base: int) -> None:
    while True:
        await asyncio.sleep(1.0)
        replies = ""
        if watch is not None:
            with contextlib.suppress(Exception):
                replies = f" replies={await watch.poll() - base}"
        log(
            f"    {label} t={time.monotonic() - run.t0:5.1f}s sent={run.sent} "
            f"acked={len(run.acked)} errors={run.errors} inflight={run.inflight} "
            f"backlog={run.backlog}{replies}"
        )


async def drain(watch: GraphWatch, expected: int, stall: float = 15.0) -> float:
    """Wait until the Graph server has `expected` replies in all, or makes no progress for
    `stall` seconds. Returns the monotonic time of the last poll that saw progress."""
    last, last_change, shown = await watch.poll(), time.monotonic(), time.monotonic()
    while last < expected and time.monotonic() - last_change < stall:
        await asyncio.sleep(0.1)
        total = await watch.poll()
        if total != last:
            last, last_change = total, time.monotonic()
        if time.monotonic() - shown > 2:
            log(f"    draining: {expected - last} replies outstanding")
            shown = time.monotonic()
    return last_change


@dataclass
class Step:
    target: str
    name: str  #: "warmup", "open", "search", "closed"
    step: int  #: wa_id prefix
    rate: float | None
    count: int
    duration: float
    connections: int


def everyday_requests(port: int, step: int, count: int) -> tuple[list[bytes], str, list[str]]:
    """The everyday mix's requests for a step, their common wamid prefix and the wamids."""
    salt = secrets.token_hex(4)
    planned = _mix.plan(count, step, salt, int(time.time()))
    requests = _mix.signed_requests(
        planned, port=port, path=PATH, app_secret=APP_SECRET, phone_number_id=PHONE_NUMBER_ID
    )
    return requests, f"wamid.BENCH{salt}S{step:02d}N", [p.wamid for p in planned]


def whole_step_rate(processed: int, run: lg.Run, drain: float) -> float:
    """Messages fully processed a second over the whole step: from its first send to the
    last message processed, `drain` seconds after the last send."""
    return processed / max(run.t_stop - run.t0 + max(drain, 0.0), 1e-9)


async def drain_ledger(
    ledger: _ledger.Ledger, prefix: str, acked: int, stall: float = 15.0
) -> float:
    """Wait until `acked` messages of the step are decided and no outbox row is pending or
    sending, or nothing moves for `stall` seconds. Returns the monotonic time of the last
    poll that saw progress."""
    last = await asyncio.to_thread(ledger.progress, prefix)
    last_change = shown = time.monotonic()
    while (last[0] < acked or last[1]) and time.monotonic() - last_change < stall:
        await asyncio.sleep(0.25)
        now = await asyncio.to_thread(ledger.progress, prefix)
        if now != last:
            last, last_change = now, time.monotonic()
        if time.monotonic() - shown > 2:
            log(f"    draining: {acked - last[0]} undecided, {last[1]} outbox rows open")
            shown = time.monotonic()
    return last_change


async def account_everyday(
    target: Target,
    ledger: _ledger.Ledger,
    watch: GraphWatch,
    run: lg.Run,
    prefix: str,
    wamids: list[str],
) -> dict[str, Any]:
    """Fully processed and exactly once, from the target's database (see bench._ledger)."""
    last_progress = await drain_ledger(ledger, prefix, len(run.acked))
    acked = {wamids[i] for i, _, _ in run.acked}
    account = await asyncio.to_thread(ledger.account, prefix, acked)
    delivered = await asyncio.to_thread(ledger.delivered_by_recipient)
    await watch.poll()
    received = await watch.replies("77")
    doubled_sends = sorted(k for k, n in received.items() if n > delivered.get(k, 0))
    lost_sends = sorted(k for k, n in delivered.items() if n > received.get(k, 0))
    # A decision row carries the moment its message was acknowledged (the decision's clock),
    # not when it was made, so a message without a reply would count as processed at its
    # acknowledgement: the rate is taken over the whole step instead, from its first send
    # to the last message processed (the drain included).
    drain = max(0.0, last_progress - run.t_stop)
    examples = {
        "missing": account.missing[:5],
        "doubled": account.doubled[:5],
        "unexpected": account.unexpected[:5],
        "doubled_sends": doubled_sends[:5],
        "lost_sends": lost_sends[:5],
    }
    return {
        "processed_per_s": whole_step_rate(account.processed, run, drain),
        "processed": account.processed,
        "decided": account.decided,
        "stored": account.stored,
        "replies": sum(received.values()),
        "missing": len(account.missing),
        "doubled": len(account.doubled) + len(doubled_sends),
        "unexpected": len(account.unexpected),
        "lost_sends": len(lost_sends),
        "open_outbox": account.open_outbox,
        "examples": examples,
        "drain_s": round(drain, 3),
    }


async def run_step(target: Target, step: Step, *, profile: Path | None = None) -> dict[str, Any]:
    port = target.proc.port
    everyday = target.mix == "everyday"
    prefix, wamids = "", list[str]()
    if everyday:
        requests, prefix, wamids = everyday_requests(port, step.step, step.count)
    else:
        requests = build_requests(port, step.step, step.count)
    ledger = _ledger.Ledger(target.db_url) if everyday and target.db_url else None
    watch = GraphWatch(target.graph) if target.graph else None
    base = await watch.poll() if watch else 0
    label = f"{target.name} {step.name} " + (
        f"{step.rate:.0f}/s" if step.rate else f"c={step.connections}"
    )
    run = lg.Run("closed" if step.rate is None else "open", len(requests))
    reporter = asyncio.create_task(progress(label, run, watch, base))
    spies = start_profile(target.proc, profile, step.duration) if profile else []
    gc.collect()
    gc.freeze()
    stages_before = await ps.stage_cpu(port) if target.relaydesk else None
    cpu_before = cpu_seconds(target)
    try:
        if step.rate is None:
            await lg.closed_loop(
                "127.0.0.1",
                port,
                requests,
                step.duration,
                connections=step.connections,
                run=run,
                cycle=target.name in STATELESS,
            )
        else:
            await lg.open_loop(
                "127.0.0.1", port, requests, step.rate, connections=step.connections, run=run
            )
    finally:
        reporter.cancel()
        gc.unfreeze()
    cpu_sending = cpu_seconds(target)
    for spy in spies:
        spy.wait()
    span = max(run.t_stop - run.t0, 1e-9)
    window = (run.t0 + 0.2 * span, run.t0 + span)
    width = window[1] - window[0]
    acked_in = sum(1 for _, _, t in run.acked if window[0] <= t <= window[1])
    latencies = [t - sched for _, sched, t in run.acked]
    result: dict[str, Any] = {
        "target": target.name,
        "mix": target.mix,
        "kind": step.name,
        "offered_rate": step.rate,
        "connections": step.connections,
        "seconds": round(span, 3),
        "planned": step.count,
        "sent": run.sent,
        "shed": run.shed,
        "acked": len(run.acked),
        "errors": {k: v for k, v in run.statuses.items() if k != "200"},
        "retries": run.retries,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "ack_rate": acked_in / width,
        # CPU seconds while load was offered, per process (the wall time is `seconds`)
        "cpu_s": {k: round(cpu_sending[k] - cpu_before[k], 3) for k in cpu_before},
        "latency_ms": {
            k: (v * 1000 if v is not None else None) for k, v in lg.percentiles(latencies).items()
        },
    }
    if ledger is not None and watch is not None:
        result.update(await account_everyday(target, ledger, watch, run, prefix, wamids))
        ledger.close()
        watch.close()
        if result["missing"] or result["doubled"] or result["unexpected"] or result["lost_sends"]:
            log(
                f"  !!! EXACTLY-ONCE VIOLATED on {label}: {result['missing']} acknowledged "
                f"without a decision, {result['doubled']} decided or sent more than once, "
                f"{result['unexpected']} stored without a 200 acknowledgement, "
                f"{result['lost_sends']} marked sent but never received. "
                f"Examples: {result['examples']}"
            )
    elif watch is not None:
        last_progress = await drain(watch, base + len(run.acked))
        series = await watch.series(run.t0 - 1)
        result["replies_per_s"] = (
            count_at(series, window[1]) - count_at(series, window[0])
        ) / width
        counts = await watch.replies(f"9{step.step:02d}")
        acked_ids = {wa_id_for(step.step, i) for i, _, _ in run.acked}
        missing = sorted(acked_ids - counts.keys())
        doubled = sorted(k for k, n in counts.items() if n > 1)
        unexpected = sorted(counts.keys() - acked_ids)
        result.update(
            replies=sum(counts.values()),
            missing=len(missing),
            doubled=len(doubled),
            unexpected=len(unexpected),
            examples={"missing": missing[:5], "doubled": doubled[:5], "unexpected": unexpected[:5]},
            drain_s=round(max(0.0, last_progress - run.t_stop), 3),
        )
        # As for the everyday mix: over the whole step, from its first send to the last
        # reply (the drain included); `replies_per_s` is the rate during the step alone.
        replied = len(acked_ids & counts.keys())
        result["processed_per_s"] = whole_step_rate(replied, run, result["drain_s"])
        watch.close()
        if missing or doubled or unexpected:
            log(
                f"  !!! EXACTLY-ONCE VIOLATED on {label}: {len(missing)} acknowledged without a "
                f"reply, {len(doubled)} answered more than once, {len(unexpected)} answered "
                f"without a 200 acknowledgement. Examples: {result['examples']}"
            )
    cpu_after = cpu_seconds(target)
    stages_after = await ps.stage_cpu(port) if target.relaydesk else None
    result["cpu_s_incl_drain"] = {k: round(cpu_after[k] - cpu_before[k], 3) for k in cpu_before}
    done = result["acked"] if everyday else result.get("replies", result["acked"])
    result["target_cpu_ms_per_msg"] = (
        1000 * result["cpu_s_incl_drain"]["target"] / done if done else None
    )
    if target.relaydesk:
        result["stage_cpu_ms_per_msg"] = ps.per_message_ms(
            stages_before, stages_after, result["cpu_s_incl_drain"]["target"], done
        )
        if result["cpu_s_incl_drain"]["workers"] and done:
            result["worker_cpu_ms_per_msg"] = 1000 * result["cpu_s_incl_drain"]["workers"] / done
    rate = step.rate or 0.0
    throughput = result.get("processed_per_s", result["ack_rate"])
    result["sustainable"] = bool(
        step.rate is not None
        and not result["shed"]
        and not result["errors"]
        and result["latency_ms"]["p99"] is not None
        and result["latency_ms"]["p99"] <= SUSTAINABLE_P99 * 1000
        and throughput >= 0.9 * rate
        and result.get("drain_s", 0.0) <= 2.0
        and not result.get("missing")
        and not result.get("doubled")
        and not result.get("lost_sends")
    )
    log("  " + summary_line(result))
    if result["errors"]:
        log(f"  !!! errors: {result['errors']}")
        if target.proc.popen.poll() is not None:
            log(f"  !!! {target.name} died:\n{target.proc.tail()}")
    return result


def cpu_seconds(target: Target) -> dict[str, float]:
    """User + system CPU seconds so far of the target, the Graph server and this process."""
    workers = sum(ps.cpu_s(pid) for pid in target.worker_pids())

    def of(proc: Proc | None) -> float:
        return 0.0 if proc is None else ps.cpu_s(proc.popen.pid)

    own = os.times()
    return {
        "target": of(target.proc) + workers,
        "workers": workers,  #: `relaydesk worker` processes (the -split ones, or serve's child)
        "graph": of(target.graph),
        "loadgen": own.user + own.system,
    }


def start_profile(proc: Proc, out: Path, duration: float) -> list[subprocess.Popen[bytes]]:
    """py-spy the target twice: all threads including waits (`out`), and only the thread
    holding the GIL (`*-gil.txt`: where the CPU goes). Collapsed stacks, one per line."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        log("  (py-spy not found; `pip install py-spy` to profile)")
        return []
    out.parent.mkdir(parents=True, exist_ok=True)
    spies = []
    for extra, path in (["--idle"], out), (["--gil"], out.with_name(out.stem + "-gil.txt")):
        argv = [spy, "record", "--pid", str(proc.popen.pid), "--duration", str(int(duration))]
        argv += ["--rate", "100", "--format", "raw", "--output", str(path), "--nonblocking"]
        spies.append(
            subprocess.Popen(argv + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        log(f"  profiling pid {proc.popen.pid} into {path}")
    return spies


def summary_line(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    offered = f"{r['offered_rate']:.0f}/s" if r["offered_rate"] else f"closed c={r['connections']}"
    parts = [
        f"{r['target']:8s} {r.get('mix', 'confident'):9s} {r['kind']:6s} {offered:>12s}",
        f"ack {r['ack_rate']:7.0f}/s",
        f"p50 {ms(lat['p50'])} p90 {ms(lat['p90'])} p99 {ms(lat['p99'])} max {ms(lat['max'])} ms",
    ]
    if "processed_per_s" in r:
        parts.append(f"processed {r['processed_per_s']:7.0f}/s drain {r['drain_s']:.1f}s")
        parts.append(f"missing {r['missing']} doubled {r['doubled']} unexpected {r['unexpected']}")
        if r.get("lost_sends") or r.get("open_outbox"):
            parts.append(f"lost sends {r['lost_sends']} outbox open {r['open_outbox']}")
    if r.get("target_cpu_ms_per_msg"):
        parts.append(f"cpu {r['target_cpu_ms_per_msg']:.2f} ms/msg")
    stages = r.get("stage_cpu_ms_per_msg")
    if stages:
        parts.append(
            "stages ms/msg "
            + " ".join(f"{k} {ps.fmt_ms(stages.get(k))}" for k in (*ps.STAGES, "send"))
        )
    if r.get("worker_cpu_ms_per_msg") is not None:
        parts.append(f"worker process {r['worker_cpu_ms_per_msg']:.2f} ms/msg")
    if r["shed"]:
        parts.append(f"SHED {r['shed']}")
    parts.append("ok" if r["sustainable"] else "-")
    return " | ".join(parts)


# --- the run -------------------------------------------------------------------------------


def rss_line(label: str, rss: dict[str, float | None]) -> str:
    shown = ", ".join(f"{k} {'gone' if v is None else f'{v:.0f} MB'}" for k, v in rss.items())
    return f"  RSS {label}: {shown}"


async def bench_target(
    name: str, mix: str, args: argparse.Namespace, workdir: Path
) -> list[dict[str, Any]]:
    log(f"\n== {LABELS[name]}, {mix} mix (load {os.getloadavg()[0]:.1f})")
    results: list[dict[str, Any]] = []
    step_no = 0

    def step(kind: str, rate: float | None, duration: float, connections: int) -> Step:
        nonlocal step_no
        step_no += 1
        if rate:
            count = int(rate * duration)
        else:
            count = CLOSED_CAP[name] * (1 if name in STATELESS else int(duration))
        return Step(name, kind, step_no, rate, count, duration, connections)

    workdir = workdir / f"{name}-{mix}"
    async with started(
        name, workdir, args.postgres_url, args.start_timeout, args.workers
    ) as target:
        target.mix = mix
        await asyncio.sleep(args.idle)
        rss_idle = target.rss()
        log(rss_line(f"idle {args.idle:.0f} s after start", rss_idle))
        warm = await run_step(target, step("warmup", 100, args.warmup, args.connections))
        warm["kind"] = "warmup"
        results.append(warm)
        for rate in args.rates:
            results.append(
                await run_step(target, step("open", rate, args.duration, args.connections))
            )
        if name in args.search_targets and args.search_steps:
            ok = [r["offered_rate"] for r in results[1:] if r["sustainable"]]
            bad = [r["offered_rate"] for r in results[1:] if not r["sustainable"]]
            low = max(ok, default=0.0)
            high = min((b for b in bad if b > low), default=None)
            for _ in range(args.search_steps if high else 0):
                assert high is not None
                rate = round((low + high) / 2 / 10) * 10
                if rate in (low, high):
                    break
                r = await run_step(target, step("search", rate, args.duration, args.connections))
                results.append(r)
                low, high = (rate, high) if r["sustainable"] else (low, rate)
        if args.closed:
            profile = None
            if args.profile and name.partition("-")[0] in ("sqlite", "postgres"):
                profile = RESULTS / f"profile-{name}-{args.stamp}.txt"
            results.append(
                await run_step(
                    target,
                    step("closed", None, args.duration, args.closed_connections),
                    profile=profile,
                )
            )
        rss_end = target.rss()
        log(rss_line("at the end", rss_end))
        for r in results:
            r["rss_mb"] = {"idle": rss_idle, "end": rss_end}
    return results


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for module in ("relaydesk", "uvicorn", "fastapi", "starlette", "sqlalchemy", "pywa", "uvloop"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[module] = version(module)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_before": os.getloadavg(),
        "versions": versions,
    }


def print_summary(results: list[dict[str, Any]]) -> None:
    log("\n== summary")
    for r in results:
        if r["kind"] != "warmup":
            log("  " + summary_line(r))
    for mix in MIXES:
        sqlite = [
            r
            for r in results
            if r["target"] == "sqlite" and r.get("mix") == mix and r["offered_rate"]
        ]
        ok = [r["offered_rate"] for r in sqlite if r["sustainable"] and r["kind"] != "warmup"]
        if sqlite:
            log(
                f"  max sustainable offered rate on SQLite, {mix} mix (p99 <= "
                f"{SUSTAINABLE_P99 * 1000:.0f} ms, processing keeps up, exactly once): "
                f"{max(ok, default=0):.0f}/s"
            )
    headline(results)
    violations = [r for r in results if violated(r)]
    errors = [r for r in results if r["errors"]]
    if violations:
        log(f"  !!! exactly-once violations in {len(violations)} step(s)")
    if errors:
        log(f"  !!! HTTP/transport errors in {len(errors)} step(s)")


def violated(r: dict[str, Any]) -> bool:
    return any(r.get(k) for k in ("missing", "doubled", "unexpected", "lost_sends"))


def headline(results: list[dict[str, Any]]) -> None:
    """Per target and mix: what issue 8 asks for, with ratios against pywa and bare."""
    rows = headline_rows(results)
    if not rows:
        return
    log("\n== headline (ratios against pywa and bare of the same mix, this run)")
    for row in rows:
        ratio = " ".join(
            f"{peer} {row[peer]:.2f}x" for peer in ("pywa", "bare") if row.get(peer) is not None
        )
        log(
            f"  {row['target']:8s} {row['mix']:9s} saturation ack {row['ack_per_s']:7.0f}/s "
            f"({ratio or 'no peers'}) p50/p99 {row['sat_p50']} / {row['sat_p99']} ms | "
            f"paced 500/s p50/p99 {row['p500_p50']} / {row['p500_p99']} ms | "
            f"processed {row['processed']} | violations {row['violations']} | "
            f"RSS idle {row['rss_idle']} end {row['rss_end']} MB"
        )


def rss_short(rss: dict[str, float | None]) -> str:
    """Target processes' RSS in MB, slash-separated (serve/workers/graph)."""
    return "/".join("-" if v is None else f"{v:.0f}" for v in rss.values())


def headline_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    closed = {(r["target"], r.get("mix")): r for r in results if r["kind"] == "closed"}
    rows = []
    for (target, mix), r in closed.items():
        paced = [x for x in results if (x["target"], x.get("mix")) == (target, mix)]
        at500 = next((x for x in paced if x["offered_rate"] == 500 and x["kind"] == "open"), None)
        processed = [
            f"{x['processed_per_s']:.0f}/s"
            + (f" at {x['offered_rate']:.0f}/s" if x["offered_rate"] else " at saturation")
            for x in paced
            if "processed_per_s" in x and x["kind"] != "warmup"
        ]
        row: dict[str, Any] = {
            "target": target,
            "mix": mix,
            "ack_per_s": r["ack_rate"],
            "sat_p50": ms(r["latency_ms"]["p50"]),
            "sat_p99": ms(r["latency_ms"]["p99"]),
            "p500_p50": ms(at500["latency_ms"]["p50"]) if at500 else "-",
            "p500_p99": ms(at500["latency_ms"]["p99"]) if at500 else "-",
            "processed": ", ".join(processed) or "-",
            "violations": sum(violated(x) for x in paced),
            "rss_idle": rss_short(r.get("rss_mb", {}).get("idle", {})),
            "rss_end": rss_short(r.get("rss_mb", {}).get("end", {})),
        }
        for peer in ("pywa", "bare"):
            other = closed.get((peer, mix))
            row[peer] = r["ack_rate"] / other["ack_rate"] if other and other["ack_rate"] else None
        rows.append(row)
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per step (default 10)")
    p.add_argument(
        "--rates",
        default="250,500,1000,1500",
        help="offered rates in messages/s, comma-separated (default 250,500,1000,1500)",
    )
    p.add_argument(
        "--targets",
        default=",".join(ALL_TARGETS),
        help=f"comma-separated subset of {','.join(ALL_TARGETS)} (default all)",
    )
    p.add_argument(
        "--output", type=Path, default=None, help="results JSON (default bench/results/)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 3 s steps, rates 250,500")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds at 100/s")
    p.add_argument("--connections", type=int, default=256, help="open-loop connection pool")
    p.add_argument("--closed-connections", type=int, default=64, help="closed-loop connections")
    p.add_argument("--no-closed", dest="closed", action="store_false", help="skip saturation run")
    p.add_argument(
        "--search-steps", type=int, default=3, help="bisection steps for the max sustainable rate"
    )
    p.add_argument("--search-targets", default="sqlite", help="targets to bisect (default sqlite)")
    p.add_argument("--profile", action="store_true", help="py-spy the Relaydesk saturation run")
    p.add_argument("--postgres-url", default=POSTGRES_URL)
    p.add_argument(
        "--mix",
        default="everyday",
        help="comma-separated traffic mixes, each on a fresh target: everyday (2,000 "
        "returning customers, a day's mix of texts), confident (one answerable question "
        "per new customer) (default everyday)",
    )
    p.add_argument(
        "--start-timeout",
        type=float,
        default=300.0,
        help="seconds a target may take to listen (it trains its model first; default 300)",
    )
    p.add_argument(
        "--idle", type=float, default=3.0, help="seconds after start before the idle RSS"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`relaydesk worker` processes of the -split targets (default 1)",
    )
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers {args.workers}: the -split targets need at least 1 worker process")
    if args.quick:
        args.duration, args.rates, args.warmup, args.search_steps = 3.0, "250,500", 1.0, 0
    args.rates = [float(r) for r in args.rates.split(",") if r]
    args.targets = [t for t in args.targets.split(",") if t]
    args.search_targets = [t for t in args.search_targets.split(",") if t]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown:
        p.error(f"unknown targets: {', '.join(sorted(unknown))}")
    args.mix = [m for m in args.mix.split(",") if m]
    bad_mix = set(args.mix) - set(MIXES)
    if bad_mix or not args.mix:
        p.error(
            f"--mix {','.join(sorted(bad_mix)) or '(empty)'}: choose from {', '.join(MIXES)}, "
            "comma-separated"
        )
    args.stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if args.output is None:
        args.output = RESULTS / f"webhooks-{args.stamp}.json"
    return args


async def amain(args: argparse.Namespace) -> int:
    info = machine()
    command = "python -m bench.webhooks " + " ".join(sys.argv[1:])
    log(command)
    log(f"{info['cpu']} x{info['cores']}, Python {info['python']}, load {info['load_before']}")
    results: list[dict[str, Any]] = []
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-") as tmp:
        for mix in args.mix:
            for name in args.targets:
                (Path(tmp) / f"{name}-{mix}").mkdir()
                results.extend(await bench_target(name, mix, args, Path(tmp)))
                write(args, info, command, started_at, results)
    print_summary(results)
    log(f"\nresults: {args.output}")
    bad = any(violated(r) for r in results)
    return 1 if bad else 0


def write(
    args: argparse.Namespace,
    info: dict[str, Any],
    command: str,
    started_at: str,
    results: list[dict[str, Any]],
) -> None:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("output",)
    }
    document = {
        "command": command,
        "started_at": started_at,
        "machine": info,
        "settings": settings,
        "results": results,
    }
    args.output.write_text(json.dumps(document, indent=1))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runner: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=runner) as loop_runner:
        sys.exit(loop_runner.run(amain(args)))


if __name__ == "__main__":
    main()
