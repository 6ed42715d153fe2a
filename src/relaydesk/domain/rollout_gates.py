"""The rollout's gates: live figures with their sample sizes and 95 % intervals, what
they promote and what broken guards roll back. Pure; `domain.rollout` holds the state
they judge and the changes they return (docs/rollout.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from relaydesk.brief.schema import RolloutGates
from relaydesk.domain.rollout import (
    BASELINE,
    PILOT,
    SEGMENT,
    Change,
    Cohort,
    RolloutState,
    narrower,
    wider,
)

#: 95 % two-sided normal quantile, for the Wilson and Newcombe intervals.
Z95 = 1.959964


@dataclass(frozen=True, slots=True)
class Figure:
    """A proportion (or a difference of two) with its sample size and 95 % interval."""

    value: float | None  #: None without data
    n: int
    low: float | None
    high: float | None
    hits: int = 0  #: successes, for a proportion

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": _round(self.value),
            "n": self.n,
            "low": _round(self.low),
            "high": _round(self.high),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def wilson(hits: int, n: int, z: float = Z95) -> Figure:
    """`hits` of `n` with Wilson's score interval (right at 0 and n, unlike the normal one)."""
    if n <= 0:
        return Figure(None, 0, None, None, 0)
    if not 0 <= hits <= n:
        raise ValueError(f"hits={hits} of n={n}; hits must be between 0 and n")
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Figure(p, n, max(0.0, centre - half), min(1.0, centre + half), hits)


def lift(pilot: Figure, baseline: Figure) -> Figure:
    """pilot - baseline with Newcombe's hybrid score interval (from the two Wilson
    intervals); n is the smaller sample."""
    if pilot.value is None or baseline.value is None:
        return Figure(None, min(pilot.n, baseline.n), None, None)
    assert pilot.low is not None and pilot.high is not None  # set with value
    assert baseline.low is not None and baseline.high is not None
    difference = pilot.value - baseline.value
    low = difference - math.hypot(pilot.value - pilot.low, baseline.high - baseline.value)
    high = difference + math.hypot(pilot.high - pilot.value, baseline.value - baseline.low)
    return Figure(difference, min(pilot.n, baseline.n), low, high)


@dataclass(frozen=True, slots=True)
class Breach:
    """A P1 or P2 pilot conversation past its SLA, unresolved at the breach."""

    conversation_id: int
    priority: str
    intent: str | None  #: of the decision that escalated it
    at: datetime


@dataclass(frozen=True, slots=True)
class Metrics:
    """Live figures as counts. Segment-level counts cover the window from the segment's
    last change; `acceptance` covers each intent from its own."""

    acceptance: Mapping[str, tuple[int, int]]  #: intent -> (handled, sent unchanged)
    breaches: Sequence[Breach]
    high_priority: int  #: P1/P2 pilot conversations escalated in the window
    feedback: tuple[int, int]  #: (verdicts, needed)
    csat: Mapping[Cohort, tuple[int, int]]  #: (answers, satisfied: 4 or 5)
    resolution: Mapping[Cohort, tuple[int, int]]  #: (resolved, within the target)
    sends: tuple[int, int]  #: pilot sends (finished, failed)


@dataclass(frozen=True, slots=True)
class Gate:
    name: str  #: acceptance | high_priority_sla | escalation_precision | csat_lift | ...
    subject: str | None  #: the intent, for acceptance
    figure: Figure
    threshold: str  #: as people read it: ">= 0.80 over >= 30"
    holds: bool
    measured: bool  #: enough data to judge

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subject": self.subject,
            "figure": self.figure.as_dict(),
            "threshold": self.threshold,
            "holds": self.holds,
            "measured": self.measured,
        }


