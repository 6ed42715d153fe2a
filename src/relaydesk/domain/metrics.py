"""The scorecard's figures, defined as code: pure functions of stored facts and the time.

Which conversations count: a figure over a period is computed on the **cohort** of
conversations that *started* in it (`created_at` in `[start, end)`), with everything known
of them at `now` (replies, resolution, feedback, CSAT, a return days later). A
conversation that spans weeks belongs to the week it started, so a week's figures can still
move after the week ends (a late resolution, a return within 7 days); each figure states
its denominator, and conversations that cannot be judged yet are left out of it.

Every figure keeps the ids of the conversations it counted (`ids`), for the drill-down
from a number to its conversations. The facts are plain dataclasses loaded by
`adapters.storage.metrics`; no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from relaydesk.brief.schema import Brief
from relaydesk.domain import sla
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.desk import RewriteStats, edit_distance, rewrite_stats
from relaydesk.domain.metric_facts import BOT_ACTIONS, Average, ConversationFacts, Rate, Times

#: A customer silent this long has ended a contact; their next message is a return (the
#: WhatsApp customer-service window is as long).
CONTACT_GAP = timedelta(hours=24)
#: A return within this long after a contact ended (or after resolution) is a reopen.
REOPEN_WINDOW = timedelta(days=7)
#: The recall proxy's "came back": the customer was silent at least `RETURN_QUIET` after a
#: bot reply and wrote again within `RETURN_WITHIN` of it, and that turn escalated.
RETURN_QUIET = timedelta(hours=1)
RETURN_WITHIN = timedelta(hours=24)
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


def cohort(
    facts: Iterable[ConversationFacts], start: datetime, end: datetime
) -> list[ConversationFacts]:
    """The conversations that started in `[start, end)`."""
    return [c for c in facts if start <= c.created_at < end]


def _rate(pool: Sequence[ConversationFacts], hit: Callable[[ConversationFacts], bool]) -> Rate:
    ids = [c.id for c in pool]
    hits = [c.id for c in pool if hit(c)]
    return Rate(len(hits), len(ids), tuple(ids), tuple(hits))


# -- speed --------------------------------------------------------------------------------


def first_response(convs: Iterable[ConversationFacts]) -> Times:
    """Escalation to the first human reply. Denominator: escalated conversations an agent
    has replied to; those still waiting for a first reply are not counted."""
    out: list[tuple[float, int]] = []
    for c in convs:
        if c.escalated_at is None:
            continue
        reply = c.first("agent", after=c.escalated_at)
        if reply is not None:
            out.append(((reply - c.escalated_at).total_seconds(), c.id))
    return _times(out)


def resolution(convs: Iterable[ConversationFacts]) -> Times:
    """The customer's first message to resolution by people. Denominator: escalated
    conversations that are resolved; open ones are not counted."""
    out = [
        ((c.resolved_at - c.created_at).total_seconds(), c.id)
        for c in convs
        if c.escalated and c.resolved_at is not None
    ]
    return _times(out)


def escalation_lag(convs: Iterable[ConversationFacts]) -> Times:
    """The first escalation trigger (the escalate decision) to the first human reply.
    Denominator: conversations the bot escalated that an agent has replied to since."""
    out: list[tuple[float, int]] = []
    for c in convs:
        first = c.first_escalation
        if first is None:
            continue
        reply = c.first("agent", after=first.at)
        if reply is not None:
            out.append(((reply - first.at).total_seconds(), c.id))
    return _times(out)


def _times(pairs: list[tuple[float, int]]) -> Times:
    return Times(tuple(s for s, _ in pairs), tuple(i for _, i in pairs))


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    conversation_id: int
    priority: str
    queue: str | None
    assignee_id: int | None
    met: bool | None  #: None: a clock still runs (or waits on the customer)


def sla_outcomes(
    convs: Iterable[ConversationFacts], brief: Brief, now: datetime
) -> list[SlaOutcome]:
    """Each escalated conversation with a priority, judged with the SLA clocks
    (`domain.sla`: business hours, paused while waiting on the customer): met when its
    first-response and resolution clocks stopped within target and no clock breached;
    missed when any clock breached; None while a clock still runs short of its target."""
    outcomes = []
    calendars = {True: BusinessCalendar.from_brief(brief), False: BusinessCalendar.always_open()}
    for c in convs:
        if c.escalated_at is None or c.priority not in brief.slas:
            continue
        parties = {"customer": sla.Party.CUSTOMER, "agent": sla.Party.AGENT}
        timeline = sla.SlaTimeline(
            opened_at=c.escalated_at,
            messages=tuple(
                sla.TimelineMessage(m.at, parties[m.party])
                for m in c.messages
                if m.party in parties and m.at >= c.escalated_at
            ),
            resolved_at=c.resolved_at,
        )
        target = brief.slas[c.priority]
        met = sla.outcome(timeline, target, calendars[target.business_hours], now)
        outcomes.append(SlaOutcome(c.id, str(c.priority), c.queue, c.assignee_id, met))
    return outcomes


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


def escalation_rate(convs: Sequence[ConversationFacts]) -> Rate:
    """Conversations handed to people. Denominator: every conversation of the cohort."""
    return _rate(convs, lambda c: c.escalated)


def escalation_by_trigger(convs: Sequence[ConversationFacts]) -> dict[str, Rate]:
    """Per trigger type: conversations whose first escalation it fired in. Denominator:
    every conversation of the cohort (one escalation can count under several triggers)."""
    types = sorted({t for c in convs if (e := c.first_escalation) for t in e.triggers})
    return {t: _rate(convs, _fired(t)) for t in types}


def _fired(trigger: str) -> Callable[[ConversationFacts], bool]:
    def check(c: ConversationFacts) -> bool:
        first = c.first_escalation
        return first is not None and trigger in first.triggers

    return check


def escalation_precision(convs: Iterable[ConversationFacts]) -> Rate:
    """Escalations agents judged needed ("needed" or "should have come sooner").
    Denominator: conversations with an agent's verdict."""
    judged = [c for c in convs if c.feedback in ("needed", "not_needed", "too_late")]
    return _rate(judged, lambda c: c.feedback in ("needed", "too_late"))


