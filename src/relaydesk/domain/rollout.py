"""The rollout: who the bot serves, what each intent may do, and when that changes.

Pure functions of the rollout's state and `now`. The state (phase, segment,
each intent's mode) lives in the database (`adapters/storage/rollout.py`); the service
(`services/rollout.py`) loads it, asks these functions and saves what they return.

- A customer's *bucket* (0 to 9,999) is a hash of their business-scoped user id, else
  their phone number, taken once and kept on the customer row, so a changed number or a
  new user id never moves them. The segment holds the buckets below its percentage, so a
  widened segment keeps everyone it held.
- A conversation's cohort (pilot or baseline) is decided at its first message: the bucket,
  the click-to-WhatsApp referral, the business number and the message's intent must all
  match the segment.
- Gates (`domain.rollout_gates`) judge live figures and return the changes made here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from relaydesk.brief.schema import Brief
from relaydesk.domain import policy
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Decision, Trigger, Understanding

Mode = Literal["off", "draft", "live"]
MODES: tuple[Mode, ...] = ("off", "draft", "live")
Cohort = Literal["pilot", "baseline"]
PILOT: Cohort = "pilot"
BASELINE: Cohort = "baseline"
BUCKETS = 10_000
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
