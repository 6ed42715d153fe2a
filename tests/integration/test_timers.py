"""The worker's timers on both databases: SLA warnings and breaches fire once (also across
a restart, i.e. a new `Timers`), breach actions, the tier ladder in business time with
skip-if-nobody-available, the CSAT question (buttons inside the 24-hour window, the
template after it), `timer_at` scheduling, and two workers never acting twice.

The example brief: Mon-Fri 09:00-18:00 Europe/Madrid; P3 first response 1h (warning at
48m), P1 5m around the clock (warning at 4m); ladder general (10m) -> billing or
technical (30m, skipped when nobody is online) -> management.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select, update

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    events,
    messages,
    outbox,
    users,
)
from relaydesk.brief import EXAMPLE_BRIEF, Brief, load_brief
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.dialogue import DialogueState
from relaydesk.services.events import EventKind, record
from relaydesk.services.timers import Timers, sla_reports

BRIEF = load_brief(EXAMPLE_BRIEF)
MADRID = ZoneInfo("Europe/Madrid")
M = timedelta(minutes=1)


def md(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """Wall-clock time in Madrid, 2026 (30 November is a Monday), as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


MON_10 = md(30, 10)


def brief_with(**changes: Any) -> Brief:
    """The example brief with top-level sections patched (dotted keys go deeper)."""
    data: dict[str, Any] = copy.deepcopy(YAML(typ="safe").load(EXAMPLE_BRIEF.read_text()))
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        target = data
        for key in path:
            target = target[key]
        target[last] = value
    return Brief.model_validate(data)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


_customers = iter(range(1, 10_000))


def conversation(
    db: Database,
    *,
    status: str = "queued",
    queue: str | None = "general",
    priority: str | None = "P3",
    escalated_at: datetime | None = MON_10,
    last_inbound_at: datetime | None = MON_10,
    **values: Any,
) -> int:
    n = next(_customers)
    with db.write() as conn:
        customer_id = conn.execute(
            customers.insert()
            .values(
                wa_id=f"3460000{n:04d}",
                profile_name="Ana",
                created_at=MON_10,
                updated_at=MON_10,
            )
            .returning(customers.c.id)
        ).scalar_one()
        columns: dict[str, Any] = {
            "customer_id": customer_id,
            "phone_number_id": "1122334455667",
            "status": status,
            "queue": queue,
            "tier": BRIEF.queues[queue].tier if queue else None,
            "priority": priority,
            "language": "en",
            "queued_at": escalated_at,
            "escalated_at": escalated_at,
            "last_inbound_at": last_inbound_at,
            "created_at": MON_10 - timedelta(hours=1),
            "updated_at": MON_10,
        }
        columns.update(values)
        return int(
            conn.execute(
                conversations.insert().values(columns).returning(conversations.c.id)
            ).scalar_one()
        )


def agent(db: Database, *, skills: list[str], languages: list[str], online: bool = True) -> int:
    with db.write() as conn:
        count = len(conn.execute(select(users.c.id)).all())
        return int(
            conn.execute(
                users.insert()
                .values(
                    email=f"agent{count}@example.com",
                    name=f"Agent {count}",
                    role="agent",
                    skills=skills,
                    languages=languages,
                    capacity=3,
                    presence="online" if online else "offline",
                    created_at=MON_10,
                )
                .returning(users.c.id)
            ).scalar_one()
        )


def message(db: Database, conversation_id: int, at: datetime, author_id: int | None = None) -> None:
    """A customer message (no author) or an agent's reply (with one)."""
    with db.write() as conn:
        conn.execute(
            messages.insert().values(
                conversation_id=conversation_id,
                direction="out" if author_id else "in",
                type="text",
                text="...",
                payload={},
                sent_at=at,
                author_id=author_id,
                created_at=at,
            )
        )


