"""The facts the scorecard reads (plain dataclasses loaded by `adapters.storage.metrics`),
what the figures read of a conversation (`Figured`: the facts, or their stored summary,
`domain.metric_summary`) and the shapes of its figures: a rate, durations with
percentiles, an average."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Protocol

from relaydesk.domain.desk import edit_distance
from relaydesk.domain.sla import Outlook

#: Actions the bot takes itself (a reply went out).
BOT_ACTIONS = frozenset({"answer", "clarify"})
#: A customer silent this long has ended a contact; their next message is a return (the
#: WhatsApp customer-service window is as long).
CONTACT_GAP = timedelta(hours=24)
#: The recall proxy's "came back": the customer was silent at least `RETURN_QUIET` after a
#: bot reply and wrote again within `RETURN_WITHIN` of it, and that turn escalated.
RETURN_QUIET = timedelta(hours=1)
RETURN_WITHIN = timedelta(hours=24)


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

    @property
    def first_escalation_at(self) -> datetime | None:
        first = self.first_escalation
        return None if first is None else first.at

    @property
    def escalation_triggers(self) -> tuple[str, ...]:
        """The trigger types that fired in the first escalation."""
        first = self.first_escalation
        return () if first is None else first.triggers

    @property
    def escalation_reply_at(self) -> datetime | None:
        """The first human reply since the conversation was escalated."""
        return None if self.escalated_at is None else self.first("agent", after=self.escalated_at)

    @property
    def lag_reply_at(self) -> datetime | None:
        """The first human reply since the bot's first escalate decision."""
        at = self.first_escalation_at
        return None if at is None else self.first("agent", after=at)

    @property
    def came_back(self) -> bool:
        """The bot kept the conversation, the customer went quiet (`RETURN_QUIET`) and came
        back within `RETURN_WITHIN` of the bot's last reply, and that return was escalated."""
        first = self.first_escalation
        if first is None:
            return False
        replies = [d.at for d in self.decisions if d.action in BOT_ACTIONS and d.at < first.at]
        if not replies:
            return False
        silence = first.at - replies[-1]  # the bot answers each turn at once: the customer's
        return RETURN_QUIET <= silence <= RETURN_WITHIN  # silence is since its last reply

    @property
    def contact(self) -> tuple[datetime | None, datetime | None]:
        """(when the first contact ended, when the customer came back within this
        conversation). A contact ends at resolution, or at the last customer message before
        a silence of `CONTACT_GAP` (the next one is the return); with no such silence, at
        the last customer message (a return can then only be a later conversation)."""
        if self.resolved_at is not None:
            return self.resolved_at, None
        inbound = [m.at for m in self.messages if m.party == "customer"]
        if not inbound:
            return None, None
        for before, after in pairwise(inbound):
            if after - before >= CONTACT_GAP:
                return before, after
        return inbound[-1], None

    @property
    def drafts(self) -> Drafts:
        """Agents' replies sent from a draft: how many, how many rewritten, and whether one
        went out as drafted (whitespace aside)."""
        replies = rewritten = 0
        kept = False
        for draft, final in self.rewrites:
            replies += 1
            a, b = " ".join(draft.split()), " ".join(final.split())
            if a == b:
                kept = True
            elif _rewritten(a, b):
                rewritten += 1
        return Drafts(replies, rewritten, kept)

    @property
    def sla_final(self) -> tuple[str, bool] | None:
        """Read from facts, no SLA outcome is stored: the clocks are worked out."""
        return None

    @property
    def sla_messages(self) -> tuple[MessageFact, ...] | None:
        return self.messages

    @property
    def sla_outlook(self) -> tuple[str, Outlook] | None:
        """Read from facts, the clocks are worked out from the messages."""
        return None


@dataclass(frozen=True, slots=True)
class Drafts:
    replies: int  #: agents' replies sent from a draft
    rewritten: int  #: of which the agent changed the text (`desk.edit_distance` above 0)
    kept: bool  #: one of them went out as drafted


def _rewritten(a: str, b: str) -> bool:
    """`desk.edit_distance(a, b) > 0` for two different normalised texts. Texts of `n`
    characters in all are then at least `1/n` apart (difflib's ratio is `2 * matches / n`
    with at most `(n - 1) / 2` matches), which rounds to 4 places above 0 when `n` is below
    20,000; only longer pairs need difflib."""
    return len(a) + len(b) < 20_000 or edit_distance(a, b) > 0


class Figured(Protocol):
    """What the figures (`domain.metrics`, `domain.scorecard`) read of a conversation:
    `ConversationFacts`, or its summary (`domain.metric_summary.ConversationSummary`)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def queue(self) -> str | None: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def escalated_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def csat_state(self) -> str | None: ...
    @property
    def csat_rating(self) -> int | None: ...
    @property
    def feedback(self) -> str | None: ...
    @property
    def failure_tags(self) -> tuple[str, ...]: ...
    @property
    def next_conversation_at(self) -> datetime | None: ...
    @property
    def booking_clicked(self) -> bool: ...
    @property
    def booking_offered(self) -> bool: ...
    @property
    def intent(self) -> str | None: ...
    @property
    def escalated(self) -> bool: ...
    @property
    def bot_replied(self) -> bool: ...
    @property
    def first_escalation_at(self) -> datetime | None: ...
    @property
    def escalation_triggers(self) -> tuple[str, ...]: ...
    @property
    def escalation_reply_at(self) -> datetime | None: ...
    @property
    def lag_reply_at(self) -> datetime | None: ...
    @property
    def came_back(self) -> bool: ...
    @property
    def contact(self) -> tuple[datetime | None, datetime | None]: ...
    @property
    def drafts(self) -> Drafts: ...
    @property
    def sla_final(self) -> tuple[str, bool] | None:
        """(the SLA basis it was judged under, met) once the clocks stopped for good."""

    @property
    def sla_messages(self) -> tuple[MessageFact, ...] | None:
        """The customer's and agents' messages, when read (None: not read)."""

    @property
    def sla_outlook(self) -> tuple[str, Outlook] | None:
        """(SLA basis, `sla.Outlook`) of an open conversation, when worked out."""


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
