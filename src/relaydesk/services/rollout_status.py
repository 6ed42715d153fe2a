"""What the rollout's page, command and API show, and the live figures its gates read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from relaydesk.adapters.storage import rollout as store
from relaydesk.brief.schema import Brief
from relaydesk.domain.rollout import AcceptanceSource, RolloutState
from relaydesk.domain.rollout_gates import Gate, Metrics


@dataclass(frozen=True, slots=True)
class Status:
    state: RolloutState
    gates: list[Gate]
    changes: list[store.ChangeRow]
    window: timedelta
    phases: list[str]
    steps: list[int]
    auto_promote: bool

    def as_dict(self) -> dict[str, Any]:
        status = self
        state = status.state
        return {
            "phase": state.phase,
            "phases": status.phases,
            "segment": state.segment.as_dict(),
            "segment_since": state.segment_since.isoformat(),
            "traffic_steps": status.steps,
            "auto_promote": status.auto_promote,
            "window_seconds": int(status.window.total_seconds()),
            "modes": {
                intent: {"mode": mode, "since": state.mode_since[intent].isoformat()}
                for intent, mode in sorted(state.modes.items())
            },
            "gates": [gate.as_dict() for gate in status.gates],
            "changes": [
                {
                    "at": c.at.isoformat(),
                    "actor": c.actor,
                    "subject": c.subject,
                    "before": c.before,
                    "after": c.after,
                    "reason": c.reason,
                    "figures": c.figures,
                }
                for c in status.changes
            ],
        }


def live_metrics(
    conn: Connection, brief: Brief, state: RolloutState, acceptance: AcceptanceSource, now: datetime
) -> Metrics:
    """The gates' figures now: segment-level counts from the later of the window's start and
    the segment's last change, each intent's acceptance from its own."""
    window_start = now - brief.rollout.pilot_window
    since = max(window_start, state.segment_since)
    accepted: dict[str, tuple[int, int]] = {}
    by_since: dict[datetime, list[str]] = {}
    for intent, mode in state.modes.items():
        if mode != "off":
            start = max(window_start, state.mode_since.get(intent, window_start))
            by_since.setdefault(start, []).append(intent)
    for start, intents in by_since.items():
        counted = acceptance(start, now)
        accepted.update({i: counted[i] for i in intents if i in counted})
    target = brief.rollout.gates.resolution_target.total_seconds()
    return Metrics(
        acceptance=accepted,
        breaches=store.breaches(conn, since, now),
        high_priority=store.high_priority(conn, since, now),
        feedback=store.feedback(conn, since, now),
        csat=store.csat(conn, since, now),
        resolution=store.resolution(conn, since, now, target),
        sends=store.sends(conn, since, now),
    )