def evaluate(state: RolloutState, metrics: Metrics, gates: RolloutGates) -> list[Gate]:
    """Every gate: acceptance per intent not off, then the segment's gates."""
    found: list[Gate] = []
    for intent in sorted(state.modes):
        if state.modes[intent] == "off":
            continue
        handled, unchanged = metrics.acceptance.get(intent, (0, 0))
        figure = wilson(unchanged, handled)
        enough = handled >= gates.min_drafts
        holds = enough and (figure.value or 0.0) >= gates.acceptance_rate
        threshold = f">= {gates.acceptance_rate:.2f} over >= {gates.min_drafts} drafts"
        found.append(Gate("acceptance", intent, figure, threshold, holds, enough))
    breaches = wilson(len(metrics.breaches), max(metrics.high_priority, len(metrics.breaches)))
    found.append(
        Gate(
            "high_priority_sla", None, breaches, "no P1/P2 past its SLA", not metrics.breaches, True
        )
    )
    verdicts, needed = metrics.feedback
    precision = wilson(needed, verdicts)
    enough = verdicts >= gates.min_feedback
    found.append(
        Gate(
            "escalation_precision",
            None,
            precision,
            f">= {gates.escalation_precision:.2f} over >= {gates.min_feedback} verdicts",
            enough and (precision.value or 0.0) >= gates.escalation_precision,
            enough,
        )
    )
    for name, counts in (("csat_lift", metrics.csat), ("resolution_lift", metrics.resolution)):
        pilot = wilson(counts.get(PILOT, (0, 0))[1], counts.get(PILOT, (0, 0))[0])
        baseline = wilson(counts.get(BASELINE, (0, 0))[1], counts.get(BASELINE, (0, 0))[0])
        gained = lift(pilot, baseline)
        enough = min(pilot.n, baseline.n) >= gates.min_conversations
        found.append(
            Gate(
                name,
                None,
                gained,
                f">= {gates.min_lift:+.2f} over >= {gates.min_conversations} per cohort",
                enough and (gained.value or 0.0) >= gates.min_lift,
                enough,
            )
        )
    finished, failed = metrics.sends
    errors = wilson(failed, finished)
    enough = finished >= gates.min_sends
    found.append(
        Gate(
            "send_errors",
            None,
            errors,
            f"<= {gates.max_send_error_rate:.2f} over >= {gates.min_sends} sends",
            enough and (errors.value or 0.0) <= gates.max_send_error_rate,
            enough,
        )
    )
    return found


# -- promotion and rollback -------------------------------------------------------------------


def _figures(found: Sequence[Gate]) -> dict[str, Any]:
    """The change log's figures: per gate, its figure (value, n, interval) and verdict."""
    return {
        (g.name if g.subject is None else f"{g.name}:{g.subject}"): {
            **g.figure.as_dict(),
            "threshold": g.threshold,
            "holds": g.holds,
        }
        for g in found
    }


def _segment_gates_hold(found: Sequence[Gate]) -> bool:
    return all(g.holds for g in found if g.name != "acceptance")


def _intent_gates(found: Sequence[Gate], intent: str) -> list[Gate]:
    return [
        g
        for g in found
        if (g.name == "acceptance" and g.subject == intent)
        or g.name in ("high_priority_sla", "escalation_precision")
    ]


def promotion(
    state: RolloutState,
    found: Sequence[Gate],
    subject: str,
    steps: Sequence[int],
) -> tuple[Change | None, list[Gate]]:
    """Promote `subject` (an intent: draft to live; SEGMENT: the next traffic step) if its
    gates hold: (the change, []) or (None, the gates that do not hold). An intent needs its
    acceptance, no P1/P2 past SLA and escalation precision; the segment needs every gate
    but acceptance (lift over the baseline included)."""
    if subject == SEGMENT:
        checked = [g for g in found if g.name != "acceptance"]
        target = wider(state.segment.percent, steps)
        if target is None:
            return None, []
        before = str(state.segment.percent)
        after = str(target)
        reason = f"gates hold: segment widened to {target} %"
    else:
        if state.mode(subject) != "draft":
            return None, []
        checked = _intent_gates(found, subject)
        before, after = "draft", "live"
        reason = f"gates hold: {subject} answered live"
    failing = [g for g in checked if not g.holds]
    if failing:
        return None, failing
    return Change(subject, before, after, reason, _figures(checked)), []


