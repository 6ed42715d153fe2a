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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from relaydesk.adapters.storage import metrics as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain.metric_facts import ConversationFacts, Figured
from relaydesk.domain.metric_summary import ConversationSummary
from relaydesk.services import summaries

STATUSES = ("bot", "queued", "assigned", "resolved")
#: The longest period one request may cover.
MAX_PERIOD = timedelta(days=366)
#: The years a period (and the weekly review's week) may be in: far from the ends of
#: `datetime` (years 1 to 9999), so that the period before it and a time zone's offset
#: stay representable.
FIRST_YEAR = 1970
LAST_YEAR = 9000
TABLES = ("scorecard", "cohorts", "sla", "failures", "conversations")
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


@dataclass(frozen=True, slots=True)
class Filters:
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
        for name, value in (("start", self.start), ("end", self.end)):
            if not FIRST_YEAR <= value.year <= LAST_YEAR:
                raise BadQueryError(
                    f"{name} {value.isoformat()} is out of range ({FIRST_YEAR} to {LAST_YEAR})"
                )
        if self.status is not None and self.status not in STATUSES:
            raise BadQueryError(f"status {self.status!r}; expected one of: {', '.join(STATUSES)}")
        if self.end <= self.start:
            raise BadQueryError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        if self.end - self.start > MAX_PERIOD:
            raise BadQueryError(f"the period is longer than {MAX_PERIOD.days} days; shorten it")

    def keeps(self, c: Figured) -> bool:
        return (
            (self.queue is None or c.queue == self.queue)
            and (self.intent is None or (c.intent or "(none)") == self.intent)
            and (self.source is None or c.source == self.source)
            and (self.number is None or c.number == self.number)
            and (self.status is None or c.status == self.status)
        )

    def before(self) -> Filters:
        """The same filters over the period of the same length just before."""
        span = self.end - self.start
        return Filters(
            self.start - span,
            self.start,
            self.queue,
            self.intent,
            self.source,
            self.number,
            self.status,
        )


def facts(db: Database, filters: Filters) -> list[ConversationFacts]:
    with db.read() as conn:
        return [c for c in store.load(conn, filters.start, filters.end) if filters.keeps(c)]


def summarised(
    db: Database, brief: Brief, filters: Filters, now: datetime
) -> list[ConversationSummary]:
    """The period's conversations from their summaries (`services.summaries.read`)."""
    convs = summaries.read(db, brief, filters.start, filters.end, now)
    return [c for c in convs if filters.keeps(c)]


def table(
    db: Database,
    brief: Brief,
    name: str,
    filters: Filters,
    now: datetime,
    *,
    by: str | None = None,
    figure: str | None = None,
) -> list[dict[str, Any]]:
    """One Insights table's rows: `by` is the cohort dimension (source, intent, number)
    or the SLA grouping (priority, queue, agent); `figure` the scorecard line whose
    conversations the `conversations` table lists (all of the period without it)."""
    return Tables(db, brief, filters, now).rows(name, by=by, figure=figure)


class Tables:
    """The tables of one period, its conversations' summaries read once (and the period
    before once, for the scorecard) however many tables are asked for."""

    def __init__(self, db: Database, brief: Brief, filters: Filters, now: datetime) -> None:
        self._db, self._brief, self._filters, self._now = db, brief, filters, now
        self._convs: list[ConversationSummary] | None = None
        self._previous: list[ConversationSummary] | None = None
        self._outcomes: list[m.SlaOutcome] | None = None

    @property
    def convs(self) -> list[ConversationSummary]:
        if self._convs is None:
            self._convs = summarised(self._db, self._brief, self._filters, self._now)
        return self._convs

    @property
    def outcomes(self) -> list[m.SlaOutcome]:
        if self._outcomes is None:
            self._outcomes = m.sla_outcomes(self.convs, self._brief, self._now)
        return self._outcomes

    def rows(
        self, name: str, *, by: str | None = None, figure: str | None = None
    ) -> list[dict[str, Any]]:
        if name not in TABLES:
            raise BadQueryError(f"table {name!r}; expected one of: {', '.join(TABLES)}")
        brief, now = self._brief, self._now
        if name == "cohorts":
            dimension = by or "source"
            if dimension not in s.DIMENSIONS:
                raise BadQueryError(
                    f"by={dimension!r} for cohorts; expected one of: {', '.join(s.DIMENSIONS)}"
                )
            return [row.as_dict() for row in s.cohorts(self.convs, dimension, now)]
        if name == "sla":
            grouping = by or "priority"
            if grouping not in SLA_KEYS:
                raise BadQueryError(
                    f"by={grouping!r} for sla; expected one of: {', '.join(SLA_KEYS)}"
                )
            rates = m.sla_attainment(self.outcomes, SLA_KEYS[grouping])
            return [
                {"key": k, "met": r.numerator, "judged": r.denominator, "attainment": r.value}
                for k, r in rates.items()
            ]
        if name == "scorecard":
            if self._previous is None:
                self._previous = summarised(self._db, brief, self._filters.before(), now)
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
