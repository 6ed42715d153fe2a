"""The Insights tables for the console and `/api/v1/metrics`: the scorecard of a period
(against the period of the same length before it and the brief's targets), cohorts, SLA
attainment, top failure intents and the conversations behind any figure, filtered by
dates, queue, intent, source and business number. Each table is a list of rows with fixed
columns, so the JSON, the CSV export and the console page show the same values. The
tables are computed from the conversations' stored summaries (`services.summaries`), the
same figures as from their facts at a fraction of the reading."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from relaydesk.adapters.storage import metrics as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain import sources
from relaydesk.domain.metric_facts import ConversationFacts, Figured
from relaydesk.domain.metric_summary import ConversationSummary
from relaydesk.services import summaries

STATUSES = ("bot", "queued", "assigned", "resolved")
#: The longest period one request may cover.
MAX_PERIOD = timedelta(days=366)
#: The years a start or end the user gives (and the weekly review's week) may have, as
#: written (in its own offset): far from the ends of `datetime` (years 1 to 9999), so that
#: a time zone's offset stays representable. A bound worked out from them (a default
#: start, the period before for the scorecard's comparison, the console's exclusive end)
#: is not refused: it is kept from 1970-01-01 (`earliest`) instead, and may end on
#: 9001-01-01 (the day after 9000-12-31).
FIRST_YEAR = 1970
LAST_YEAR = 9000
#: The API's period without a start: this long before its end.
DEFAULT_PERIOD = timedelta(days=7)
#: The console's default period: the last 7 days in the brief's time zone, today included.
DEFAULT_DAYS = 7
TABLES = ("scorecard", "cohorts", "sla", "failures", "conversations")
#: The parameters every table takes (and the console's Insights page).
FILTER_PARAMETERS = ("start", "end", "queue", "intent", "source", "number", "status")
#: The parameters some tables take besides: `by` and `figure` are refused elsewhere.
TAKES: dict[str, tuple[str, ...]] = {
    "scorecard": (),
    "cohorts": ("by",),
    "sla": ("by",),
    "failures": (),
    "conversations": ("figure",),
}
#: The intent filter's value for the conversations without a recognised intent.
NO_INTENT = "(none)"
SLA_KEYS: dict[str, Callable[[m.SlaOutcome], str | int | None]] = {
    "priority": lambda o: o.priority,
    "queue": lambda o: o.queue,
    "agent": lambda o: o.assignee_id,
}
COLUMNS = {
    "scorecard": ("key", "label", "group", "unit", "value", "count", "target", "on_target",
                  "previous", "change"),
    "cohorts": ("key", "conversations", "escalation_rate", "deflection", "automated_resolution",
                "csat"),
    "sla": ("key", "met", "judged", "attainment"),
    "failures": ("intent", "failed", "conversations"),
    "conversations": ("id", "created_at", "status", "intent", "queue", "priority", "source",
                      "number", "escalated", "csat_rating", "feedback"),
}  # fmt: skip


class BadQueryError(ValueError):
    """A filter or table the Insights cannot use; the message names it and the fix."""


def in_range(name: str, value: date) -> None:
    """Refuse a start or end the user gave (a date or a datetime) outside `FIRST_YEAR` to
    `LAST_YEAR`, in the terms it was given."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise BadQueryError(
            f"{name} {value.isoformat()} is out of range ({FIRST_YEAR} to {LAST_YEAR}); "
            f"give a {name} from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
        )


def earliest(zone: tzinfo | None) -> datetime:
    """1970-01-01T00:00 in `zone`: the earliest a bound worked out from the user's is kept
    from."""
    return datetime(FIRST_YEAR, 1, 1, tzinfo=zone)


def console_default(zone: tzinfo, now: datetime) -> Filters:
    """What the console's Insights page shows when no dates are given: the last
    `DEFAULT_DAYS` days in `zone`, today included, kept from 1970-01-01."""
    last = now.astimezone(zone).date()
    start = datetime.combine(default_first_day(last), time(), zone)
    return Filters(start, datetime.combine(last + timedelta(days=1), time(), zone))


