"""Markdown tables of a `bench.webhooks` results file, as docs/benchmarks.md shows them:

    python -m bench.report bench/results/webhooks-before-redesign.json

Per target and mix: acknowledged/s at saturation with ratios against pywa and bare of the
same run, p50/p99 acknowledgement latency at saturation and at a paced 500/s, fully
processed/s, exactly-once violations and RSS; then CPU ms per message per stage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import _procstats as ps
from bench.webhooks import LABELS, headline_rows


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def tables(document: dict[str, Any]) -> str:
    results = document["results"]
    machine = document["machine"]
    load = machine.get("load_before", [None])[0]
    steps = [r["loadavg_1m_after"] for r in results if "loadavg_1m_after" in r]
    lines = [
        f"Command: `{document['command']}`  ",
        f"Started {document['started_at']} on {machine['cpu']} x{machine['cores']}, Python "
        f"{machine['python']}; 1-minute load average {load:.1f} at the start, "
        f"{min(steps):.1f} to {max(steps):.1f} after the steps.",
        "",
        "| target | mix | ack/s at saturation | vs pywa | vs bare | p50 / p99 ms, saturation "
        "| p50 / p99 ms, paced 500/s | fully processed/s | exactly-once violations "
        "| RSS MB idle / end |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in headline_rows(results):
        lines.append(
            f"| {LABELS.get(row['target'], row['target'])} | {row['mix']} "
            f"| {row['ack_per_s']:,.0f} | {ratio(row['pywa'])} | {ratio(row['bare'])} "
            f"| {row['sat_p50']} / {row['sat_p99']} | {row['p500_p50']} / {row['p500_p99']} "
            f"| {row['processed']} | {row['violations']} | {row['rss_idle']} / {row['rss_end']} |"
        )
    staged = [r for r in results if r.get("stage_cpu_ms_per_msg") and r["kind"] != "warmup"]
    if staged:
        lines += [
            "",
            "| target | mix | step | receive | store | decide | send | all Relaydesk CPU "
            "| worker process |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in staged:
            stages = r["stage_cpu_ms_per_msg"]
            step = f"{r['offered_rate']:.0f}/s" if r["offered_rate"] else "saturation"
            worker = r.get("worker_cpu_ms_per_msg")
            lines.append(
                f"| {r['target']} | {r['mix']} | {step} | "
                + " | ".join(ps.fmt_ms(stages.get(k)) for k in (*ps.STAGES, "send", "total"))
                + f" | {ps.fmt_ms(worker)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m bench.report RESULTS.json")
    path = Path(args[0])
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: not a bench.webhooks results file ({exc})") from None
    print(tables(document))


if __name__ == "__main__":
    main()
