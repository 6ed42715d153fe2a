"""The weekly review's content: the scorecard of a week (Monday to Monday in the brief's
time zone) against the week before and the brief's `kpi_targets`, cohorts, the top failure
intents, the conversations to calibrate, the week's change log and the brief's `owners`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from relaydesk.adapters.storage import brief_versions as changes_store
from relaydesk.adapters.storage import metrics as facts_store
from relaydesk.adapters.storage.brief_versions import ChangeEntry
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain.content_gaps import Gap
from relaydesk.domain.metric_facts import ConversationFacts
from relaydesk.services import content_gaps
from relaydesk.services.insights import FIRST_YEAR, LAST_YEAR
from relaydesk.services.launch_check import Encode

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class BadWeekError(ValueError):
    """A week that is not written YYYY-Www or does not exist."""


@dataclass(frozen=True, slots=True)
class Week:
    year: int
    number: int
    start: datetime  #: Monday 00:00 in the brief's zone, as an aware datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()


def week(label: str, zone: ZoneInfo) -> Week:
    """The ISO week `label` ("2026-W48") in `zone`, of a year from FIRST_YEAR to LAST_YEAR
    (as the Insights' periods)."""
    match = _WEEK.fullmatch(label.strip())
    if match is None:
        raise BadWeekError(f"week {label!r}: write it as YYYY-Www, e.g. 2026-W48 (ISO weeks)")
    year, number = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadWeekError(
            f"week {label!r}: the year {year} is out of range ({FIRST_YEAR} to {LAST_YEAR})"
        )
    try:
        return _week_of(date.fromisocalendar(year, number, 1), zone)
    except ValueError:
        raise BadWeekError(f"week {label!r}: {year} has no ISO week {number}") from None


def last_complete_week(now: datetime, zone: ZoneInfo) -> Week:
    """The latest week that has ended by `now`."""
    today = now.astimezone(zone).date()
    return _week_of(today - timedelta(days=today.weekday() + 7), zone)


def _week_of(monday: date, zone: ZoneInfo) -> Week:
    year, number, _ = monday.isocalendar()
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    return Week(year, number, start, end)


@dataclass(frozen=True, slots=True)
class Calibrate:
    conversation: ConversationFacts
    why: str


@dataclass(frozen=True, slots=True)
class WeeklyReview:
    business: str
    owners: dict[str, str]  #: the brief's `owners` (brief, answers, ...) who are named
    week: Week
    now: datetime
    brief_version: str
    conversations: int
    previous_conversations: int
    scorecard: list[s.Compared]
    cohorts: dict[str, list[tuple[s.CohortRow, int | None]]]  #: row, last week's count
    failures: list[m.FailureIntent]
    escalated: list[Calibrate]
    bot_only: list[Calibrate]
    changes: list[ChangeEntry]
    daily: list[tuple[date, int, int]]  #: (day, handled by the bot alone, escalated)
    gaps: list[Gap] = field(default_factory=list)
    unanswered: int = 0  #: messages the bot could not answer (clustered into `gaps`)
    gap_method: str | None = None  #: how they were clustered; None: not looked for


def review(
    db: Database,
    brief: Brief,
    wk: Week,
    now: datetime,
    encoder: tuple[Encode, str] | None = None,
) -> WeeklyReview:
    """Everything the weekly review shows, as known at `now`; the content gaps too when
    given an `encoder` (the encode function and its name) to cluster them with."""
    before = _week_of((wk.start - timedelta(days=7)).date(), brief.timezone)
    with db.read() as conn:
        current = facts_store.load(conn, wk.start, wk.end)
        previous = facts_store.load(conn, before.start, before.end)
        logged = changes_store.changes(conn, wk.start, wk.end)
    lines = s.compare(s.scorecard(current, brief, now), s.scorecard(previous, brief, now))
    cohorts = {}
    for dimension in s.DIMENSIONS:
        last = {row.key: row.conversations for row in s.cohorts(previous, dimension, now)}
        cohorts[dimension] = [
            (row, last.get(row.key)) for row in s.cohorts(current, dimension, now)
        ]
    escalated, bot_only = s.calibration(current, now)
    found, unanswered = content_gaps.find(db, wk.start, wk.end, encoder[0]) if encoder else ([], 0)
    return WeeklyReview(
        business=brief.business.name,
        owners=named_owners(brief),
        week=wk,
        now=now,
        brief_version=brief.version,
        conversations=len(current),
        previous_conversations=len(previous),
        scorecard=lines,
        cohorts=cohorts,
        failures=m.top_failure_intents(current, now),
        escalated=[Calibrate(c, _why(c, now)) for c in escalated],
        bot_only=[Calibrate(c, _why(c, now)) for c in bot_only],
        changes=logged,
        daily=_daily(current, wk, brief.timezone),
        gaps=found,
        unanswered=unanswered,
        gap_method=encoder[1] if encoder else None,
    )


def named_owners(brief: Brief) -> dict[str, str]:
    """The brief's `owners` by role, in the brief's order, leaving out the empty ones."""
    owners = brief.owners
    named = ((role, getattr(owners, role).strip()) for role in type(owners).model_fields)
    return {role: who for role, who in named if who}


def _why(c: ConversationFacts, now: datetime) -> str:
    reasons = []
    first = c.first_escalation
    if first is not None:
        failing = sorted(m.BOT_FAILURE_TRIGGERS.intersection(first.triggers))
        reasons.append("escalated: " + ", ".join(first.triggers or ("no trigger",)))
        if failing:
            reasons.append("bot failure: " + ", ".join(failing))
    if c.failure_tags:
        reasons.append("tagged " + ", ".join(c.failure_tags))
    if c.feedback:
        reasons.append(f"agent: {c.feedback.replace('_', ' ')}")
    if not c.escalated and m.reopened(c, now):
        reasons.append("came back within 7 days")
    if c.csat_rating is not None:
        reasons.append(f"CSAT {c.csat_rating}")
    return "; ".join(reasons) or f"{len(c.messages)} messages"


def _daily(convs: list[ConversationFacts], wk: Week, zone: ZoneInfo) -> list[tuple[date, int, int]]:
    days = [(wk.start + timedelta(days=i)).date() for i in range(7)]
    bot = dict.fromkeys(days, 0)
    people = dict.fromkeys(days, 0)
    for c in convs:
        day = c.created_at.astimezone(zone).date()
        if day in bot:
            (people if c.escalated else bot)[day] += 1
    return [(d, bot[d], people[d]) for d in days]