def default_first_day(last: date) -> date:
    """The console's first day when only the last is known: `DEFAULT_DAYS` days with the
    last included, kept from 1970-01-01."""
    return max(last - timedelta(days=DEFAULT_DAYS - 1), date(FIRST_YEAR, 1, 1))


def warm(db: Database, brief: Brief, cache: summaries.SummaryCache, now: datetime) -> int:
    """Read the console's default period, and the period before it that its scorecard
    compares with, into `cache` (`summaries.warm`); how many conversations were read."""
    current = console_default(brief.timezone, now)
    periods = [(p.start, p.end) for p in (current.before(), current) if p is not None]
    return summaries.warm(db, brief, cache, periods, now)


def period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The API's `[start, end)` from the `start` and `end` given (None: not given): `end`
    defaults to `now`, `start` to `DEFAULT_PERIOD` before the end but not before
    1970-01-01T00:00 in the end's offset. Each error names the values given (and a
    default, said to be one)."""
    for name, value in (("start", start), ("end", end)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise BadQueryError(
                f"{name} {value.isoformat()} has no time zone; start and end need a time zone "
                "(e.g. 2026-11-23T00:00:00Z)"
            )
        in_range(name, value)
    until = now if end is None else end
    shown_end = f"end {until.isoformat()}" if end is not None else f"now ({until.isoformat()})"
    if start is None:
        first = earliest(until.tzinfo)
        since = max(until - DEFAULT_PERIOD, first)
        if until <= since:
            raise BadQueryError(
                f"{shown_end} leaves no time after {first.isoformat()}, the earliest start; "
                "give a later end"
            )
        return since, until
    if until <= start:
        raise BadQueryError(
            f"{shown_end} is not after start {start.isoformat()}; give "
            + ("an end after the start" if end is not None else "an end, or an earlier start")
        )
    if until - start > MAX_PERIOD:
        raise BadQueryError(
            f"start {start.isoformat()} to {shown_end}: the period is longer than "
            f"{MAX_PERIOD.days} days; shorten it"
        )
    return start, until


@dataclass(frozen=True, slots=True)
class Filters:
    """The conversations that started in `[start, end)` and have these values. The start
    and end are checked as given by `period` (the API) and the console's days; here only
    what any caller must keep to."""

    start: datetime
    end: datetime
    queue: str | None = None
    intent: str | None = None
    source: str | None = None
    number: str | None = None
    status: str | None = None  #: bot | queued | assigned | resolved (now)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise BadQueryError("start and end need a time zone (e.g. 2026-11-23T00:00:00Z)")
        if self.status is not None and self.status not in STATUSES:
            raise BadQueryError(f"status {self.status!r}; expected one of: {', '.join(STATUSES)}")
        if self.source is not None and self.source not in sources.SOURCES:
            raise BadQueryError(
                f"source {self.source!r}; expected one of: {', '.join(sources.SOURCES)}"
            )
        if self.end <= self.start:
            raise BadQueryError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        if self.end - self.start > MAX_PERIOD:
            raise BadQueryError(f"the period is longer than {MAX_PERIOD.days} days; shorten it")

    @property
    def narrowed(self) -> bool:
        """Whether a filter besides the period is set."""
        return any(v is not None for v in (self.queue, self.intent, self.source, self.number,
                                           self.status))  # fmt: skip

    def keeps(self, c: Figured) -> bool:
        return (
            (self.queue is None or c.queue == self.queue)
            and (self.intent is None or (c.intent or NO_INTENT) == self.intent)
            and (self.source is None or c.source == self.source)
            and (self.number is None or c.number == self.number)
            and (self.status is None or c.status == self.status)
        )

    def before(self) -> Filters | None:
        """The same filters over the period of the same length just before, kept from
        1970-01-01T00:00 (in the start's offset): shorter when it would start earlier, None
        when the period starts then already (nothing before it to compare with)."""
        first = earliest(self.start.tzinfo)
        if self.start <= first:
            return None
        return replace(self, start=max(self.start - (self.end - self.start), first), end=self.start)

    def check(self, db: Database, brief: Brief) -> None:
        """Refuse a queue or intent no conversation can have: neither the brief's (or
        `NO_INTENT`) nor one a stored conversation has (under an older brief: the console
        links to those from its tables). Reads; writes nothing. The business number is not
        checked: no list of them is authoritative (any number of the WhatsApp Business
        Account can write in)."""
        queue = self.queue if self.queue not in (None, *brief.queues) else None
        intent = self.intent if self.intent not in (None, NO_INTENT, *brief.intents) else None
        if queue is None and intent is None:
            return
        with db.read() as conn:
            if queue is not None and not store.queue_known(conn, queue):
                raise BadQueryError(
                    f"queue {queue!r} is neither a queue of the brief nor one a stored "
                    f"conversation is in; expected one of: {', '.join(sorted(brief.queues))}"
                )
            if intent is not None and not store.intent_known(conn, intent):
                raise BadQueryError(
                    f"intent {intent!r} is neither an intent of the brief nor one a stored "
                    "conversation has; expected one of: "
                    f"{', '.join([*sorted(brief.intents), NO_INTENT])}"
                )


def facts(db: Database, filters: Filters) -> list[ConversationFacts]:
    with db.read() as conn:
        return [c for c in store.load(conn, filters.start, filters.end) if filters.keeps(c)]


def summarised(
    db: Database,
    brief: Brief,
    filters: Filters,
    now: datetime,
    cache: summaries.SummaryCache | None = None,
) -> list[ConversationSummary]:
    """The period's conversations from their summaries (`services.summaries.read`)."""
    convs = summaries.read(db, brief, filters.start, filters.end, now, cache)
    return [c for c in convs if filters.keeps(c)] if filters.narrowed else convs