def due_promotions(
    state: RolloutState,
    found: Sequence[Gate],
    steps: Sequence[int],
    window: timedelta,
    now: datetime,
) -> list[Change]:
    """What the gates promote on their own (`rollout.auto_promote`): each draft intent and
    the segment whose gates hold and that has stood unchanged for the whole window."""
    changes: list[Change] = []
    for intent in sorted(state.modes):
        since = state.mode_since.get(intent)
        if state.modes[intent] == "draft" and since is not None and now - since >= window:
            change, _ = promotion(state, found, intent, steps)
            if change is not None:
                changes.append(change)
    if now - state.segment_since >= window and _segment_gates_hold(found):
        change, _ = promotion(state, found, SEGMENT, steps)
        if change is not None:
            changes.append(change)
    return changes


def rollbacks(
    state: RolloutState,
    found: Sequence[Gate],
    metrics: Metrics,
    gates: RolloutGates,
    steps: Sequence[int],
) -> list[Change]:
    """What broken guards undo at once. A live intent goes back to draft when its
    acceptance falls below the gate, or when a P1 it escalated passed its SLA after the
    intent went live; the segment shrinks a step for a P1 past its SLA with no live intent
    to blame, a CSAT drop beyond `max_csat_drop`, or a send-error spike."""
    changes: list[Change] = []
    by_name = {(g.name, g.subject): g for g in found}
    sla_gate = by_name[("high_priority_sla", None)]
    blamed: set[int] = set()
    for intent in sorted(state.modes):
        if state.modes[intent] != "live":
            continue
        accepted = by_name.get(("acceptance", intent))
        since = state.mode_since.get(intent)
        p1 = [
            b
            for b in metrics.breaches
            if b.priority == "P1" and b.intent == intent and (since is None or b.at >= since)
        ]
        blamed.update(b.conversation_id for b in p1)
        if accepted is not None and accepted.measured and not accepted.holds:
            reason = (
                f"acceptance {accepted.figure.value or 0.0:.2f} below "
                f"{gates.acceptance_rate:.2f} over {accepted.figure.n} drafts"
            )
        elif p1:
            reason = f"P1 conversation {p1[0].conversation_id} past its SLA"
        else:
            continue
        figures = _figures([g for g in (accepted, sla_gate) if g is not None])
        changes.append(Change(intent, "live", "draft", reason, figures))
    target = narrower(state.segment.percent, steps)
    shrink = _shrink_reason(state, by_name, metrics, gates, blamed)
    if shrink is not None and target is not None:
        figures = _figures([g for g in found if g.name != "acceptance"])
        changes.append(Change(SEGMENT, str(state.segment.percent), str(target), shrink, figures))
    return changes


def _handled(state: RolloutState, breach: Breach) -> bool:
    """The intent that escalated `breach` changed mode after it (rolled back for it)."""
    since = state.mode_since.get(breach.intent or "")
    return since is not None and since > breach.at


def _shrink_reason(
    state: RolloutState,
    by_name: Mapping[tuple[str, str | None], Gate],
    metrics: Metrics,
    gates: RolloutGates,
    blamed: set[int],
) -> str | None:
    unblamed = [
        b
        for b in metrics.breaches
        if b.priority == "P1"
        and b.conversation_id not in blamed
        and b.at >= state.segment_since
        and not _handled(state, b)
    ]
    if unblamed:
        return f"P1 conversation {unblamed[0].conversation_id} past its SLA"
    csat = by_name[("csat_lift", None)]
    if csat.measured and (csat.figure.value or 0.0) < -gates.max_csat_drop:
        return (
            f"CSAT {csat.figure.value or 0.0:+.2f} against the baseline, a drop beyond "
            f"{gates.max_csat_drop:.2f}"
        )
    sends = by_name[("send_errors", None)]
    if sends.measured and not sends.holds:
        return (
            f"send errors {sends.figure.value or 0.0:.2f} above "
            f"{gates.max_send_error_rate:.2f} over {sends.figure.n} sends"
        )
    return None
