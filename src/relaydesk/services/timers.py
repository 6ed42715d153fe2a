"""Durable timers, run by the worker about once a second: SLA warnings and breaches (and
the brief's breach actions), the tier ladder, and the CSAT question after a resolution.

Nothing is kept in memory. Each conversation people own or wait on carries `timer_at`,
the next instant anything can happen to it (a warning, a breach, a ladder timeout);
`run(now)` looks only at conversations whose instant has come, so idle ones cost
nothing. What was acted on is stored in `sla_handled` (a breach by its `SlaStatus.key`,
a warning by `sla.warning_key`), so each fires once, across restarts and workers.

Whoever changes what the clocks see sets `timer_at = now` in the same transaction: an
escalation, a customer message in a queued or assigned conversation once an agent has
replied in the handoff (before that it moves no clock), a transfer or an escalation by a
person, a resolution with a CSAT question pending. A conversation
never looked at (`timer_at` and `sla_handled` both NULL) is due at once as well.

Concurrency: on PostgreSQL the due rows are claimed with `FOR UPDATE SKIP LOCKED`, so
two workers never act on one conversation; SQLite serialises writers itself. Each batch
is one short transaction (on SQLite, as many of a few milliseconds each as it takes:
the webhooks' insert waits for the write lock), and every change is recorded as an
event beside it.

Breach actions on a conversation an agent already holds: `raise_priority` and
`notify_supervisors` apply as written; `move_up_tier` does not take the conversation
away from the person talking to the customer (the customer would start over), it
alerts supervisors instead, who can transfer it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import csat as csat_store
from relaydesk.adapters.storage import timers as store
from relaydesk.adapters.storage.db import WRITE_SLICE, Database
from relaydesk.adapters.storage.handoff import online_agents as _online_agents
from relaydesk.adapters.storage.timers import Timed
from relaydesk.brief.schema import PRIORITIES, Brief, Priority
from relaydesk.domain import routing, sla
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.conversation import ConversationStatus, window_expires_at
from relaydesk.services import clocks, csat
from relaydesk.services.clocks import sla_reports
from relaydesk.services.events import EventKind, record

__all__ = ["TimerReport", "Timers", "next_instant", "sla_reports"]

log = structlog.get_logger(__name__)

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
RESOLVED = ConversationStatus.RESOLVED.value
#: When a conversation failed to process, it is tried again this much later.
RETRY_AFTER = timedelta(minutes=1)


@dataclass(slots=True)
class TimerReport:
    """What one `Timers.run` did (counted as it goes)."""

    moves: int = 0  #: ladder moves, by timeout or by a breach's move_up_tier
    warnings: int = 0
    breaches: int = 0
    csat_sent: int = 0
    priority_raised: int = 0
    alerts: int = 0  #: supervisor alerts
    csat_skipped: int = 0  #: CSAT off, or the window closed and the brief has no template
    conversations: int = 0  #: conversations looked at (their timer was due)


@dataclass(slots=True)
class _Conversation:
    """One due conversation while it is worked on (changes are written at the end)."""

    id: int
    status: str
    queue: str
    priority: Priority
    language: str | None
    queued_at: datetime
    entered_queue_at: datetime | None
    last_inbound_at: datetime | None
    timeline: sla.SlaTimeline
    handled: set[str]
    changes: dict[str, Any] = field(default_factory=dict)

    def waiting(self) -> routing.Waiting:
        return routing.Waiting(
            conversation_id=self.id,
            queue=self.queue,
            priority=self.priority,
            queued_at=self.queued_at,
            language=self.language,
            window_closes_at=window_expires_at(self.last_inbound_at),
            entered_target_at=self.entered_queue_at,
        )


class Timers:
    """The worker's timers: `run(now)` about once a second (`services/runner.Scheduler`)."""

    def __init__(
        self,
        db: Database,
        brief: Brief,
        *,
        on_outbound: Callable[[], None] = lambda: None,
        batch_size: int = 25,
        write_slice: float | None = WRITE_SLICE,
    ) -> None:
        """`write_slice`: on SQLite, a batch is committed in transactions of about this
        many seconds (the webhooks' insert waits for the write lock at most one); None,
        or PostgreSQL, one transaction per batch."""
        self._db = db
        self._brief = brief
        self._calendar = BusinessCalendar.from_brief(brief)
        self._on_outbound = on_outbound
        self._batch_size = batch_size
        self._write_slice = write_slice if db.is_sqlite else None

    def run(self, now: datetime) -> TimerReport:
        """Act on every timer due at `now`: SLA warnings and breaches, ladder timeouts,
        pending CSAT questions. Safe to run from several workers at once."""
        counts = TimerReport()
        size = self._batch_size
        for ids in self._batches(
            lambda conn, after: store.due_ids(conn, now, after=after, limit=size)
        ):
            rest: Sequence[int] = ids
            while rest:  # in slices, like the decision stage: a webhook waits at most one
                with self._db.write() as conn:
                    rest = self._work(conn, rest, now, counts)
        for ids in self._batches(
            lambda conn, after: csat_store.pending_ids(conn, after=after, limit=size)
        ):
            with self._db.write() as conn:
                sent, skipped = csat.send_pending(conn, ids, self._brief, now)
            counts.csat_sent += sent
            counts.csat_skipped += skipped
        if counts.csat_sent:
            self._on_outbound()
        return counts

    def _batches(self, find: Callable[[Connection, int], list[int]]) -> Iterator[list[int]]:
        """Batches of ids in order, `find(conn, after)` giving the next batch above
        `after`; each is looked up in a read of its own (an idle second never takes the
        write lock) and worked on by the caller before the next is looked up."""
        after = 0
        while True:
            with self._db.read() as conn:
                ids = find(conn, after)
            if not ids:
                return
            yield ids
            after = ids[-1]

    # --- SLA clocks and the ladder -------------------------------------------------------

    def _work(
        self, conn: Connection, ids: Sequence[int], now: datetime, counts: TimerReport
    ) -> list[int]:
        """Act on those of `ids` still due, in order, until `write_slice` seconds have
        passed (on SQLite); returns the ids claimed but not reached, for the next slice."""
        rows = store.claim_due(conn, ids, now)
        if not rows:
            return []
        deadline = None if self._write_slice is None else time.perf_counter() + self._write_slice
        timelines = clocks.timelines(conn, rows)
        agents = _online_agents(conn)
        for index, row in enumerate(rows):
            counts.conversations += 1
            try:
                with conn.begin_nested():
                    self._one(conn, row, timelines.get(row.id), agents, now, counts)
            except Exception:  # one bad conversation must not stop the others (or the outbox)
                log.exception("timer_failed", conversation_id=row.id)
                store.save(conn, row.id, {"timer_at": now + RETRY_AFTER})
            if deadline is not None and time.perf_counter() >= deadline:
                return [r.id for r in rows[index + 1 :]]
        return []

    def _one(
        self,
        conn: Connection,
        row: Timed,
        timeline: sla.SlaTimeline | None,
        agents: Sequence[routing.Agent],
        now: datetime,
        counts: TimerReport,
    ) -> None:
        if timeline is None:  # never escalated: nothing to time
            store.save(conn, row.id, {"timer_at": None, "sla_handled": list(row.sla_handled or ())})
            return
        item = self._conversation(row, timeline)
        if timeline.opened_at > now:  # opened in the future: look again then
            store.save(conn, row.id, {"timer_at": timeline.opened_at})
            return
        self._clocks(conn, item, agents, now, counts)
        if item.status == QUEUED:
            self._ladder(conn, item, agents, now, counts)
        item.changes["timer_at"] = self._next_timer(item, now)
        item.changes["sla_handled"] = sorted(item.handled)
        store.save(conn, item.id, item.changes)

    def _conversation(self, row: Timed, timeline: sla.SlaTimeline) -> _Conversation:
        known = self._brief.queues
        priority = row.priority if row.priority in PRIORITIES else None
        return _Conversation(
            id=row.id,
            status=row.status,
            queue=row.queue if row.queue in known else self._brief.policy.default_queue,
            priority=priority or self._brief.policy.default_priority,
            language=row.language,
            queued_at=row.queued_at or timeline.opened_at,
            entered_queue_at=row.entered_queue_at,
            last_inbound_at=row.last_inbound_at,
            timeline=timeline,
            handled=set(row.sla_handled or ()),
        )

    def _clocks(
        self,
        conn: Connection,
        item: _Conversation,
        agents: Sequence[routing.Agent],
        now: datetime,
        counts: TimerReport,
    ) -> None:
        report = sla.evaluate(item.timeline, item.priority, self._brief, now)
        for status in sla.new_warnings(report, item.handled):
            item.handled.add(sla.warning_key(status))
            counts.warnings += 1
            self._event(conn, item, EventKind.SLA_WARNING, now, _clock_detail(status, item))
        breaches = sla.new_breaches(report, item.handled)
        if not breaches:
            return
        actions = sla.breach_actions(
            report, sla.configured_on_breach(self._brief, item.priority), item.handled
        )
        for status in breaches:
            item.handled.update((status.key, sla.warning_key(status)))
            counts.breaches += 1
            detail = _clock_detail(status, item) | {"actions": [str(a) for a in actions]}
            self._event(conn, item, EventKind.SLA_BREACH, now, detail)
        clocks = [str(s.clock) for s in breaches]
        for action in actions:
            if action is sla.BreachAction.RAISE_PRIORITY:
                self._raise_priority(conn, item, clocks, now, counts)
            elif action is sla.BreachAction.MOVE_UP_TIER:
                if item.status == QUEUED:
                    self._move_up(conn, item, agents, now, counts)
                elif sla.BreachAction.NOTIFY_SUPERVISORS not in actions:
                    self._alert(conn, item, clocks, "agent_holds_it", now, counts)
            else:
                self._alert(conn, item, clocks, "sla_breach", now, counts)

    def _raise_priority(
        self,
        conn: Connection,
        item: _Conversation,
        clocks: list[str],
        now: datetime,
        counts: TimerReport,
    ) -> None:
        raised = sla.raised_priority(item.priority)
        if raised == item.priority:
            return
        detail = {"from": item.priority, "to": raised, "reason": "sla_breach", "clocks": clocks}
        item.priority = raised
        item.changes.update(priority=raised, updated_at=now)
        counts.priority_raised += 1
        self._event(conn, item, EventKind.PRIORITY_RAISED, now, detail)

    def _move_up(
        self,
        conn: Connection,
        item: _Conversation,
        agents: Sequence[routing.Agent],
        now: datetime,
        counts: TimerReport,
    ) -> None:
        move = routing.move_up(
            item.waiting(),
            self._brief.ladder,
            self._brief.queues,
            self._available(agents, item.language),
        )
        if move is None:
            log.info("sla_breach_top_of_ladder", conversation_id=item.id, queue=item.queue)
            return
        self._apply_move(conn, item, move, now, counts)

    def _ladder(
        self,
        conn: Connection,
        item: _Conversation,
        agents: Sequence[routing.Agent],
        now: datetime,
        counts: TimerReport,
    ) -> None:
        move = routing.ladder_step(
            item.waiting(),
            self._brief.ladder,
            self._brief.queues,
            self._available(agents, item.language),
            now,
            open_time=self._calendar.business_time,
        )
        if move is not None:
            self._apply_move(conn, item, move, now, counts)

    def _apply_move(
        self,
        conn: Connection,
        item: _Conversation,
        move: routing.LadderMove,
        now: datetime,
        counts: TimerReport,
    ) -> None:
        item.queue = move.to_queue
        item.entered_queue_at = now
        item.changes.update(
            queue=move.to_queue, tier=move.tier, entered_queue_at=now, updated_at=now
        )
        counts.moves += 1
        detail = {  # the keys of an agent's transfer or escalation, so they show alike
            "from_queue": move.from_queue,
            "to_queue": move.to_queue,
            "tier": move.tier,
            "skipped": list(move.skipped),
            "reason": str(move.reason),
            "waited_seconds": int(move.waited.total_seconds()),
        }
        self._event(conn, item, EventKind.MOVED, now, detail)

    def _alert(
        self,
        conn: Connection,
        item: _Conversation,
        clocks: list[str],
        reason: str,
        now: datetime,
        counts: TimerReport,
    ) -> None:
        counts.alerts += 1
        detail = {
            "reason": reason,
            "clocks": clocks,
            "priority": item.priority,
            "queue": item.queue,
        }
        self._event(conn, item, EventKind.SUPERVISOR_ALERT, now, detail)

    def _available(
        self, agents: Sequence[routing.Agent], language: str | None
    ) -> Callable[[str], bool]:
        def available(queue: str) -> bool:
            return routing.staffed(queue, agents, self._brief.queues, language)

        return available

    def _next_timer(self, item: _Conversation, now: datetime) -> datetime | None:
        """The earliest instant anything can next happen to `item`, or None. A raised
        priority has shorter targets: a warning or breach they make due at once is
        acted on at the next run."""
        report = sla.evaluate(item.timeline, item.priority, self._brief, now)
        if sla.new_warnings(report, item.handled) or sla.new_breaches(report, item.handled):
            return now
        instants = [sla.next_timer(report)]
        if item.status == QUEUED:
            instants.append(
                routing.ladder_due_at(
                    item.waiting(),
                    self._brief.ladder,
                    add_open_time=self._calendar.add_business_time,
                )
            )
        return next_instant(instants, now)

    def _event(
        self,
        conn: Connection,
        item: _Conversation,
        kind: EventKind,
        now: datetime,
        detail: dict[str, Any],
    ) -> None:
        record(conn, kind, now=now, conversation_id=item.id, detail=detail)
        log.info(
            "timer_" + kind.value,
            conversation_id=item.id,
            **{k: v for k, v in detail.items() if k in _LOGGED},
        )


_LOGGED = frozenset(
    {"clock", "priority", "queue", "from", "to", "from_queue", "to_queue", "reason", "actions"}
)


def next_instant(instants: Iterable[datetime | None], now: datetime) -> datetime | None:
    """The earliest of `instants` after `now`; None when none is (nothing is pending)."""
    return min((at for at in instants if at is not None and at > now), default=None)


def _clock_detail(status: sla.SlaStatus, item: _Conversation) -> dict[str, Any]:
    return {
        "clock": str(status.clock),
        "priority": item.priority,
        "queue": item.queue,
        "due_at": status.due_at.isoformat() if status.due_at else None,
        "remaining_seconds": int(status.remaining.total_seconds()),
    }
