"""The Insights tables computed from the conversations' stored summaries
(`services.summaries`, migration 0015) are the tables computed from their facts, on a
seeded history at several `now`s (SQLite and PostgreSQL): the scorecard, the cohorts, SLA
attainment, the failure intents and the drill-down. A change to anything a summary is
computed from shows in the next read, and a brief with other SLA targets does not reuse
outcomes judged under the old one."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import (
    conversation_summaries,
    conversations,
    decisions,
    events,
    messages,
    users,
)
from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain import metrics as m
from relaydesk.domain import scorecard as s
from relaydesk.services import insights, summaries
from relaydesk.services.demo_seed import seed

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
PAGE = (("scorecard", None), ("cohorts", "source"), ("cohorts", "intent"),
        ("cohorts", "number"), ("sla", "priority"), ("sla", "queue"), ("sla", "agent"),
        ("failures", None), ("conversations", None))  # fmt: skip


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def previous(filters: insights.Filters) -> insights.Filters:
    """The period before (there is one: the tests' periods are in 2026)."""
    before = filters.before()
    assert before is not None
    return before


def from_facts(db: Database, brief: Brief, filters: insights.Filters, now: datetime) -> Any:
    """Every table of the page computed from the facts, as before the summaries."""
    convs, before = insights.facts(db, filters), insights.facts(db, previous(filters))
    outcomes = m.sla_outcomes(convs, brief, now)
    lines = s.compare(s.scorecard(convs, brief, now, outcomes), s.scorecard(before, brief, now))
    return {
        "scorecard": [(x.line, x.previous, x.change) for x in lines],
        "cohorts": [s.cohorts(convs, d, now) for d in s.DIMENSIONS],
        "sla": [m.sla_attainment(outcomes, k) for k in insights.SLA_KEYS.values()],
        "failures": m.top_failure_intents(convs, now, limit=50),
        "behind": {
            line.key: [c.id for c in insights.behind(convs, brief, now, line.key)]
            for line in s.scorecard(convs, brief, now, outcomes)
        },
        "rows": [insights._conversation(c) for c in convs],
    }


def from_summaries(
    db: Database,
    brief: Brief,
    filters: insights.Filters,
    now: datetime,
    cache: summaries.SummaryCache | None = None,
) -> Any:
    convs = insights.summarised(db, brief, filters, now, cache)
    before = insights.summarised(db, brief, previous(filters), now, cache)
    outcomes = m.sla_outcomes(convs, brief, now)
    lines = s.compare(s.scorecard(convs, brief, now, outcomes), s.scorecard(before, brief, now))
    return {
        "scorecard": [(x.line, x.previous, x.change) for x in lines],
        "cohorts": [s.cohorts(convs, d, now) for d in s.DIMENSIONS],
        "sla": [m.sla_attainment(outcomes, k) for k in insights.SLA_KEYS.values()],
        "failures": m.top_failure_intents(convs, now, limit=50),
        "behind": {
            line.key: [c.id for c in insights.behind(convs, brief, now, line.key)]
            for line in s.scorecard(convs, brief, now, outcomes)
        },
        "rows": [insights._conversation(c) for c in convs],
    }


def stored(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(conversation_summaries)).scalar())


def test_the_tables_from_summaries_are_the_tables_from_facts(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=400, now=NOW, weeks=3)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    assert stored(db) == 0
    first = from_summaries(db, brief, filters, NOW)  # summarised from the facts, stored
    assert stored(db) > 200
    for now in (NOW, NOW + timedelta(hours=5), NOW + timedelta(days=3), NOW + timedelta(days=30)):
        expected = from_facts(db, brief, filters, now)
        got = from_summaries(db, brief, filters, now)  # read back from the stored rows
        assert got == expected, now
        assert {o.met for o in m.sla_outcomes(insights.summarised(db, brief, filters, now),
                                              brief, now)} >= {True, False}  # fmt: skip
    assert first == from_facts(db, brief, filters, NOW)
    tables = insights.Tables(db, brief, filters, NOW)
    cache = summaries.SummaryCache()
    cold = insights.Tables(db, brief, filters, NOW, cache)  # the periods read whole
    for name, by in PAGE:
        expected = insights.table(db, brief, name, filters, NOW, by=by)
        assert tables.rows(name, by=by) == expected
        assert cold.rows(name, by=by) == expected
        warm = insights.Tables(db, brief, filters, NOW, cache)  # checked, then from memory
        assert warm.rows(name, by=by) == expected


