"""The scorecard's figures, defined as code: pure functions of stored facts and the time.

Which conversations count: a figure over a period is computed on the **cohort** of
conversations that *started* in it (`created_at` in `[start, end)`), with everything known
of them at `now` (replies, resolution, feedback, CSAT, a return days later). A
conversation that spans weeks belongs to the week it started, so a week's figures can still
move after the week ends (a late resolution, a return within 7 days); each figure states
its denominator, and conversations that cannot be judged yet are left out of it.

Every figure keeps the ids of the conversations it counted (`ids`), for the drill-down
from a number to its conversations. The facts are plain dataclasses loaded by
`adapters.storage.metrics`, or their stored summaries (`domain.metric_summary`): both
are `Figured`; no I/O here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from relaydesk.brief.schema import Brief
from relaydesk.domain import sla
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.desk import RewriteStats, rewrite_stats
from relaydesk.domain.metric_facts import CONTACT_GAP as CONTACT_GAP
from relaydesk.domain.metric_facts import RETURN_QUIET as RETURN_QUIET
from relaydesk.domain.metric_facts import RETURN_WITHIN as RETURN_WITHIN
from relaydesk.domain.metric_facts import (
    Average,
    ConversationFacts,
    Figured,
    MessageFact,
    Rate,
    Times,
)

_C = TypeVar("_C", bound=Figured)
#: A return within this long after a contact ended (or after resolution) is a reopen.
REOPEN_WINDOW = timedelta(days=7)
#: The escalation triggers that mean the bot failed (not a request only people may handle).
BOT_FAILURE_TRIGGERS = frozenset(
    {
        "low_confidence",
        "clarification_limit",
        "repeated_question",
        "bot_loop",
        "no_answer",
        "frustration",
        "frustration_trend",
        "negative_sentiment",
    }
)


def cohort(facts: Iterable[_C], start: datetime, end: datetime) -> list[_C]:
    """The conversations that started in `[start, end)`."""
    return [c for c in facts if start <= c.created_at < end]


def _rate(pool: Sequence[_C], hit: Callable[[_C], bool]) -> Rate:
    ids = [c.id for c in pool]
    hits = [c.id for c in pool if hit(c)]
    return Rate(len(hits), len(ids), tuple(ids), tuple(hits))


# -- speed --------------------------------------------------------------------------------


def first_response(convs: Iterable[Figured]) -> Times:
    """Escalation to the first human reply. Denominator: escalated conversations an agent
    has replied to; those still waiting for a first reply are not counted."""
    out: list[tuple[float, int]] = []
    for c in convs:
        reply = c.escalation_reply_at
        if c.escalated_at is not None and reply is not None:
            out.append(((reply - c.escalated_at).total_seconds(), c.id))
    return _times(out)


def resolution(convs: Iterable[Figured]) -> Times:
    """The customer's first message to resolution by people. Denominator: escalated
    conversations that are resolved; open ones are not counted."""
    out = [
        ((c.resolved_at - c.created_at).total_seconds(), c.id)
        for c in convs
        if c.escalated and c.resolved_at is not None
    ]
    return _times(out)


def escalation_lag(convs: Iterable[Figured]) -> Times:
    """The first escalation trigger (the escalate decision) to the first human reply.
    Denominator: conversations the bot escalated that an agent has replied to since."""
    out: list[tuple[float, int]] = []
    for c in convs:
        first, reply = c.first_escalation_at, c.lag_reply_at
        if first is not None and reply is not None:
            out.append(((reply - first).total_seconds(), c.id))
    return _times(out)


def _times(pairs: list[tuple[float, int]]) -> Times:
    return Times(tuple(s for s, _ in pairs), tuple(i for _, i in pairs))


_PARTIES = {"customer": sla.Party.CUSTOMER, "agent": sla.Party.AGENT}


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    conversation_id: int
    priority: str
    queue: str | None
    assignee_id: int | None
    met: bool | None  #: None: a clock still runs (or waits on the customer)


def sla_basis(brief: Brief) -> str:
    """What an SLA outcome is judged under: a digest of the brief's SLA targets, business
    hours and time zone. A stored outcome judged under another basis is not reused."""
    basis = {
        "slas": brief.model_dump(mode="json", include={"slas"})["slas"],
        "business_hours": brief.business_hours.model_dump(mode="json", exclude={"timezone"}),
        "timezone": str(brief.timezone),  # business_hours.timezone, else business.timezone
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def settled(c: Figured, basis: str, now: datetime) -> bool | None:
    """The conversation's stored SLA outcome when it holds at `now` under `basis` (the
    clocks stopped for good: resolved at or before `now`); None when it must be worked out
    from the messages."""
    final = c.sla_final
    if final is None or final[0] != basis or c.resolved_at is None or c.resolved_at > now:
        return None
    return final[1]


def judged(c: Figured, brief: Brief) -> bool:
    """The conversation has SLA clocks: escalated, with a priority the brief sets SLAs for."""
    return c.escalated_at is not None and c.priority in brief.slas


def sla_outcomes(convs: Iterable[Figured], brief: Brief, now: datetime) -> list[SlaOutcome]:
    """Each escalated conversation with a priority, judged with the SLA clocks
    (`domain.sla`: business hours, paused while waiting on the customer): met when its
    first-response and resolution clocks stopped within target and no clock breached;
    missed when any clock breached; None while a clock still runs short of its target.
    A summary's stored outcome is used when it is `settled`; otherwise its messages must
    have been read (`sla_messages`)."""
    outcomes = []
    calendars = {True: BusinessCalendar.from_brief(brief), False: BusinessCalendar.always_open()}
    parties = _PARTIES
    basis = sla_basis(brief)
    for c in convs:
        if c.escalated_at is None or c.priority not in brief.slas:
            continue
        met = settled(c, basis, now)
        if met is None:
            ahead = c.sla_outlook
            if ahead is not None and ahead[0] == basis and c.resolved_at is None:
                if now >= ahead[1].since:
                    outcomes.append(
                        SlaOutcome(
                            c.id, str(c.priority), c.queue, c.assignee_id, ahead[1].outcome(now)
                        )
                    )
                    continue
            target = brief.slas[c.priority]
            met = sla.outcome(_timeline(c, parties), target, calendars[target.business_hours], now)
        outcomes.append(SlaOutcome(c.id, str(c.priority), c.queue, c.assignee_id, met))
    return outcomes


def outlook(
    c: Figured, messages: tuple[MessageFact, ...], brief: Brief, basis: str
) -> tuple[str, sla.Outlook] | None:
    """(`basis`, `sla.outlook`) of an open escalated conversation from its customer's and
    agents' `messages`: its SLA outcome at any later time, for `sla_outcomes` to use while
    nothing changes (a summary kept between reads). None when resolved or not judged."""
    if c.resolved_at is not None or c.escalated_at is None or c.priority not in brief.slas:
        return None
    target = brief.slas[c.priority]
    calendar = (
        BusinessCalendar.from_brief(brief) if target.business_hours
        else BusinessCalendar.always_open()
    )  # fmt: skip
    ahead = sla.outlook(_timeline_of(c.escalated_at, messages, c.resolved_at), target, calendar)
    return None if ahead is None else (basis, ahead)


def _timeline(c: Figured, parties: dict[str, sla.Party]) -> sla.SlaTimeline:
    messages, opened = c.sla_messages, c.escalated_at
    if messages is None or opened is None:
        raise ValueError(f"conversation {c.id}: its SLA clocks need its messages; read them")
    return _timeline_of(opened, messages, c.resolved_at)


def _timeline_of(
    opened: datetime, messages: Sequence[MessageFact], resolved: datetime | None
) -> sla.SlaTimeline:
    return sla.SlaTimeline(
        opened_at=opened,
        messages=tuple(
            sla.TimelineMessage(m.at, _PARTIES[m.party])
            for m in messages
            if m.party in _PARTIES and m.at >= opened
        ),
        resolved_at=resolved,
    )


def sla_attainment(
    outcomes: Iterable[SlaOutcome], key: Callable[[SlaOutcome], str | int | None]
) -> dict[str | int | None, Rate]:
    """SLA attainment per `key` (priority, queue or agent). Denominator: judged
    conversations (met or missed); those whose clocks still run are not counted."""
    groups: dict[str | int | None, list[SlaOutcome]] = {}
    for o in outcomes:
        if o.met is not None:
            groups.setdefault(key(o), []).append(o)
    return {
        k: Rate(
            sum(1 for o in group if o.met),
            len(group),
            tuple(o.conversation_id for o in group),
            tuple(o.conversation_id for o in group if o.met),
        )
        for k, group in sorted(groups.items(), key=lambda kv: str(kv[0]))
    }


# -- quality ------------------------------------------------------------------------------


def escalation_rate(convs: Sequence[Figured]) -> Rate:
    """Conversations handed to people. Denominator: every conversation of the cohort."""
    return _rate(convs, lambda c: c.escalated)


def escalation_by_trigger(convs: Sequence[Figured]) -> dict[str, Rate]:
    """Per trigger type: conversations whose first escalation it fired in. Denominator:
    every conversation of the cohort (one escalation can count under several triggers)."""
    types = sorted({t for c in convs for t in c.escalation_triggers})
    return {t: _rate(convs, _fired(t)) for t in types}


def _fired(trigger: str) -> Callable[[Figured], bool]:
    def check(c: Figured) -> bool:
        return trigger in c.escalation_triggers

    return check


def escalation_precision(convs: Iterable[Figured]) -> Rate:
    """Escalations agents judged needed ("needed" or "should have come sooner").
    Denominator: conversations with an agent's verdict."""
    judged = [c for c in convs if c.feedback in ("needed", "not_needed", "too_late")]
    return _rate(judged, lambda c: c.feedback in ("needed", "too_late"))