def table(
    db: Database,
    brief: Brief,
    name: str,
    filters: Filters,
    now: datetime,
    *,
    by: str | None = None,
    figure: str | None = None,
    cache: summaries.SummaryCache | None = None,
) -> list[dict[str, Any]]:
    """One Insights table's rows: `by` is the cohort dimension (source, intent, number)
    or the SLA grouping (priority, queue, agent); `figure` the scorecard line whose
    conversations the `conversations` table lists (all of the period without it)."""
    return Tables(db, brief, filters, now, cache).rows(name, by=by, figure=figure)


class Tables:
    """The tables of one period, its conversations' summaries read once (and the period
    before once, for the scorecard) however many tables are asked for; with `cache`
    (the process's `summaries.SummaryCache`), only what changed since an earlier read."""

    def __init__(
        self,
        db: Database,
        brief: Brief,
        filters: Filters,
        now: datetime,
        cache: summaries.SummaryCache | None = None,
    ) -> None:
        self._db, self._brief, self._filters, self._now = db, brief, filters, now
        self._cache = cache
        self._convs: list[ConversationSummary] | None = None
        self._previous: list[ConversationSummary] | None = None
        self._outcomes: list[m.SlaOutcome] | None = None
        self._checked = False

    @property
    def convs(self) -> list[ConversationSummary]:
        if self._convs is None:
            self._convs = summarised(self._db, self._brief, self._filters, self._now, self._cache)
        return self._convs

    @property
    def outcomes(self) -> list[m.SlaOutcome]:
        if self._outcomes is None:
            self._outcomes = m.sla_outcomes(self.convs, self._brief, self._now)
        return self._outcomes

    def check(self, name: str, *, by: str | None = None, figure: str | None = None) -> None:
        """Refuse a bad table, a `by` or `figure` the table does not take or does not know,
        or a filter value no conversation can have, before anything is read or written."""
        if name not in TABLES:
            raise BadQueryError(f"table {name!r}; expected one of: {', '.join(TABLES)}")
        for parameter, value in (("by", by), ("figure", figure)):
            if value is not None and parameter not in TAKES[name]:
                raise BadQueryError(
                    f"{parameter}={value!r} does not apply to the {name} table; "
                    f"{name} takes {_takes(name)}"
                )
        if name == "cohorts" and by is not None and by not in s.DIMENSIONS:
            raise BadQueryError(
                f"by={by!r} for cohorts; expected one of: {', '.join(s.DIMENSIONS)}"
            )
        if name == "sla" and by is not None and by not in SLA_KEYS:
            raise BadQueryError(f"by={by!r} for sla; expected one of: {', '.join(SLA_KEYS)}")
        if figure is not None:
            figures = [line.key for line in s.scorecard([], self._brief, self._now)]
            if figure not in figures:
                raise BadQueryError(f"figure {figure!r}; expected one of: {', '.join(figures)}")
        if not self._checked:
            self._filters.check(self._db, self._brief)
            self._checked = True

    def rows(
        self, name: str, *, by: str | None = None, figure: str | None = None
    ) -> list[dict[str, Any]]:
        by, figure = by or None, figure or None  # empty: not given
        self.check(name, by=by, figure=figure)
        brief, now = self._brief, self._now
        if name == "cohorts":
            dimension = by or "source"
            return [row.as_dict() for row in s.cohorts(self.convs, dimension, now)]
        if name == "sla":
            rates = m.sla_attainment(self.outcomes, SLA_KEYS[by or "priority"])
            return [
                {"key": k, "met": r.numerator, "judged": r.denominator, "attainment": r.value}
                for k, r in rates.items()
            ]
        if name == "scorecard":
            if self._previous is None:
                before = self._filters.before()
                self._previous = (
                    [] if before is None else summarised(self._db, brief, before, now, self._cache)
                )
            lines = s.compare(
                s.scorecard(self.convs, brief, now, self.outcomes),
                s.scorecard(self._previous, brief, now),
            )
            return [
                line.line.as_dict()
                | {
                    "previous": line.previous.value if line.previous else None,
                    "change": line.change,
                }
                for line in lines
            ]
        if name == "failures":
            return [
                {"intent": f.intent, "failed": f.failed, "conversations": f.conversations}
                for f in m.top_failure_intents(self.convs, now, limit=50)
            ]
        return [_conversation(c) for c in behind(self.convs, brief, now, figure)]