def counting_writes(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """`db.write` wrapped so that each write transaction it opens adds one to the list."""
    writes: list[int] = []
    write = db.write

    @contextlib.contextmanager
    def counted(**options: Any) -> Iterator[Any]:
        writes.append(1)
        with write(**options) as conn:
            yield conn

    monkeypatch.setattr(db, "write", counted)
    return writes


def row(db: Database, conversation_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(
            select(conversations).where(conversations.c.id == conversation_id)
        ).one()


def kinds(db: Database, conversation_id: int) -> list[str]:
    return [kind for kind, _ in history(db, conversation_id)]


def history(db: Database, conversation_id: int) -> list[tuple[str, dict[str, Any]]]:
    with db.read() as conn:
        return [
            (r.kind, r.detail)
            for r in conn.execute(
                select(events.c.kind, events.c.detail)
                .where(events.c.conversation_id == conversation_id)
                .order_by(events.c.id)
            )
        ]


# --- SLA warnings and breaches -----------------------------------------------------------


def test_a_warning_fires_once_and_a_breach_acts_once_across_restarts(db: Database) -> None:
    cid = conversation(db, queue="management")  # the top of the ladder: no ladder moves
    assert Timers(db, BRIEF).run(MON_10 + 47 * M).warnings == 0
    first = Timers(db, BRIEF).run(MON_10 + 48 * M)
    assert (first.warnings, first.breaches) == (1, 0)
    assert row(db, cid).timer_at == MON_10 + 60 * M  # the breach is the next instant
    assert Timers(db, BRIEF).run(MON_10 + 50 * M).warnings == 0  # a restart: still once

    breach = Timers(db, BRIEF).run(MON_10 + 60 * M)
    assert (breach.breaches, breach.priority_raised, breach.alerts, breach.moves) == (1, 1, 1, 0)
    after = row(db, cid)
    assert after.priority == "P2"
    assert "first_response@" + MON_10.isoformat() in after.sla_handled
    again = Timers(db, BRIEF).run(MON_10 + 61 * M)
    assert (again.breaches, again.priority_raised, again.alerts) == (0, 0, 0)
    assert kinds(db, cid) == ["sla_warning", "sla_breach", "priority_raised", "supervisor_alert"]
    (_, breached), (_, raised) = history(db, cid)[1:3]
    assert breached["clock"] == "first_response"
    assert breached["actions"] == ["raise_priority", "move_up_tier", "notify_supervisors"]
    assert raised == {
        "from": "P3",
        "to": "P2",
        "reason": "sla_breach",
        "clocks": ["first_response"],
    }


def test_clocks_count_business_hours_only(db: Database) -> None:
    cid = conversation(db, queue="management", escalated_at=md(30, 17, 30))
    report = Timers(db, BRIEF).run(md(30, 23))  # 30 open minutes so far
    assert (report.warnings, report.breaches) == (0, 0)
    assert row(db, cid).timer_at == md(1, 9, 18, month=12)  # 48m of open time, Tuesday


def test_a_breach_moves_a_waiting_conversation_up_a_tier(db: Database) -> None:
    agent(db, skills=["payments"], languages=["en"])
    cid = conversation(db, priority="P1")  # 5m first response, around the clock
    report = Timers(db, BRIEF).run(MON_10 + 5 * M)  # before the 10m ladder timeout
    assert (report.breaches, report.moves, report.priority_raised) == (1, 1, 0)  # P1 stays P1
    after = row(db, cid)
    assert (after.queue, after.tier, after.priority) == ("billing", 3, "P1")
    assert after.entered_queue_at == MON_10 + 5 * M
    moved = dict(history(db, cid))["moved"]
    assert moved["reason"] == "sla_breach"
    assert (moved["from_queue"], moved["to_queue"]) == ("general", "billing")


def test_move_up_tier_on_an_assigned_conversation_alerts_supervisors(db: Database) -> None:
    brief = brief_with(slas__P3__on_breach=["move_up_tier"])
    ana = agent(db, skills=["orders"], languages=["en"])
    cid = conversation(db, status="assigned", assignee_id=ana)
    report = Timers(db, brief).run(MON_10 + 61 * M)
    assert (report.breaches, report.moves, report.alerts) == (1, 0, 1)
    after = row(db, cid)
    assert (after.status, after.assignee_id, after.queue) == ("assigned", ana, "general")
    assert dict(history(db, cid))["supervisor_alert"]["reason"] == "agent_holds_it"


def test_an_empty_on_breach_only_records_the_breach(db: Database) -> None:
    brief = brief_with(slas__P3__on_breach=[])
    cid = conversation(db, queue="management")
    report = Timers(db, brief).run(MON_10 + 61 * M)
    assert (report.breaches, report.priority_raised, report.alerts) == (1, 0, 0)
    assert kinds(db, cid) == ["sla_breach"]


def test_an_agent_reply_in_time_means_no_breach_and_no_timer(db: Database) -> None:
    ana = agent(db, skills=["orders"], languages=["en"])
    cid = conversation(db, status="assigned", assignee_id=ana)
    message(db, cid, MON_10 + 20 * M, author_id=ana)
    report = Timers(db, BRIEF).run(MON_10 + 2 * 60 * M)
    assert (report.warnings, report.breaches, report.conversations) == (0, 0, 1)
    after = row(db, cid)
    assert after.timer_at is None  # waiting on the customer: every clock is stopped
    assert Timers(db, BRIEF).run(MON_10 + 3 * 60 * M).conversations == 0  # idle costs nothing
    # The customer writes again (the inbound path sets timer_at = now): next response runs.
    message(db, cid, MON_10 + 3 * 60 * M)
    with db.write() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == cid)
            .values(timer_at=MON_10 + 3 * 60 * M)
        )
    Timers(db, BRIEF).run(MON_10 + 3 * 60 * M)
    assert row(db, cid).timer_at == MON_10 + (3 * 60 + 96) * M  # 80% of next_response 2h