def came_back(c: Figured) -> bool:
    """The bot kept the conversation, the customer went quiet (`RETURN_QUIET`) and came
    back within `RETURN_WITHIN` of the bot's last reply, and that return was escalated
    (`ConversationFacts.came_back`)."""
    return c.came_back


def escalation_recall(convs: Iterable[Figured]) -> Rate:
    """A recall proxy: escalations that came in time. Denominator: escalated
    conversations not judged "not needed"; the late ones are those an agent marked "should
    have come sooner" and those the bot kept that came back and escalated (`came_back`)."""
    pool = [c for c in convs if c.escalated and c.feedback != "not_needed"]
    return _rate(pool, lambda c: c.feedback != "too_late" and not c.came_back)


def rewrite_rate(convs: Iterable[ConversationFacts]) -> RewriteStats:
    """Agents' replies that changed the suggested draft. Denominator: agents' replies sent
    from a draft (`domain.desk.rewrite_stats`)."""
    return rewrite_stats(pair for c in convs for pair in c.rewrites)


@dataclass(frozen=True, slots=True)
class Acceptance:
    value: float | None  #: `1 - rewrite_rate(convs).rewrite_rate`
    replies: int  #: agents' replies sent from a draft
    ids: tuple[int, ...]  #: the conversations with a reply sent as drafted


