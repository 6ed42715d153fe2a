"""The scorecard's facts read the fast way (`adapters.storage.metrics.load`: rows unpacked
as tuples, each distinct trigger list decoded once) are the facts read row by row with
every decision's triggers decoded from the JSON column, on a seeded history (SQLite and
PostgreSQL): the same conversations, hence the same scorecard, cohorts and SLA."""

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
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.domain import sources
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
    .where(metrics._IN_PERIOD)
    .order_by(decisions.c.conversation_id, decisions.c.created_at, decisions.c.id)
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
            sent.get(c.id, ()),
            decided.get(c.id, ()),
            rewrites.get(c.id, ()),
            sources.source_of(c.id in ads, first.get(c.id)),
            clicked,
        )
        for c in conn.execute(metrics._CONVERSATIONS, period)
    ]


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
