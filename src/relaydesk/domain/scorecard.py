"""The balanced scorecard of a period (speed, quality, outcomes) against the brief's
`kpi_targets` and the period before, weekly cohorts, and the conversations picked for the
weekly calibration session. Pure: the figures come from `domain.metrics`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relaydesk.brief.schema import Brief, KpiTargets
from relaydesk.domain import metrics as m
from relaydesk.domain.metric_facts import Average, ConversationFacts, Figured, Rate, Times


@dataclass(frozen=True, slots=True)
class Line:
    """One figure of the scorecard."""

    key: str
    label: str
    group: str  #: speed | quality | outcomes
    unit: str  #: seconds | ratio | rating
    value: float | None
    count: int  #: the size of its denominator
    ids: tuple[int, ...]  #: the conversations behind it
    target: float | None = None  #: from the brief's kpi_targets
    higher_is_better: bool = True

    @property
    def on_target(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "group": self.group,
            "unit": self.unit,
            "value": self.value,
            "count": self.count,
            "target": self.target,
            "on_target": self.on_target,
        }


def _p(key: str, label: str, times: Times, pct: int, target: float | None = None) -> Line:
    value = times.p50 if pct == 50 else times.p90
    return Line(key, label, "speed", "seconds", value, len(times.seconds), times.ids, target, False)


def _r(
    key: str,
    label: str,
    group: str,
    rate: Rate,
    target: float | None = None,
    *,
    higher: bool = True,
) -> Line:
    return Line(key, label, group, "ratio", rate.value, rate.denominator, rate.hits, target, higher)


def scorecard(
    convs: Sequence[Figured],
    brief: Brief,
    now: datetime,
    outcomes: Sequence[m.SlaOutcome] | None = None,
) -> tuple[Line, ...]:
    """Every figure of the cohort `convs` as known at `now` (`outcomes`: their
    `metrics.sla_outcomes`, when the caller has them already)."""
    k: KpiTargets = brief.kpi_targets
    first, resolution, lag = m.first_response(convs), m.resolution(convs), m.escalation_lag(convs)
    outcomes = m.sla_outcomes(convs, brief, now) if outcomes is None else outcomes
    judged = [o for o in outcomes if o.met is not None]
    sla_all = Rate(
        sum(1 for o in judged if o.met),
        len(judged),
        tuple(o.conversation_id for o in judged),
        tuple(o.conversation_id for o in judged if o.met),
    )
    accepted = m.draft_acceptance(convs)
    rating: Average = m.csat(convs)
    return (
        _p("first_response_p50", "First response p50", first, 50),
        _p("first_response_p90", "First response p90", first, 90,
           k.first_response_p90.total_seconds()),
        _p("resolution_p50", "Resolution p50", resolution, 50),
        _p("resolution_p90", "Resolution p90", resolution, 90, k.resolution_p90.total_seconds()),
        _p("escalation_lag_p50", "Escalation lag p50", lag, 50),
        _p("escalation_lag_p90", "Escalation lag p90", lag, 90),
        _r("sla_attainment", "SLA attainment", "speed", sla_all),
        _r("escalation_rate", "Escalation rate", "quality", m.escalation_rate(convs),
           higher=False),
        _r("escalation_precision", "Escalation precision", "quality",
           m.escalation_precision(convs), k.escalation_precision),
        _r("escalation_recall", "Escalation recall (proxy)", "quality",
           m.escalation_recall(convs), k.escalation_recall),
        Line("draft_acceptance", "Drafts sent unchanged", "quality", "ratio", accepted.value,
             accepted.replies, accepted.ids, k.acceptance_rate),
        Line("csat", "CSAT", "quality", "rating", rating.value, rating.count, rating.ids, k.csat),
        _r("csat_response_rate", "CSAT response rate", "quality", m.csat_response_rate(convs)),
        _r("reopen_rate", "Reopen rate (7 days)", "quality", m.reopen_rate(convs, now),
           higher=False),
        _r("deflection", "Deflection", "outcomes", m.deflection(convs), k.deflection_rate),
        _r("automated_resolution", "Automated resolution", "outcomes",
           m.automated_resolution(convs, now)),
        _r("qualified", "Qualified by a playbook", "outcomes", m.qualified(convs)),
        _r("conversions", "Booking link opened", "outcomes", m.conversions(convs)),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Compared:
    line: Line
    previous: Line | None

    @property
    def change(self) -> float | None:
        if self.previous is None or self.previous.value is None or self.line.value is None:
            return None
        return round(self.line.value - self.previous.value, 4)


def compare(current: Sequence[Line], previous: Sequence[Line]) -> list[Compared]:
    """Each line beside the same line of the period before."""
    before = {line.key: line for line in previous}
    return [Compared(line, before.get(line.key)) for line in current]


# -- cohorts ------------------------------------------------------------------------------

DIMENSIONS: dict[str, Callable[[Figured], str]] = {
    "source": lambda c: c.source,
    "intent": lambda c: c.intent or "(none)",
    "number": lambda c: c.number,
}


@dataclass(frozen=True, slots=True)
class CohortRow:
    key: str
    conversations: int
    escalation: Rate
    deflection: Rate
    automated_resolution: Rate
    csat: Average
    ids: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "conversations": self.conversations,
            "escalation_rate": self.escalation.value,
            "deflection": self.deflection.value,
            "automated_resolution": self.automated_resolution.value,
            "csat": self.csat.value,
        }


def cohorts(convs: Sequence[Figured], dimension: str, now: datetime) -> list[CohortRow]:
    """The cohort split by `dimension` (source, intent or number), largest first."""
    try:
        key = DIMENSIONS[dimension]
    except KeyError:
        raise ValueError(
            f"cohort dimension {dimension!r}; expected one of: {', '.join(DIMENSIONS)}"
        ) from None
    groups: dict[str, list[Figured]] = {}
    for c in convs:
        groups.setdefault(key(c), []).append(c)
    rows = [
        CohortRow(
            name,
            len(group),
            m.escalation_rate(group),
            m.deflection(group),
            m.automated_resolution(group, now),
            m.csat(group),
            tuple(c.id for c in group),
        )
        for name, group in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.conversations, r.key))


# -- calibration --------------------------------------------------------------------------


def calibration(
    convs: Sequence[ConversationFacts], now: datetime, each: int = 5
) -> tuple[list[ConversationFacts], list[ConversationFacts]]:
    """Conversations to read together in the weekly calibration session: `each` escalated
    and `each` handled by the bot alone. The rule: failures first (`metrics.failed`: a
    bot-failure trigger, a failure tag, "too late", a bot-only conversation that came
    back), then the lowest CSAT, then the most messages from the customer and agents;
    ties by id. Ranked this way the
    session reads what most needs a decision."""

    def rank(c: ConversationFacts) -> tuple[int, int, int, int]:
        rating = c.csat_rating if c.csat_rating is not None else 6
        return (0 if m.failed(c, now) else 1, rating, -len(c.messages), c.id)

    escalated = sorted((c for c in convs if c.escalated), key=rank)[:each]
    bot_only = sorted((c for c in convs if not c.escalated and c.bot_replied), key=rank)[:each]
    return escalated, bot_only
