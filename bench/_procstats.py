"""Per-process figures of the benchmark targets: resident memory from /proc and the CPU
each stage of a `relaydesk serve` process reports on `/metrics`.

`relaydesk_stage_cpu_seconds_total{stage="receive"|"store"|"decide"}` is the thread CPU time
of each stage. `serve`'s `/metrics` includes its worker child's decide stage (merged in
from the child's metrics port); a `relaydesk worker` run beside `serve --no-worker` (the
-split targets) is started without `--metrics-port`, so its CPU is its process CPU and its
decide stage is counted under send. The send stage is what is left: all CPU of the
Relaydesk processes minus the stages `serve` reports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench import _loadgen as lg

STAGES = ("receive", "store", "decide")
_TICK = os.sysconf("SC_CLK_TCK")
_STAGE = re.compile(
    r'^relaydesk_stage_cpu_seconds_total\{[^}]*stage="(?P<stage>[a-z_]+)"[^}]*\}\s+(?P<v>\S+)',
    re.MULTILINE,
)


def children(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is `pid`, e.g. `serve`'s worker child."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return sorted(found)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds so far of `pid` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mb(pid: int) -> float | None:
    """VmRSS of `pid` in MB (None when the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def parse_stage_cpu(exposition: str) -> dict[str, float] | None:
    """Stage -> CPU seconds from a Prometheus text exposition; None without the metric."""
    found: dict[str, float] = {}
    for match in _STAGE.finditer(exposition):
        found[match["stage"]] = found.get(match["stage"], 0.0) + float(match["v"])
    return found or None


async def stage_cpu(port: int) -> dict[str, float] | None:
    """The stage CPU counters of the `relaydesk serve` on `port`; None when absent or
    unreadable (an older build, or /metrics refused)."""
    conn = lg.Connection("127.0.0.1", port)
    try:
        status, body, _ = await conn.call(lg.http_request("GET", "/metrics", port))
    except (OSError, ValueError, EOFError):
        return None
    finally:
        conn.close()
    if status != 200:
        return None
    return parse_stage_cpu(body.decode(errors="replace"))


def per_message_ms(
    before: dict[str, float] | None,
    after: dict[str, float] | None,
    total_cpu_s: float,
    messages: int,
) -> dict[str, float | None]:
    """CPU ms per message for receive, store, decide and send (the rest of the Relaydesk
    processes' CPU); stages are None when the metric is absent."""
    if not messages:
        return {stage: None for stage in (*STAGES, "send")}
    if after is None:
        return {stage: None for stage in (*STAGES, "send")} | {
            "total": 1000 * total_cpu_s / messages
        }
    before = before or {}  # a counter's labels appear with its first increment
    spent = {s: max(0.0, after.get(s, 0.0) - before.get(s, 0.0)) for s in STAGES}
    out: dict[str, float | None] = {s: 1000 * v / messages for s, v in spent.items()}
    out["send"] = 1000 * max(0.0, total_cpu_s - sum(spent.values())) / messages
    out["total"] = 1000 * total_cpu_s / messages
    return out


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