def customer_writes(db: Database, cid: int, at: datetime, status: str = "queued") -> None:
    """What the decision stage stores for a customer message to people's conversation."""
    message(db, cid, at)
    before = row(db, cid)
    with db.write() as conn:
        repo.finish_inbound(
            conn,
            cid,
            last_inbound_at=at,
            dialogue=DialogueState(),
            status=ConversationStatus(status),
            queue=before.queue,
            tier=before.tier,
            priority=before.priority,
            now=at,
        )


@pytest.mark.parametrize("status", ["queued", "assigned"])
def test_a_customer_message_before_any_agent_reply_leaves_the_timer_as_it_is(
    db: Database, status: str
) -> None:
    ana = agent(db, skills=["orders"], languages=["en"])
    owner = {"assignee_id": ana} if status == "assigned" else {}
    cid = conversation(db, status=status, **owner)
    Timers(db, BRIEF).run(MON_10)
    planned = row(db, cid).timer_at
    assert planned == MON_10 + 10 * M if status == "queued" else MON_10 + 48 * M
    # "hello?" while waiting: no clock moves, so the timer stands (and no round runs)
    customer_writes(db, cid, MON_10 + 2 * M, status)
    assert row(db, cid).timer_at == planned
    assert Timers(db, BRIEF).run(MON_10 + 3 * M).conversations == 0
    # had it looked (the old behaviour), it would have planned the same instant
    with db.write() as conn:
        conn.execute(update(conversations).where(conversations.c.id == cid).values(timer_at=MON_10))
    Timers(db, BRIEF).run(MON_10 + 3 * M)
    assert row(db, cid).timer_at == planned


def test_a_customer_message_after_an_agent_reply_makes_the_timer_due_now(db: Database) -> None:
    ana = agent(db, skills=["orders"], languages=["en"])
    cid = conversation(db, status="assigned", assignee_id=ana)
    message(db, cid, MON_10 + 20 * M, author_id=ana)
    Timers(db, BRIEF).run(MON_10 + 21 * M)
    assert row(db, cid).timer_at is None  # waiting on the customer
    customer_writes(db, cid, MON_10 + 30 * M, "assigned")
    assert row(db, cid).timer_at == MON_10 + 30 * M  # next response starts: look now
    Timers(db, BRIEF).run(MON_10 + 30 * M)
    assert row(db, cid).timer_at == MON_10 + (30 + 96) * M  # 80% of next_response 2h


def test_an_agent_reply_of_an_earlier_handoff_does_not_count(db: Database) -> None:
    ana = agent(db, skills=["orders"], languages=["en"])
    cid = conversation(db, escalated_at=MON_10 + 60 * M, timer_at=MON_10 + 70 * M)
    message(db, cid, MON_10 + 5 * M, author_id=ana)  # before this handoff began
    customer_writes(db, cid, MON_10 + 61 * M)
    assert row(db, cid).timer_at == MON_10 + 70 * M