def came_back(c: ConversationFacts) -> bool:
    """The bot kept the conversation, the customer went quiet (`RETURN_QUIET`) and came
    back within `RETURN_WITHIN` of the bot's last reply, and that return was escalated."""
    first = c.first_escalation
    if first is None:
        return False
    replies = [d.at for d in c.decisions if d.action in BOT_ACTIONS and d.at < first.at]
    if not replies:
        return False
    silence = first.at - replies[-1]  # the bot answers each turn at once: the customer's
    return RETURN_QUIET <= silence <= RETURN_WITHIN  # silence is since its last reply


def escalation_recall(convs: Iterable[ConversationFacts]) -> Rate:
    """A recall proxy: escalations that came in time. Denominator: escalated
    conversations not judged "not needed"; the late ones are those an agent marked "should
    have come sooner" and those the bot kept that came back and escalated (`came_back`)."""
    pool = [c for c in convs if c.escalated and c.feedback != "not_needed"]
    return _rate(pool, lambda c: c.feedback != "too_late" and not came_back(c))


def rewrite_rate(convs: Iterable[ConversationFacts]) -> RewriteStats:
    """Agents' replies that changed the suggested draft. Denominator: agents' replies sent
    from a draft (`domain.desk.rewrite_stats`)."""
    return rewrite_stats(pair for c in convs for pair in c.rewrites)


@dataclass(frozen=True, slots=True)
class Acceptance:
    value: float | None  #: `1 - rewrite_rate(convs).rewrite_rate`
    replies: int  #: agents' replies sent from a draft
    ids: tuple[int, ...]  #: the conversations with a reply sent as drafted


def draft_acceptance(convs: Iterable[ConversationFacts]) -> Acceptance:
    """Agents' replies sent as drafted, as the scorecard shows them: the same value as
    `1 - rewrite_rate(convs).rewrite_rate`, counted without working out every reply's edit
    distance. Denominator: agents' replies sent from a draft."""
    replies = rewritten = 0
    ids: list[int] = []
    for c in convs:
        kept = False
        for draft, final in c.rewrites:
            replies += 1
            a, b = " ".join(draft.split()), " ".join(final.split())
            if a == b:
                kept = True
            elif _rewritten(a, b):
                rewritten += 1
        if kept:
            ids.append(c.id)
    if not replies:
        return Acceptance(None, 0, tuple(ids))
    return Acceptance(round(1 - round(rewritten / replies, 4), 4), replies, tuple(ids))