def draft_acceptance(convs: Iterable[Figured]) -> Acceptance:
    """Agents' replies sent as drafted, as the scorecard shows them: the same value as
    `1 - rewrite_rate(convs).rewrite_rate`, counted without working out every reply's edit
    distance (`ConversationFacts.drafts`). Denominator: agents' replies sent from a draft."""
    replies = rewritten = 0
    ids: list[int] = []
    for c in convs:
        drafts = c.drafts
        replies += drafts.replies
        rewritten += drafts.rewritten
        if drafts.kept:
            ids.append(c.id)
    if not replies:
        return Acceptance(None, 0, tuple(ids))
    return Acceptance(round(1 - round(rewritten / replies, 4), 4), replies, tuple(ids))


def csat(convs: Iterable[Figured]) -> Average:
    """The average rating (1-5). Denominator: conversations the customer rated."""
    rated = [c for c in convs if c.csat_state == "answered" and c.csat_rating is not None]
    return Average(
        float(sum(c.csat_rating or 0 for c in rated)), len(rated), tuple(c.id for c in rated)
    )


def csat_response_rate(convs: Iterable[Figured]) -> Rate:
    """Ratings received. Denominator: conversations the CSAT question was sent to (not
    those still pending or skipped because the window had closed)."""
    asked = [c for c in convs if c.csat_state in ("sent", "answered")]
    return _rate(asked, lambda c: c.csat_state == "answered")