def _takes(name: str) -> str:
    """The parameters a table takes, for an error."""
    taken = [*TAKES[name], *FILTER_PARAMETERS]
    return ", ".join(taken[:-1]) + " and " + taken[-1]


def behind(
    convs: Sequence[Figured], brief: Brief, now: datetime, figure: str | None
) -> list[Figured]:
    """The conversations a scorecard figure counted (its numerator for a rate)."""
    if figure is None:
        return list(convs)
    lines = {line.key: line for line in s.scorecard(convs, brief, now)}
    if figure not in lines:
        raise BadQueryError(f"figure {figure!r}; expected one of: {', '.join(lines)}")
    wanted = set(lines[figure].ids)
    return [c for c in convs if c.id in wanted]


def _conversation(c: Figured) -> dict[str, Any]:
    return {
        "id": c.id,
        "created_at": c.created_at.isoformat(),
        "status": c.status,
        "intent": c.intent,
        "queue": c.queue,
        "priority": c.priority,
        "source": c.source,
        "number": c.number,
        "escalated": c.escalated,
        "csat_rating": c.csat_rating,
        "feedback": c.feedback,
    }


def as_csv(name: str, rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header; empty cells for None, true/false for booleans."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = COLUMNS[name]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ScorecardGauges:
    """The scorecard of the last 7 days for Prometheus, as (figure, value) pairs; computed
    again only when the last result is older than `every` (a scrape every 15 s must not
    read a week of conversations each time)."""

    def __init__(
        self,
        db: Database,
        brief: Brief,
        clock: Callable[[], datetime],
        every: timedelta = timedelta(minutes=5),
    ) -> None:
        self._db, self._brief, self._clock, self._every = db, brief, clock, every
        self._at: datetime | None = None
        self._values: list[tuple[str, float]] = []

    def __call__(self) -> list[tuple[str, float]]:
        now = self._clock()
        if self._at is None or now - self._at >= self._every:
            convs = facts(self._db, Filters(now - timedelta(days=7), now))
            self._values = [
                (line.key, float(line.value))
                for line in s.scorecard(convs, self._brief, now)
                if line.value is not None
            ]
            self._at = now
        return self._values