def _rewritten(a: str, b: str) -> bool:
    """`desk.edit_distance(a, b) > 0` for two different normalised texts. Texts of `n`
    characters in all are then at least `1/n` apart (difflib's ratio is `2 * matches / n`
    with at most `(n - 1) / 2` matches), which rounds to 4 places above 0 when `n` is below
    20,000; only longer pairs need difflib."""
    return len(a) + len(b) < 20_000 or edit_distance(a, b) > 0


def csat(convs: Iterable[ConversationFacts]) -> Average:
    """The average rating (1-5). Denominator: conversations the customer rated."""
    rated = [c for c in convs if c.csat_state == "answered" and c.csat_rating is not None]
    return Average(
        float(sum(c.csat_rating or 0 for c in rated)), len(rated), tuple(c.id for c in rated)
    )


def csat_response_rate(convs: Iterable[ConversationFacts]) -> Rate:
    """Ratings received. Denominator: conversations the CSAT question was sent to (not
    those still pending or skipped because the window had closed)."""
    asked = [c for c in convs if c.csat_state in ("sent", "answered")]
    return _rate(asked, lambda c: c.csat_state == "answered")


def return_after(c: ConversationFacts) -> tuple[datetime | None, datetime | None]:
    """(when the first contact ended, when the customer next came back). A contact ends
    at its last customer message before a silence of `CONTACT_GAP`, or at resolution; the
    return is the next customer message after such a silence, or the customer's next
    conversation after resolution."""
    if c.resolved_at is not None:
        return c.resolved_at, c.next_conversation_at
    inbound = [m.at for m in c.messages if m.party == "customer"]
    if not inbound:
        return None, None
    for before, after in pairwise(inbound):
        if after - before >= CONTACT_GAP:
            return before, after
    return inbound[-1], c.next_conversation_at


def reopened(c: ConversationFacts, now: datetime) -> bool | None:
    """Did the customer come back within `REOPEN_WINDOW` after the contact ended? None
    while that cannot be known yet (the window has not passed and they have not)."""
    ended, back = return_after(c)
    if ended is None:
        return None
    if back is not None and back - ended <= REOPEN_WINDOW:
        return True
    if now - ended < REOPEN_WINDOW:
        return None
    return False


def reopen_rate(convs: Iterable[ConversationFacts], now: datetime) -> Rate:
    """Resolved conversations the customer came back to within 7 days. Denominator:
    resolved conversations whose 7 days have passed, or that were reopened already."""
    judged = [c for c in convs if c.resolved_at is not None and reopened(c, now) is not None]
    return _rate(judged, lambda c: bool(reopened(c, now)))


# -- outcomes -----------------------------------------------------------------------------


def deflection(convs: Sequence[ConversationFacts]) -> Rate:
    """Conversations the bot handled alone (never handed to people). Denominator: every
    conversation of the cohort."""
    return _rate(convs, lambda c: not c.escalated)


def automated_resolution(convs: Iterable[ConversationFacts], now: datetime) -> Rate:
    """Bot-only conversations the customer did not come back to within 7 days.
    Denominator: conversations whose 7 days after the first contact have passed (or that
    came back already); those still inside the window are not counted."""
    judged = [c for c in convs if reopened(c, now) is not None]
    return _rate(judged, lambda c: not c.escalated and c.bot_replied and reopened(c, now) is False)


def qualified(convs: Sequence[ConversationFacts]) -> Rate:
    """Conversations qualified by a playbook (the customer answered the pricing
    question and was sent the booking link). Denominator: every conversation of the
    cohort."""
    return _rate(convs, lambda c: c.booking_offered)


def conversions(convs: Iterable[ConversationFacts]) -> Rate:
    """Qualified conversations whose customer opened the booking link (a click on the
    tracked redirect, `/r/<token>`). Denominator: conversations sent the booking link."""
    offered = [c for c in convs if c.booking_offered]
    return _rate(offered, lambda c: c.booking_clicked)


def failed(c: ConversationFacts, now: datetime) -> bool:
    """The bot fell short: escalated by a bot-failure trigger, tagged with a failure,
    judged "should have come sooner", or a bot-only conversation that came back."""
    first = c.first_escalation
    return bool(
        (first is not None and BOT_FAILURE_TRIGGERS.intersection(first.triggers))
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
    convs: Iterable[ConversationFacts], now: datetime, limit: int = 5
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
