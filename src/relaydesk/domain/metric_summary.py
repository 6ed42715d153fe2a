"""A conversation's summary for the Insights: what the figures read of its messages,
decisions and events, worked out once and stored (`adapters.storage.summaries`), so a page
reads one row per conversation instead of every message and decision.

Only what does not depend on the time is summarised. The `now`-dependent parts are worked
out when the figures are: whether a contact was reopened (`metrics.reopened`, from the
stored end of the contact and the customer's next conversation, read live), and the SLA
outcome of a conversation whose clocks have not stopped for good (from its messages, read
then: `metrics.settled`). An outcome is stored only once the conversation is resolved,
with the SLA basis it was judged under (`metrics.sla_basis`), and not reused under another.

The conversation's own columns the figures read (status, queue, CSAT, verdict, failure
tags, ...) are not part of the summary: they are read live with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain.metric_facts import ConversationFacts, Drafts, MessageFact
from relaydesk.domain.sla import Outlook


@dataclass(frozen=True, slots=True)
class Summarised:
    """What a summary stores of a conversation's facts (see the module's docstring)."""

    source: str
    intent: str | None
    escalated: bool
    bot_replied: bool
    booking_offered: bool
    booking_clicked: bool
    first_escalation_at: datetime | None
    escalation_triggers: tuple[str, ...]
    escalation_reply_at: datetime | None
    lag_reply_at: datetime | None
    came_back: bool
    contact_ended_at: datetime | None
    contact_returned_at: datetime | None
    drafts: Drafts
    messages: int  #: the customer's and agents' messages
    sla_final: tuple[str, bool] | None  #: (SLA basis, met) once resolved


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation as the figures read it (`metric_facts.Figured`): its live columns,
    then what its stored summary holds, as plain fields. Flat, not a `Summarised` inside:
    a page reads two weeks of these, and every figure reads their attributes many times,
    so one object and direct slots are measurably cheaper than a nested one behind
    properties (`docs/benchmarks.md`, "Insights: flat summaries")."""

    id: int
    customer_id: int
    number: str
    created_at: datetime
    status: str
    queue: str | None
    priority: str | None
    assignee_id: int | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    csat_state: str | None
    csat_rating: int | None
    feedback: str | None
    failure_tags: tuple[str, ...]
    next_conversation_at: datetime | None
    source: str
    intent: str | None
    escalated: bool
    bot_replied: bool
    booking_offered: bool
    booking_clicked: bool
    first_escalation_at: datetime | None
    escalation_triggers: tuple[str, ...]
    escalation_reply_at: datetime | None
    lag_reply_at: datetime | None
    came_back: bool
    contact: tuple[datetime | None, datetime | None]  #: (the contact's end, the return)
    drafts: Drafts
    messages: int  #: the customer's and agents' messages
    sla_final: tuple[str, bool] | None  #: (SLA basis, met) once resolved
    sla_messages: tuple[MessageFact, ...] | None = None  #: read when `metrics.settled` is not
    #: (SLA basis, what the open conversation's outcome will be), worked out from
    #: `sla_messages` by `metrics.outlook` for a summary kept between reads
    sla_outlook: tuple[str, Outlook] | None = None

    @property
    def summary(self) -> Summarised:
        """What is stored of this conversation (`adapters.storage.summaries.write`)."""
        ended, returned = self.contact
        return Summarised(
            self.source, self.intent, self.escalated, self.bot_replied,
            self.booking_offered, self.booking_clicked, self.first_escalation_at,
            self.escalation_triggers, self.escalation_reply_at, self.lag_reply_at,
            self.came_back, ended, returned, self.drafts, self.messages, self.sla_final,
        )  # fmt: skip

    def with_messages(
        self,
        messages: tuple[MessageFact, ...] | None,
        outlook: tuple[str, Outlook] | None = None,
    ) -> ConversationSummary:
        """With the messages its SLA clocks need (None: not kept) and their outlook."""
        return replace(self, sla_messages=messages, sla_outlook=outlook)


def summarise(c: ConversationFacts, brief: Brief) -> Summarised:
    """The summary of a conversation's facts; its SLA outcome is stored once it is
    resolved (the clocks have stopped for good), judged under the brief's SLA basis."""
    final: tuple[str, bool] | None = None
    if c.resolved_at is not None and m.judged(c, brief):
        (outcome,) = m.sla_outcomes([c], brief, c.resolved_at)
        if outcome.met is not None:
            final = (m.sla_basis(brief), outcome.met)
    ended, returned = c.contact
    return Summarised(
        source=c.source,
        intent=c.intent,
        escalated=c.escalated,
        bot_replied=c.bot_replied,
        booking_offered=c.booking_offered,
        booking_clicked=c.booking_clicked,
        first_escalation_at=c.first_escalation_at,
        escalation_triggers=c.escalation_triggers,
        escalation_reply_at=c.escalation_reply_at,
        lag_reply_at=c.lag_reply_at,
        came_back=c.came_back,
        contact_ended_at=ended,
        contact_returned_at=returned,
        drafts=c.drafts,
        messages=len(c.messages),
        sla_final=final,
    )


def summary_of(c: ConversationFacts, brief: Brief) -> ConversationSummary:
    """The conversation as a summary read back would give it, from its facts (its
    messages kept for the SLA clocks)."""
    s = summarise(c, brief)
    return ConversationSummary(
        c.id, c.customer_id, c.number, c.created_at, c.status, c.queue, c.priority,
        c.assignee_id, c.escalated_at, c.resolved_at, c.csat_state, c.csat_rating,
        c.feedback, c.failure_tags, c.next_conversation_at, s.source, s.intent, s.escalated,
        s.bot_replied, s.booking_offered, s.booking_clicked, s.first_escalation_at,
        s.escalation_triggers, s.escalation_reply_at, s.lag_reply_at, s.came_back,
        (s.contact_ended_at, s.contact_returned_at), s.drafts, s.messages, s.sla_final,
        c.messages,
    )  # fmt: skip
