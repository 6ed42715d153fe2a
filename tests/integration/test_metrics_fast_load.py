"""The scorecard's facts read the fast way (`adapters.storage.metrics.load`: rows unpacked
as tuples, each distinct trigger list and failure-tag list decoded once) are the facts read
row by row with every decision's triggers and every conversation's failure tags decoded
from the JSON columns, on a seeded history (SQLite and PostgreSQL): the same
conversations, hence the same scorecard, cohorts and SLA. The figures computed the fast
way (SLA outcomes without the clocks' due instants, drafts sent unchanged without edit
distances) are the figures computed from the full SLA reports and the rewrite stats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from relaydesk.adapters.storage import metrics
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import conversations, decisions
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain import sla, sources
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.metric_facts import ConversationFacts, DecisionFact, MessageFact
from relaydesk.services.demo_seed import seed

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
_SLOW_DECISIONS = (
    select(
        decisions.c.conversation_id,
        decisions.c.created_at,
        decisions.c.action,
        decisions.c.intent,
        decisions.c.triggers,  # the JSON column, decoded row by row
        (decisions.c.detail["step"].as_string() == "book").label("booking"),
    )
    .join(conversations, conversations.c.id == decisions.c.conversation_id)
    .where(metrics.IN_PERIOD)
    .order_by(decisions.c.conversation_id, decisions.c.created_at, decisions.c.id)
)
_SLOW_CONVERSATIONS = (
    select(
        *(c for c in metrics._CONVERSATIONS.selected_columns if c.name != "failure_tags"),
        conversations.c.failure_tags,  # the JSON column, decoded row by row
    )
    .where(metrics.IN_PERIOD)
    .order_by(conversations.c.id)
)


def slow_load(conn: Connection, start: datetime, end: datetime) -> list[ConversationFacts]:
    """The facts as `load` read them before it was made fast."""
    period = {"k_start": start, "k_end": end}
    sent: dict[int, list[MessageFact]] = {}
    rewrites: dict[int, list[tuple[str, str]]] = {}
    ads: set[int] = set()
    first: dict[int, sources.FirstMessage] = {}
    for row in conn.execute(metrics._MESSAGES, period):
        if row.direction == "in" and row.conversation_id not in first:
            first[row.conversation_id] = sources.FirstMessage(
                row.type, row.hint, bool(row.to_template)
            )
        party = "customer" if row.direction == "in" else "agent"
        sent.setdefault(row.conversation_id, []).append(MessageFact(row.sent_at, party))
        if row.draft is not None and row.text is not None:
            rewrites.setdefault(row.conversation_id, []).append((row.draft, row.text))
        if row.ad:
            ads.add(row.conversation_id)
    decided: dict[int, list[DecisionFact]] = {}
    for d in conn.execute(_SLOW_DECISIONS, period):
        decided.setdefault(d.conversation_id, []).append(
            DecisionFact(
                d.created_at, d.action, d.intent, metrics._trigger_types(d.triggers),
                bool(d.booking),
            )
        )  # fmt: skip
    clicked = {int(r.conversation_id) for r in conn.execute(metrics._CLICKED, period)}
    return [
        metrics._facts(
            c,
            tuple(c.failure_tags or ()),
            sent.get(c.id, ()),
            decided.get(c.id, ()),
            rewrites.get(c.id, ()),
            sources.source_of(c.id in ads, first.get(c.id)),
            clicked,
        )
        for c in conn.execute(_SLOW_CONVERSATIONS, period)
    ]


def reference_sla_outcomes(
    convs: list[ConversationFacts], brief: Brief, now: datetime
) -> list[m.SlaOutcome]:
    """`metrics.sla_outcomes` as it was before `sla.outcome`: from the full reports."""
    outcomes = []
    calendars = {True: BusinessCalendar.from_brief(brief), False: BusinessCalendar.always_open()}
    parties = {"customer": sla.Party.CUSTOMER, "agent": sla.Party.AGENT}
    for c in convs:
        if c.escalated_at is None or c.priority not in brief.slas:
            continue
        timeline = sla.SlaTimeline(
            opened_at=c.escalated_at,
            messages=tuple(
                sla.TimelineMessage(msg.at, parties[msg.party])
                for msg in c.messages
                if msg.at >= c.escalated_at
            ),
            resolved_at=c.resolved_at,
        )
        target = brief.slas[c.priority]
        report = sla.evaluate_sla(
            timeline, c.priority, target, calendars[target.business_hours], now
        )
        met: bool | None
        if report.breached:
            met = False
        elif report.first_response.state is sla.SlaState.MET and (
            report.resolution.state is sla.SlaState.MET
        ):
            met = True
        else:
            met = None
        outcomes.append(m.SlaOutcome(c.id, str(c.priority), c.queue, c.assignee_id, met))
    return outcomes


def reference_acceptance(convs: list[ConversationFacts]) -> m.Acceptance:
    """The scorecard's "drafts sent unchanged" as it was before `metrics.draft_acceptance`:
    from every reply's edit distance."""
    rewrites = m.rewrite_rate(convs)
    value = None if rewrites.rewrite_rate is None else round(1 - rewrites.rewrite_rate, 4)
    ids = tuple(c.id for c in convs if any(d.split() == f.split() for d, f in c.rewrites))
    return m.Acceptance(value, rewrites.replies_with_draft, ids)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def test_the_fast_load_gives_the_same_facts_and_scorecard_as_the_slow_one(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=400, now=NOW, weeks=2)
    for start, end in ((NOW - timedelta(days=7), NOW), (NOW - timedelta(days=14), NOW)):
        with db.read() as conn:
            fast, slow = metrics.load(conn, start, end), slow_load(conn, start, end)
        assert len(fast) > 100
        assert any(d.triggers for c in fast for d in c.decisions)  # triggers were decoded
        assert fast == slow
        assert s.scorecard(fast, brief, NOW) == s.scorecard(slow, brief, NOW)
        for dimension in s.DIMENSIONS:
            assert s.cohorts(fast, dimension, NOW) == s.cohorts(slow, dimension, NOW)
        assert m.sla_outcomes(fast, brief, NOW) == m.sla_outcomes(slow, brief, NOW)
        assert any(c.failure_tags for c in fast)  # failure tags were decoded
        for now in (NOW, NOW + timedelta(hours=5), NOW + timedelta(days=30)):
            outcomes = m.sla_outcomes(fast, brief, now)
            assert outcomes == reference_sla_outcomes(fast, brief, now)
            assert {o.met for o in outcomes} >= {True, False}
        assert sum(1 for c in fast for _ in c.rewrites) > 10
        accepted = reference_acceptance(fast)
        assert m.draft_acceptance(fast) == accepted
        assert accepted.value is not None and 0 < accepted.value < 1
        line = {x.key: x for x in s.scorecard(fast, brief, NOW)}["draft_acceptance"]
        assert (line.value, line.count, line.ids) == (
            accepted.value,
            accepted.replies,
            accepted.ids,
        )