def return_after(c: Figured) -> tuple[datetime | None, datetime | None]:
    """(when the first contact ended, when the customer next came back). A contact ends
    at its last customer message before a silence of `CONTACT_GAP`, or at resolution; the
    return is the next customer message after such a silence, or the customer's next
    conversation (`ConversationFacts.contact`)."""
    ended, back = c.contact
    if ended is None:
        return None, None
    return ended, back if back is not None else c.next_conversation_at


def reopened(c: Figured, now: datetime) -> bool | None:
    """Did the customer come back within `REOPEN_WINDOW` after the contact ended? None
    while that cannot be known yet (the window has not passed and they have not)."""
    ended, back = c.contact  # `return_after`, inline: a page asks this of every conversation
    if ended is None:
        return None
    if back is None:
        back = c.next_conversation_at
    if back is not None and back - ended <= REOPEN_WINDOW:
        return True
    if now - ended < REOPEN_WINDOW:
        return None
    return False


def reopen_rate(convs: Iterable[Figured], now: datetime) -> Rate:
    """Resolved conversations the customer came back to within 7 days. Denominator:
    resolved conversations whose 7 days have passed, or that were reopened already."""
    judged = [c for c in convs if c.resolved_at is not None and reopened(c, now) is not None]
    return _rate(judged, lambda c: bool(reopened(c, now)))


# -- outcomes -----------------------------------------------------------------------------


def deflection(convs: Sequence[Figured]) -> Rate:
    """Conversations the bot handled alone (never handed to people). Denominator: every
    conversation of the cohort."""
    return _rate(convs, lambda c: not c.escalated)


def automated_resolution(convs: Iterable[Figured], now: datetime) -> Rate:
    """Bot-only conversations the customer did not come back to within 7 days.
    Denominator: conversations whose 7 days after the first contact have passed (or that
    came back already); those still inside the window are not counted."""
    judged = [c for c in convs if reopened(c, now) is not None]
    return _rate(judged, lambda c: not c.escalated and c.bot_replied and reopened(c, now) is False)


def qualified(convs: Sequence[Figured]) -> Rate:
    """Conversations qualified by a playbook (the customer answered the pricing
    question and was sent the booking link). Denominator: every conversation of the
    cohort."""
    return _rate(convs, lambda c: c.booking_offered)


def conversions(convs: Iterable[Figured]) -> Rate:
    """Qualified conversations whose customer opened the booking link (a click on the
    tracked redirect, `/r/<token>`). Denominator: conversations sent the booking link."""
    offered = [c for c in convs if c.booking_offered]
    return _rate(offered, lambda c: c.booking_clicked)


def failed(c: Figured, now: datetime) -> bool:
    """The bot fell short: escalated by a bot-failure trigger, tagged with a failure,
    judged "should have come sooner", or a bot-only conversation that came back."""
    return bool(
        BOT_FAILURE_TRIGGERS.intersection(c.escalation_triggers)
        or c.failure_tags
        or c.feedback == "too_late"
        or (not c.escalated and reopened(c, now))
    )


@dataclass(frozen=True, slots=True)
class FailureIntent:
    intent: str
    failed: int
    conversations: int
    ids: tuple[int, ...] = field(default=())


def top_failure_intents(
    convs: Iterable[Figured], now: datetime, limit: int = 5
) -> list[FailureIntent]:
    """Intents ranked by conversations that failed (`failed`), most first; conversations
    without a recognised intent count under "(none)"."""
    totals: dict[str, int] = {}
    fails: dict[str, list[int]] = {}
    for c in convs:
        intent = c.intent or "(none)"
        totals[intent] = totals.get(intent, 0) + 1
        if failed(c, now):
            fails.setdefault(intent, []).append(c.id)
    ranked = sorted(fails.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [FailureIntent(i, len(ids), totals[i], tuple(ids)) for i, ids in ranked]
