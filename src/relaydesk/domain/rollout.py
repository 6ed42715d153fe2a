"""The rollout: who the bot serves, what each intent may do, and when that changes.

Pure functions of the rollout's state, live figures and `now`. The state (phase, segment,
each intent's mode) lives in the database (`adapters/storage/rollout.py`); the service
(`services/rollout.py`) loads it, asks these functions and saves what they return.

- A customer's *bucket* (0 to 9,999) is a hash of their business-scoped user id, else
  their phone number, taken once and kept on the customer row, so a changed number or a
  new user id never moves them. The segment holds the buckets below its percentage, so a
  widened segment keeps everyone it held.
- A conversation's cohort (pilot or baseline) is decided at its first message: the bucket,
  the click-to-WhatsApp referral, the business number and the message's intent must all
  match the segment.
- Gates are judged over the trailing window, each figure counted from the later of the
  window's start and the last change of what it judges; every proportion carries its
  sample size and a Wilson interval, every lift a Newcombe interval.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from relaydesk.brief.schema import Brief, RolloutGates
from relaydesk.domain import policy
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision, Trigger, Understanding

Mode = Literal["off", "draft", "live"]
MODES: tuple[Mode, ...] = ("off", "draft", "live")
Cohort = Literal["pilot", "baseline"]
PILOT: Cohort = "pilot"
BASELINE: Cohort = "baseline"
BUCKETS = 10_000
#: 95 % two-sided normal quantile, for the Wilson and Newcombe intervals.
Z95 = 1.959964
#: The segment's setting in the change log and `Change.subject`.
SEGMENT = "segment"
PHASE = "phase"


class AcceptanceSource(Protocol):
    """Drafts handled per intent in [since, until): (handled, sent unchanged)."""

    def __call__(self, since: datetime, until: datetime) -> dict[str, tuple[int, int]]: ...


# -- who the bot serves ---------------------------------------------------------------------


def bucket_of(user_id: str | None, wa_id: str | None) -> int:
    """The customer's stable bucket: sha256 of the user id if there is one, else of the
    phone number. Stored on first use and never recomputed (see the module docstring)."""
    key = f"u:{user_id}" if user_id else f"p:{wa_id or ''}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True, slots=True)
class Segment:
    percent: int  #: 0 to 100: buckets below percent * 100 are in
    sources: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    business_numbers: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "percent": self.percent,
            "sources": list(self.sources),
            "campaigns": list(self.campaigns),
            "business_numbers": list(self.business_numbers),
            "intents": list(self.intents),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        return cls(
            percent=int(data["percent"]),
            sources=tuple(data.get("sources", ())),
            campaigns=tuple(data.get("campaigns", ())),
            business_numbers=tuple(data.get("business_numbers", ())),
            intents=tuple(data.get("intents", ())),
        )


@dataclass(frozen=True, slots=True)
class Arrival:
    """What decides a conversation's cohort: its first decided message."""

    bucket: int
    phone_number_id: str
    referral: Mapping[str, Any] | None
    intent: str | None