def test_a_cache_gives_the_tables_from_facts_at_every_now(db: Database) -> None:
    """One cache across several `now`s: what depends on the time is worked out again."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=400, now=NOW, weeks=3)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    cache = summaries.SummaryCache()
    for now in (NOW, NOW + timedelta(hours=5), NOW + timedelta(days=3), NOW + timedelta(days=30),
                NOW):  # fmt: skip
        assert from_summaries(db, brief, filters, now, cache) == from_facts(
            db, brief, filters, now
        ), now
    assert len(cache) > 200


def test_a_warm_cache_reads_in_full_only_what_changed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    cache = summaries.SummaryCache()
    read_in_full: list[int] = []
    by_ids, by_period = summaries.store.read_ids, summaries.store.read

    def counted_ids(conn: Any, ids: Any) -> Any:
        read_in_full.extend(ids)
        return by_ids(conn, ids)

    def counted_period(conn: Any, start: datetime, end: datetime) -> Any:
        found = by_period(conn, start, end)
        read_in_full.extend([c.id for c in found.summarised] + list(found.stale))
        return found

    monkeypatch.setattr(summaries.store, "read_ids", counted_ids)
    monkeypatch.setattr(summaries.store, "read", counted_period)
    first = insights.summarised(db, brief, filters, NOW, cache)
    assert len(read_in_full) == len(first) > 50  # cold: the whole period
    read_in_full.clear()
    assert insights.summarised(db, brief, filters, NOW, cache) == first
    assert read_in_full == []  # warm, nothing changed: nothing read in full
    fact, live = first[0], first[1]
    with db.write() as conn:
        conn.execute(insert(messages).values(_message(fact.id, NOW - timedelta(seconds=1))))
        conn.execute(
            update(conversations).where(conversations.c.id == live.id).values(feedback="needed")
        )
    again = insights.summarised(db, brief, filters, NOW, cache)
    assert read_in_full == [fact.id]  # the live column came with the narrow read
    assert next(c for c in again if c.id == live.id).feedback == "needed"
    assert next(c for c in again if c.id == fact.id).messages == fact.messages + 1


def test_a_small_cache_drops_the_longest_held_and_stays_right(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    expected = from_facts(db, brief, filters, NOW)
    week = len(insights.facts(db, filters))
    before = len(insights.facts(db, previous(filters)))
    tiny = summaries.SummaryCache(capacity=min(week, before) - 1)  # holds neither week
    for _ in range(2):
        assert from_summaries(db, brief, filters, NOW, tiny) == expected
        assert len(tiny) == 0  # a period it cannot hold is read whole, nothing kept
    small = summaries.SummaryCache(capacity=max(week, before) + 5)  # one week and a bit
    for _ in range(3):
        assert from_summaries(db, brief, filters, NOW, small) == expected
        assert len(small) == max(week, before) + 5  # the longest held dropped
    with pytest.raises(ValueError, match="capacity 0; give at least 1"):
        summaries.SummaryCache(capacity=0)


def test_a_new_conversation_with_an_erased_ones_id_is_not_read_from_the_cache(
    db: Database,
) -> None:
    """SQLite gives the id of a deleted newest conversation to the next one: even with the
    same `facts_rev` and live columns, it is not the conversation the cache holds."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=14), NOW)
    cache = summaries.SummaryCache()
    assert from_summaries(db, brief, filters, NOW, cache) == from_facts(db, brief, filters, NOW)
    with db.write() as conn:
        newest = (
            conn.execute(select(conversations).order_by(conversations.c.id.desc()).limit(1))
            .one()
            ._asdict()
        )
        assert newest["facts_rev"] > 0
        conn.execute(delete(conversations).where(conversations.c.id == newest["id"]))
        again = newest | {"created_at": NOW - timedelta(seconds=1)}
        if db.is_sqlite:
            del again["id"]  # SQLite picks the freed id itself
        else:
            again["id"] = newest["id"]  # as a restore would
        conn.execute(insert(conversations).values(**again))
        reused = conn.execute(select(func.max(conversations.c.id))).scalar_one()
    assert reused == newest["id"]
    expected = from_facts(db, brief, filters, NOW)
    assert from_summaries(db, brief, filters, NOW, cache) == expected


