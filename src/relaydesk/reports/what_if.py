"""The what-if comparison (`relaydesk replay --against`) as JSON and terminal lines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from relaydesk.domain.simulation_values import WaitStats
from relaydesk.services.what_if import BriefRun, WhatIf


def as_json(what_if: WhatIf) -> dict[str, Any]:
    return {
        "base_brief": what_if.base.version,
        "other_brief": what_if.other.version,
        "handle_time_minutes": _minutes(what_if.handle_time),
        "fixed": what_if.count("fixed"),
        "broke": what_if.count("broke"),
        "changed": what_if.count("changed"),
        "changes": [
            {"conversation_id": c.conversation_id, "kind": c.kind, "turns": list(c.turns)}
            for c in what_if.changes
        ],
        "base": _run(what_if.base),
        "other": _run(what_if.other),
    }


def _run(run: BriefRun) -> dict[str, Any]:
    simulation = run.simulation
    return {
        "escalations": run.escalations,
        "unstaffed_queues": list(run.unstaffed),
        "by_queue": run.by_queue,
        "by_priority": run.by_priority,
        "by_hour": {str(h): n for h, n in sorted(run.by_hour.items())},
        "simulated": None
        if simulation is None
        else {
            "overall": _stats(simulation.overall),
            "by_queue": {q: _stats(s) for q, s in simulation.by_queue.items()},
            "utilisation": round(simulation.utilisation, 3),
        },
    }


def _stats(stats: WaitStats) -> dict[str, Any]:
    return {
        "count": stats.count,
        "served": stats.served,
        "mean_wait_minutes": _minutes(stats.mean_wait),
        "p90_wait_minutes": _minutes(stats.p90_wait),
        "max_wait_minutes": _minutes(stats.max_wait),
        "sla_breaches": stats.breaches,
    }


def lines(what_if: WhatIf) -> list[str]:
    base, other = what_if.base, what_if.other
    out = [
        f"What-if: brief {base.version} -> {other.version}",
        f"  conversations fixed {what_if.count('fixed')}, broken {what_if.count('broke')}, "
        f"otherwise changed {what_if.count('changed')}",
        f"  escalations {base.escalations} -> {other.escalations}",
    ]
    for queue in sorted(set(base.by_queue) | set(other.by_queue)):
        before, after = base.by_queue.get(queue, 0), other.by_queue.get(queue, 0)
        out.append(f"    {queue:<16} {before:>6} -> {after:<6} ({after - before:+d})")
    for name, run in (("current", base), ("proposed", other)):
        for queue in run.unstaffed:
            out.append(f"  {name}: nobody in the roster has the skills of queue {queue}")
        if run.simulation is None:
            out.append(f"  {name}: no escalations or no roster, no queue to simulate")
            continue
        overall = run.simulation.overall
        out.append(
            f"  {name}: predicted mean wait {_minutes(overall.mean_wait)} min, p90 "
            f"{_minutes(overall.p90_wait)} min, {overall.breaches} SLA breaches, "
            f"{overall.unserved} never served, agents {run.simulation.utilisation:.0%} busy"
        )
    for change in what_if.changes[:10]:
        out.append(f"  {change.kind:<7} {change.conversation_id}: {change.turns[0]}")
    return out


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)