def referral_source(referral: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(source_id, utm_campaign of source_url) of a click-to-WhatsApp referral."""
    if not referral:
        return None, None
    source = referral.get("source_id")
    url = referral.get("source_url")
    campaign = None
    if isinstance(url, str):
        values = parse_qs(urlsplit(url).query).get("utm_campaign")
        campaign = values[0] if values else None
    return (str(source) if source is not None else None), campaign


def cohort_for(segment: Segment, arrival: Arrival) -> Cohort:
    """Pilot when the arrival matches every part of the segment, else baseline."""
    source, campaign = referral_source(arrival.referral)
    matches = (
        arrival.bucket < segment.percent * (BUCKETS // 100),
        not segment.sources or source in segment.sources,
        not segment.campaigns or campaign in segment.campaigns,
        not segment.business_numbers or arrival.phone_number_id in segment.business_numbers,
        not segment.intents or arrival.intent in segment.intents,
    )
    return PILOT if all(matches) else BASELINE


#: What the bot says itself; anything else (escalate, silence, ignore, defer) passes.
BOT_ANSWERS = frozenset({Action.ANSWER, Action.CLARIFY})


def held_back(
    outcome: policy.Outcome,
    brief: Brief,
    state: ConversationState,
    understanding: Understanding,
    reason: str,
    now: datetime,
    preface: tuple[str, ...] = (),
) -> policy.Outcome:
    """`outcome` with the bot held back: an answer or a question becomes a handoff to
    people (a trigger of type `rollout` says why; `preface` before the handoff message),
    or silence while people already own or wait on the conversation."""
    decision = outcome.decision
    if decision.action not in BOT_ANSWERS:
        return outcome
    if state.status is not ConversationStatus.BOT:
        quiet = Decision(Action.SILENT, brief.version, detail={"reason": reason})
        return policy.Outcome(quiet, state.dialogue)
    trigger = Trigger("rollout", reason, 1.0, 1.0)
    triggers = (*(t for t in decision.triggers if not t.escalates), trigger)
    return policy.hand_over(brief, understanding, triggers, state.dialogue, now, preface)


# -- the state --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RolloutState:
    phase: str
    segment: Segment
    segment_since: datetime  #: the segment's last change
    modes: Mapping[str, Mode]
    mode_since: Mapping[str, datetime] = field(default_factory=dict)

    def mode(self, intent: str | None) -> Mode:
        """An intent's mode; an intent the rollout does not know (new in the brief) is live,
        as the brief's answers are."""
        return self.modes.get(intent or "", "live")


def initial_state(brief: Brief, now: datetime) -> RolloutState:
    """The rollout as the brief starts it (used once, when the database holds none)."""
    config = brief.rollout
    segment = config.segment
    modes: dict[str, Mode] = {}
    for name in brief.intents:
        modes[name] = (
            "off"
            if name in config.off_intents
            else "draft"
            if name in config.draft_intents
            else "live"
        )
    return RolloutState(
        phase=config.phase,
        segment=Segment(
            config.traffic_percent,
            tuple(segment.sources),
            tuple(segment.campaigns),
            tuple(segment.business_numbers),
            tuple(segment.intents),
        ),
        segment_since=now,
        modes=modes,
        mode_since=dict.fromkeys(modes, now),
    )


# -- figures --------------------------------------------------------------------------------


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


# -- changes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the rollout, as the change log records it."""

    subject: str  #: an intent, SEGMENT or PHASE
    before: str
    after: str
    reason: str
    figures: Mapping[str, Any] = field(default_factory=dict)


def apply(state: RolloutState, change: Change, now: datetime) -> RolloutState:
    """The state after `change`."""
    if change.subject == PHASE:
        return replace(state, phase=change.after)
    if change.subject == SEGMENT:
        segment = replace(state.segment, percent=int(change.after))
        return replace(state, segment=segment, segment_since=now)
    if change.after not in MODES:
        raise ValueError(f"mode {change.after!r}; expected one of {', '.join(MODES)}")
    modes = {**state.modes, change.subject: change.after}
    return replace(
        state,
        modes=modes,
        mode_since={**state.mode_since, change.subject: now},
    )


def value_of(state: RolloutState, subject: str) -> str:
    """What `subject` is now, as a change's `before` says it."""
    if subject == PHASE:
        return state.phase
    if subject == SEGMENT:
        return str(state.segment.percent)
    return state.mode(subject)


def wider(percent: int, steps: Sequence[int]) -> int | None:
    """The next traffic step above `percent`, or None at the top."""
    return next((step for step in steps if step > percent), None)


def narrower(percent: int, steps: Sequence[int]) -> int | None:
    """The traffic step below `percent` (0 below the first), or None at 0."""
    if percent <= 0:
        return None
    return max((step for step in steps if step < percent), default=0)


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