def test_two_transactions_summarising_one_conversation_both_succeed(db: Database) -> None:
    """A page and the worker's job (or two pages) store the same conversation's summary at
    once; the later `facts_rev` wins whichever commits last."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=50, now=NOW, weeks=1)
    convs = insights.summarised(db, brief, insights.Filters(NOW - timedelta(days=7), NOW), NOW)
    target = convs[0]
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.write() as conn:
                summaries.store.write(conn, [(target.id, 7, target.summary)])
                holding.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)

    def second() -> None:
        try:
            with db.write() as conn:
                summaries.store.write(conn, [(target.id, 5, replace(target.summary, messages=99))])
        except BaseException as exc:
            errors.append(exc)

    with db.write() as conn:  # nothing stored for it: both transactions insert
        conn.execute(
            delete(conversation_summaries).where(
                conversation_summaries.c.conversation_id == target.id
            )
        )
    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)  # waits for the first (PostgreSQL: the row; SQLite: the write lock)
    release.set()
    one.join(10)
    two.join(10)
    assert errors == []
    with db.read() as conn:
        rev, sent = conn.execute(
            select(conversation_summaries.c.facts_rev, conversation_summaries.c.messages).where(
                conversation_summaries.c.conversation_id == target.id
            )
        ).one()
    assert (rev, sent) == (7, target.messages)  # the earlier facts_rev did not replace it


def test_the_worker_job_stores_the_summaries_a_page_then_reads(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    made = seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    assert made
    refresh = summaries.Refresh(db, brief, limit=10_000)
    assert refresh(NOW) == stored(db) > 100
    assert refresh(NOW) == 0  # nothing stale
    filters = insights.Filters(NOW - timedelta(days=14), NOW)
    assert from_summaries(db, brief, filters, NOW) == from_facts(db, brief, filters, NOW)


def test_a_wrong_summary_shows_in_the_comparison(db: Database) -> None:
    """The comparison above can fail: a stored summary with one figure's input changed."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=200, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=7), NOW)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    with db.read() as conn:
        found = summaries.store.read(conn, filters.start, filters.end)
    assert not found.stale
    victim = next(c for c in found.summarised if c.bot_replied and not c.escalated)
    wrong = replace(victim.summary, escalated=True)
    with db.write() as conn:
        rev = conn.execute(
            select(conversation_summaries.c.facts_rev).where(
                conversation_summaries.c.conversation_id == victim.id
            )
        ).scalar_one()
        summaries.store.write(conn, [(victim.id, rev, wrong)])
    assert from_summaries(db, brief, filters, NOW) != from_facts(db, brief, filters, NOW)


def _pick(db: Database, brief: Brief, filters: insights.Filters, want: Any) -> Any:
    """A conversation `want` keeps, none picked twice (the changes add up)."""
    found = next(c for c in insights.facts(db, filters) if want(c) and c.id not in _PICKED)
    _PICKED.add(found.id)
    return found


_PICKED: set[int] = set()


def _message(cid: int, at: datetime, *, agent: int | None = None) -> dict[str, Any]:
    return {"conversation_id": cid, "direction": "out" if agent else "in", "type": "text",
            "text": "hello", "payload": {}, "sent_at": at, "author_id": agent,
            "created_at": at}  # fmt: skip


def _agent(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.min(users.c.id))).scalar_one())