# --- the ladder --------------------------------------------------------------------------


def test_the_ladder_moves_a_conversation_nobody_took_after_the_timeout(db: Database) -> None:
    agent(db, skills=["payments"], languages=["en"])  # billing is staffed
    cid = conversation(db, entered_queue_at=MON_10)
    assert Timers(db, BRIEF).run(MON_10 + 9 * M).moves == 0
    assert row(db, cid).timer_at == MON_10 + 10 * M  # the ladder timeout comes first
    assert Timers(db, BRIEF).run(MON_10 + 10 * M).moves == 1
    after = row(db, cid)
    assert (after.queue, after.tier, after.entered_queue_at) == ("billing", 3, MON_10 + 10 * M)
    assert after.timer_at == MON_10 + 40 * M  # billing's own 30m timeout
    moved = dict(history(db, cid))["moved"]
    assert moved == {
        "from_queue": "general",
        "to_queue": "billing",
        "tier": 3,
        "skipped": [],
        "reason": "timeout",
        "waited_seconds": 600,
    }


def test_the_ladder_skips_a_step_nobody_is_online_for(db: Database) -> None:
    agent(db, skills=["payments"], languages=["en"], online=False)
    cid = conversation(db)
    Timers(db, BRIEF).run(MON_10 + 10 * M)
    after = row(db, cid)
    assert (after.queue, after.tier) == ("management", 4)
    assert dict(history(db, cid))["moved"]["skipped"] == ["billing"]


def test_out_of_hours_the_ladder_waits_for_opening_time(db: Database) -> None:
    cid = conversation(db, escalated_at=md(30, 17, 55), entered_queue_at=md(30, 17, 55))
    assert Timers(db, BRIEF).run(md(30, 21)).moves == 0  # 3 hours later, 5 open minutes
    assert row(db, cid).timer_at == md(1, 9, 5, month=12)
    assert Timers(db, BRIEF).run(md(1, 9, 5, month=12)).moves == 1


def test_without_entered_queue_at_the_ladder_counts_from_queued_at(db: Database) -> None:
    cid = conversation(db, escalated_at=None, queued_at=MON_10)
    Timers(db, BRIEF).run(MON_10 + 10 * M)
    assert row(db, cid).queue == "management"


# --- scheduling and concurrency ----------------------------------------------------------


def test_only_due_conversations_are_looked_at(db: Database) -> None:
    due = conversation(db, timer_at=MON_10 + 5 * M)
    later = conversation(db, timer_at=MON_10 + 30 * M)
    never_seen = conversation(db)  # timer_at and sla_handled both NULL: due at once
    conversation(db, status="bot", queue=None, priority=None, escalated_at=None)
    report = Timers(db, BRIEF).run(MON_10 + 5 * M)
    assert report.conversations == 2
    assert row(db, later).sla_handled is None
    assert row(db, due).timer_at == row(db, never_seen).timer_at == MON_10 + 10 * M


def test_two_workers_act_once(db: Database) -> None:
    ids = [conversation(db, queue="management") for _ in range(30)]
    start = threading.Barrier(2)
    results = []

    def work() -> None:
        timers = Timers(db, BRIEF, batch_size=5)
        start.wait()
        results.append(timers.run(MON_10 + 50 * M))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.warnings for r in results) == 30
    assert all(kinds(db, cid) == ["sla_warning"] for cid in ids)


def test_sla_reports_for_read_models(db: Database) -> None:
    waiting = conversation(db, queue="management")
    done = conversation(db, status="resolved", resolved_at=MON_10 + 30 * M)
    conversation(db, status="bot", queue=None, priority=None, escalated_at=None)
    with db.read() as conn:
        everything = sla_reports(conn, BRIEF, MON_10 + 50 * M)
        named = sla_reports(conn, BRIEF, MON_10 + 50 * M, [done])
        assert sla_reports(conn, BRIEF, MON_10, []) == {}
    assert set(everything) == {waiting}
    assert everything[waiting].first_response.state == "warning"
    assert named[done].resolution.state == "met"


