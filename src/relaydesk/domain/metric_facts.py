"""The facts the scorecard reads (plain dataclasses loaded by `adapters.storage.metrics`)
and the shapes of its figures: a rate, durations with percentiles, an average."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

#: Actions the bot takes itself (a reply went out).
BOT_ACTIONS = frozenset({"answer", "clarify"})


@dataclass(frozen=True, slots=True)
class MessageFact:
    at: datetime
    party: str  #: customer | agent (the bot's messages are not read: its decisions are)


@dataclass(frozen=True, slots=True)
class DecisionFact:
    at: datetime
    action: str  #: domain.decision.Action values
    intent: str | None
    triggers: tuple[str, ...]  #: the trigger types that fired
    booking: bool = False  #: it sent the pricing playbook's booking link (qualified)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What the figures read of one conversation."""

    id: int
    customer_id: int
    number: str  #: the business phone number id it came in on
    source: str  #: organic | ad | campaign (`domain.sources`)
    created_at: datetime
    status: str
    queue: str | None
    priority: str | None
    assignee_id: int | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    csat_state: str | None  #: NULL | pending | sent | answered | skipped
    csat_rating: int | None
    feedback: str | None  #: needed | not_needed | too_late
    failure_tags: tuple[str, ...] = ()
    next_conversation_at: datetime | None = None  #: the customer's next conversation
    messages: tuple[MessageFact, ...] = ()  #: oldest first
    decisions: tuple[DecisionFact, ...] = ()  #: oldest first
    rewrites: tuple[tuple[str, str], ...] = ()  #: (draft, sent text) of agents' replies
    booking_clicked: bool = False  #: the customer opened the tracked booking link

    @property
    def booking_offered(self) -> bool:
        """The customer qualified in the pricing playbook and was sent the booking link."""
        return any(d.booking for d in self.decisions)

    @property
    def intent(self) -> str | None:
        """The first intent the bot recognised."""
        return next((d.intent for d in self.decisions if d.intent), None)

    @property
    def first_escalation(self) -> DecisionFact | None:
        return next((d for d in self.decisions if d.action == "escalate"), None)

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None or self.first_escalation is not None

    @property
    def bot_replied(self) -> bool:
        return any(d.action in BOT_ACTIONS for d in self.decisions)

    def first(self, party: str, after: datetime | None = None) -> datetime | None:
        return next(
            (m.at for m in self.messages if m.party == party and (after is None or m.at >= after)),
            None,
        )


@dataclass(frozen=True, slots=True)
class Rate:
    """`numerator / denominator`; None when nothing could be counted."""

    numerator: int
    denominator: int
    ids: tuple[int, ...] = ()  #: the conversations in the denominator
    hits: tuple[int, ...] = ()  #: the conversations in the numerator

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True, slots=True)
class Times:
    """Durations in seconds, one per counted conversation."""

    seconds: tuple[float, ...]
    ids: tuple[int, ...] = ()

    @property
    def p50(self) -> float | None:
        return percentile(self.seconds, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.seconds, 90)


@dataclass(frozen=True, slots=True)
class Average:
    total: float
    count: int
    ids: tuple[int, ...] = ()

    @property
    def value(self) -> float | None:
        return round(self.total / self.count, 3) if self.count else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p% of values at or
    below it (p50 of [1, 2, 3, 4] is 2; p90 of ten values is the ninth)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