def _changes(db: Database, brief: Brief, filters: insights.Filters) -> list[Any]:
    """(what changes, how) for each kind of change the figures read."""
    at = NOW - timedelta(seconds=1)
    _PICKED.clear()
    waiting = _pick(  # escalated, nobody replied yet
        db,
        brief,
        filters,
        lambda c: c.escalated_at and not (c.escalation_reply_at or c.resolved_at),
    )
    bot_only = _pick(db, brief, filters, lambda c: not c.escalated and c.bot_replied)
    resolved = _pick(db, brief, filters, lambda c: c.escalated_at and c.resolved_at)
    quiet = _pick(  # a bot-only contact that ended days ago: a message now reopens it
        db, brief, filters, lambda c: not c.escalated and c.bot_replied and not c.contact[1]
        and c.contact[0] and NOW - timedelta(days=6) < c.contact[0] < NOW - timedelta(days=2)
        and not c.next_conversation_at
    )  # fmt: skip
    untagged = _pick(db, brief, filters, lambda c: not m.failed(c, NOW))
    judged = _pick(db, brief, filters, lambda c: c.escalated_at and c.feedback is None)
    kept = _pick(db, brief, filters, lambda c: not c.escalated and c.resolved_at is None)
    booked = _pick(db, brief, filters, lambda c: not c.booking_offered)
    rated = _pick(db, brief, filters, lambda c: c.resolved_at and c.csat_state != "answered")
    agent = _agent(db)
    settled = [o for o in m.sla_outcomes(insights.summarised(db, brief, filters, NOW), brief, NOW)
               if o.met is not None]  # fmt: skip
    moved = next(o for o in settled if o.conversation_id not in _PICKED)
    _PICKED.add(moved.conversation_id)
    other_queue = next(q for q in sorted(brief.queues) if q != moved.queue)
    handed = next(o for o in settled if o.conversation_id not in _PICKED and o.assignee_id != agent)
    _PICKED.add(handed.conversation_id)
    returning = _pick(  # like `quiet`: the customer's next conversation reopens it
        db, brief, filters, lambda c: not c.escalated and c.bot_replied and not c.contact[1]
        and c.contact[0] and NOW - timedelta(days=6) < c.contact[0] < NOW - timedelta(days=2)
        and not c.next_conversation_at
    )  # fmt: skip
    erased = _pick(db, brief, filters, lambda c: c.escalated)
    convs = conversations.c
    return [
        ("an agent's reply", insert(messages).values(_message(waiting.id, at, agent=agent))),
        ("a customer message", insert(messages).values(_message(quiet.id, at))),
        ("a message erased", delete(messages).where(messages.c.conversation_id == resolved.id)),
        ("a decision", insert(decisions).values(
            conversation_id=bot_only.id, action="escalate", intent="refund",
            triggers=[{"type": "low_confidence"}], policy_version="t", detail={},
            created_at=at)),
        ("a CSAT answer", update(conversations).where(convs.id == rated.id).values(
            csat_state="answered", csat_rating=1)),
        ("a failure tag", update(conversations).where(convs.id == untagged.id).values(
            failure_tags=["wrong_answer"])),
        ("an agent's verdict", update(conversations).where(convs.id == judged.id).values(
            feedback="too_late")),
        ("a booking link sent", insert(decisions).values(
            conversation_id=booked.id, action="answer", intent="pricing", triggers=[],
            policy_version="t", detail={"step": "book"}, created_at=at)),
        ("a booking click", insert(events).values(
            conversation_id=booked.id, kind="booking_click", detail={}, created_at=at)),
        ("a booking click undone", delete(events).where(
            events.c.conversation_id == booked.id, events.c.kind == "booking_click")),
        ("resolved", update(conversations).where(convs.id == waiting.id).values(
            status="resolved", resolved_at=at)),
        ("reopened", update(conversations).where(convs.id == resolved.id).values(
            status="assigned", resolved_at=None)),
        ("escalated", update(conversations).where(convs.id == kept.id).values(
            status="queued", escalated_at=at, priority="P2")),
        ("moved to another queue", update(conversations).where(
            convs.id == moved.conversation_id).values(queue=other_queue)),
        ("handed to another agent", update(conversations).where(
            convs.id == handed.conversation_id).values(assignee_id=agent)),
        ("the customer's next conversation", insert(conversations).values(
            customer_id=returning.customer_id, phone_number_id=returning.number,
            status="resolved", resolved_at=at, created_at=at, updated_at=at)),
        ("a conversation erased", delete(conversations).where(convs.id == erased.id)),
    ]  # fmt: skip