# --- CSAT --------------------------------------------------------------------------------


def pending_csat(db: Database, last_inbound_at: datetime) -> int:
    return conversation(
        db,
        status="resolved",
        resolved_at=MON_10 + 30 * M,
        csat_state="pending",
        last_inbound_at=last_inbound_at,
    )


def outbox_content(db: Database, conversation_id: int) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [
            c
            for (c,) in conn.execute(
                select(outbox.c.content).where(outbox.c.conversation_id == conversation_id)
            )
        ]


def test_csat_goes_as_buttons_inside_the_window_and_as_the_template_after(db: Database) -> None:
    now = MON_10 + 40 * M
    inside = pending_csat(db, last_inbound_at=MON_10 + 20 * M)
    after = pending_csat(db, last_inbound_at=now - timedelta(hours=25))
    woken = []
    report = Timers(db, BRIEF, on_outbound=lambda: woken.append(1)).run(now)
    assert (report.csat_sent, woken) == (2, [1])

    [buttons] = outbox_content(db, inside)
    assert buttons["kind"] == "buttons"
    assert buttons["body"] == BRIEF.csat.question
    assert [b["id"] for b in buttons["buttons"]] == [
        f"csat:{inside}:5",
        f"csat:{inside}:3",
        f"csat:{inside}:1",
    ]
    [template] = outbox_content(db, after)
    assert (template["kind"], template["name"]) == ("template", "csat_request")
    assert template["body_params"] == ["Ana"]
    payloads = [c["parameters"][0]["payload"] for c in template["components"]]
    assert payloads == [f"csat:{after}:5", f"csat:{after}:3", f"csat:{after}:1"]

    assert row(db, inside).csat_state == row(db, after).csat_state == "sent"
    assert dict(history(db, after))["csat_sent"] == {"via": "template"}
    assert Timers(db, BRIEF).run(now + M).csat_sent == 0  # once


def test_csat_off_or_without_a_template_is_skipped(db: Database) -> None:
    closed = pending_csat(db, last_inbound_at=MON_10 - timedelta(hours=30))
    no_template = brief_with(csat={"template": None})
    report = Timers(db, no_template).run(MON_10 + 40 * M)
    assert (report.csat_sent, report.csat_skipped) == (0, 1)
    assert row(db, closed).csat_state == "skipped"

    inside = pending_csat(db, last_inbound_at=MON_10)
    off = brief_with(csat={"enabled": False})
    assert Timers(db, off).run(MON_10 + 40 * M).csat_skipped == 1
    assert row(db, inside).csat_state == "skipped"
    assert outbox_content(db, inside) == []


def test_a_failing_conversation_does_not_stop_the_others(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = conversation(db, queue="management")
    fine = conversation(db, queue="management")
    clocks = Timers._clocks

    def fail_one(self: Timers, conn: Any, item: Any, *args: Any) -> None:
        if item.id == broken:  # half the work done, then an error
            record(conn, EventKind.SLA_WARNING, now=MON_10, conversation_id=broken)
            raise RuntimeError("boom")
        clocks(self, conn, item, *args)

    monkeypatch.setattr(Timers, "_clocks", fail_one)
    assert Timers(db, BRIEF).run(MON_10 + 50 * M).warnings == 1
    assert kinds(db, fine) == ["sla_warning"]
    assert kinds(db, broken) == []  # rolled back
    assert row(db, broken).timer_at == MON_10 + 51 * M  # tried again a minute later


def test_on_sqlite_a_batch_is_committed_in_slices(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no time per slice, each conversation is its own transaction on SQLite (the
    webhooks' insert waits for one at most); PostgreSQL keeps one per batch. Every one
    is acted on either way."""
    ids = [conversation(db, queue="management") for _ in range(6)]
    writes = counting_writes(db, monkeypatch)
    report = Timers(db, BRIEF, write_slice=0.0).run(MON_10 + 50 * M)
    assert (report.conversations, report.warnings) == (6, 6)
    assert all(kinds(db, cid) == ["sla_warning"] for cid in ids)
    assert len(writes) == (6 if db.is_sqlite else 1)