def test_each_kind_of_change_shows_in_the_next_read(db: Database) -> None:
    """Read from the stored summaries, and through a cache that read them before."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=14), NOW)
    cache = summaries.SummaryCache()
    for what, change in _changes(db, brief, filters):
        summaries.Refresh(db, brief, limit=10_000)(NOW)
        before = from_facts(db, brief, filters, NOW)
        assert from_summaries(db, brief, filters, NOW, cache) == before, what
        with db.write() as conn:
            conn.execute(change)
        after = from_facts(db, brief, filters, NOW)
        assert after != before, what  # the change moves some figure
        assert from_summaries(db, brief, filters, NOW, cache) == after, what
        assert from_summaries(db, brief, filters, NOW) == after, what


def test_a_brief_with_other_slas_does_not_reuse_stored_outcomes(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=300, now=NOW, weeks=2)
    filters = insights.Filters(NOW - timedelta(days=14), NOW)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    strict = {p: sla.model_copy(update={"first_response": timedelta(seconds=1)})
              for p, sla in brief.slas.items()}  # fmt: skip
    other = brief.model_copy(update={"slas": strict})
    assert m.sla_basis(other) != m.sla_basis(brief)
    expected = from_facts(db, brief, filters, NOW)
    assert from_facts(db, other, filters, NOW)["sla"] != expected["sla"]
    cache = summaries.SummaryCache()
    assert from_summaries(db, brief, filters, NOW, cache) == expected
    assert from_summaries(db, other, filters, NOW) == from_facts(db, other, filters, NOW)
    assert from_summaries(db, other, filters, NOW, cache) == from_facts(db, other, filters, NOW)
    assert summaries.Refresh(db, other, limit=10_000)(NOW) > 0  # judged again, stored
    assert from_summaries(db, other, filters, NOW) == from_facts(db, other, filters, NOW)
    assert from_summaries(db, other, filters, NOW, cache) == from_facts(db, other, filters, NOW)
    assert from_summaries(db, brief, filters, NOW) == expected
    assert from_summaries(db, brief, filters, NOW, cache) == expected


def test_pages_in_threads_sharing_a_cache_while_the_desk_writes(db: Database) -> None:
    """Three readers on one cache (several periods and `now`s), one writer changing what
    the figures read and the worker's job storing summaries: no read fails, and afterwards
    the cache gives the figures from facts."""
    brief = load_brief(EXAMPLE_BRIEF)
    seed(db, brief, conversations_wanted=150, now=NOW, weeks=2)
    summaries.Refresh(db, brief, limit=10_000)(NOW)
    periods = [insights.Filters(NOW - timedelta(days=7), NOW),
               insights.Filters(NOW - timedelta(days=14), NOW)]  # fmt: skip
    cache = summaries.SummaryCache(capacity=120)  # smaller than the two weeks: it drops some
    agent = _agent(db)
    with db.read() as conn:
        ids = list(conn.execute(select(conversations.c.id)).scalars())
    stop, errors = threading.Event(), []

    def writer() -> None:
        rnd, c = random.Random(7), conversations.c
        while not stop.is_set():
            cid, at = rnd.choice(ids), NOW - timedelta(minutes=rnd.randint(120, 720))
            row = update(conversations).where(c.id == cid)
            change = rnd.choice([
                insert(messages).values(_message(cid, at)),
                insert(messages).values(_message(cid, at, agent=agent)),
                row.values(queue=rnd.choice(sorted(brief.queues))),
                row.values(priority=rnd.choice(["P1", "P2"])),
                row.values(csat_state="answered", csat_rating=2),
                row.values(feedback="too_late"),
            ])  # fmt: skip
            try:
                with db.write() as conn:
                    conn.execute(change)
                if rnd.random() < 0.1:
                    summaries.Refresh(db, brief, limit=10_000)(NOW)
            except BaseException as exc:  # reported below
                errors.append(exc)

    def reader(seed_: int) -> None:
        rnd = random.Random(seed_)
        while not stop.is_set():
            try:
                insights.summarised(
                    db, brief, rnd.choice(periods), NOW + timedelta(hours=rnd.randint(0, 48)), cache
                )
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    for filters in periods:
        for now in (NOW, NOW + timedelta(days=2)):
            assert from_summaries(db, brief, filters, now, cache) == from_facts(
                db, brief, filters, now
            ), (filters, now)
