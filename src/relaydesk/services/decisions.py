"""The decision stage: from stored, acknowledged messages to decisions, state and replies.

The webhook path only stores a message (and a `pending_decisions` row) before it answers
WhatsApp; this stage reads the pending messages oldest first, understands them in one
batched model call, and in one transaction per batch decides each in order (policy,
routing, the wait the customer is told), writes the decision, the conversation's new state,
the console's events and the replies' outbox rows, and deletes the pending rows.

Guarantees (tested in tests/integration/test_decision_stage.py):
- nothing lost: a pending row goes only with its decision, in one transaction; a decider
  that dies leaves its rows to the next;
- nothing doubled: a decider re-reads its rows inside the write transaction and decides
  only those still pending;
- in order, never two at once per customer: one customer's messages are decided oldest
  first; on PostgreSQL several deciders claim different customers
  (`adapters.storage.pending.claim`, advisory locks that skip what another holds); on SQLite
  the single writer serialises them;
- backlog: a message older than `backlog_max_age` when it arrived is deferred, not answered.

On SQLite the understanding (the costly part) runs before the write transaction, and the
round's decisions are committed in slices (`write_slice`), so other writers are not held up
by model inference or a long write: 4 ms where the webhooks' inserts share this database's
writer, 100 ms where they go to the intake file and only the console and the worker's other
jobs wait for it (`adapters.storage.db.INTAKE_WRITE_SLICE`). On PostgreSQL it all runs
inside the claiming transaction, which holds only the customers' advisory locks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import pending as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage import rollout as rollout_store
from relaydesk.adapters.storage.db import WRITE_SLICE, Database
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.brief.schema import Brief
from relaydesk.domain import drafts, turn
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.policy import Outcome, with_wait
from relaydesk.observability import Metrics
from relaydesk.services._decision_parts import (
    DecisionContexts,
    held_as_draft,
    in_customer_language,
)
from relaydesk.services._ingest_rows import (
    Batch,
    decision_row,
    insert_replies,
    reply_rows,
    short,
)
from relaydesk.services.handoff import LiveQueue, record_events
from relaydesk.services.runner import run_in_thread

log = structlog.get_logger(__name__)
_NOTHING = Understanding(None, 0.0)


class DecisionMaker(Protocol):
    """Understanding (model inference, batched) and policy: `services.decider.BriefDecider`."""

    brief: Brief

    def understand_many(self, messages: Sequence[InboundMessage]) -> list[Understanding]: ...

    def decide(
        self,
        state: ConversationState,
        message: InboundMessage,
        understanding: Understanding,
        attributes: Mapping[str, str],
        now: datetime,
    ) -> Outcome: ...


class Admission(Protocol):
    """What the rollout makes of an outcome (`services.rollout.Rollout.admit`): the
    conversation's cohort placed, the bot held back outside the pilot or for an intent
    that is off."""

    def __call__(
        self,
        conn: Connection,
        item: store.Pending,
        state: ConversationState,
        understanding: Understanding,
        outcome: Outcome,
        now: datetime,
        arriving: rollout_store.Arriving | None = None,
    ) -> Outcome: ...


#: How many pending messages one round decides (one model call).
BATCH_SIZE = 64


class DecisionStage:
    def __init__(
        self,
        db: Database,
        decider: DecisionMaker,
        metrics: Metrics,
        *,
        backlog_max_age: timedelta,
        batch_size: int = BATCH_SIZE,
        write_slice: float = WRITE_SLICE,
        on_outbound: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        admit: Admission | None = None,
        intent_mode: drafts.IntentMode | None = None,
        before_round: Callable[[Sequence[store.Pending]], object] | None = None,
    ) -> None:
        """`intent_mode` says which intents are in draft mode (their answers wait for a
        person's approval instead of being sent); by default the brief's
        `rollout.draft_intents`. `before_round` sees the messages a round is about to
        decide (the CRM lookup, `services.crm_lookup`, which is bounded by its budget)."""
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}; at least 1 message per round")
        self._db = db
        self._decider = decider
        self._metrics = metrics
        self._backlog_max_age = backlog_max_age
        self._batch_size = batch_size
        self._write_slice = write_slice
        self.on_outbound = on_outbound
        self.on_event = on_event
        self._admit = admit
        self._queue = LiveQueue(decider.brief)
        self._intent_mode = intent_mode or drafts.brief_modes(decider.brief)
        self._before_round = before_round
        self.wake = threading.Event()  #: set by the webhook path after a commit

    # -- running ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, idle_poll: float = 0.1) -> None:
        """Decide until `stop` is set: rounds back to back while there is work, then wait
        for `wake` (same process) or `idle_poll` seconds (a webhook taken by another
        process). A failing round is logged and retried a second later."""
        log.info("decision_stage_started", batch_size=self._batch_size)
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception as error:
                log.exception("decision_stage_error", error=type(error).__name__)
                stop.wait(1.0)
                continue
            self.wake.wait(idle_poll)
            self.wake.clear()
        log.info("decision_stage_stopped")

    async def run_async(self, stop: asyncio.Event) -> None:
        """`run` in a thread of its own (model inference and SQL block) until `stop`."""
        await run_in_thread(self.run, stop, "decide", on_halt=self.wake.set)

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Decide every pending message (tests, `relaydesk` tools); how many were decided."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            if not done:
                return total
            total += done
        return total

    def run_once(self) -> int:
        """One round: up to `batch_size` messages decided and committed. Returns how many."""
        started = time.thread_time()
        if self._before_round is not None:
            with self._db.read() as conn:
                coming = store.oldest(conn, self._batch_size)
            if coming:
                self._before_round(coming)
        if self._db.is_sqlite:
            done = self._round_sqlite()
        else:
            done = self._round_claimed()
        if done:
            self._metrics.stage_cpu.labels("decide").inc(time.thread_time() - started)
        return done

    def _round_sqlite(self) -> int:
        with self._db.read() as conn:
            seen = store.oldest(conn, self._batch_size)
        if not seen:
            return 0
        understood = self._understand(seen)
        done, rest = 0, seen
        while rest:  # in slices: another writer waits for the lock at most one slice
            batch = Batch(understood=understood)
            with self._db.write() as conn:
                if rest is seen:  # read afresh under the lock: still pending, same customer
                    todo: Sequence[store.Pending] = store.refreshed(conn, seen)
                else:  # only another process could have decided some meanwhile
                    still = store.still_pending(conn, [p.message_id for p in rest])
                    todo = [p for p in rest if p.message_id in still]
                taken = self._decide_all(conn, batch, todo, budget=self._write_slice)
            self._committed(batch)
            done += taken
            rest = list(todo[taken:])
        return done

    def _round_claimed(self) -> int:
        batch = Batch()
        with self._db.write() as conn:
            todo = store.claim(conn, self._batch_size)
            if not todo:
                return 0
            batch.understood = self._understand(todo)
            self._decide_all(conn, batch, todo)
        self._committed(batch)
        return len(todo)

    # -- deciding --------------------------------------------------------------------------

    def _understand(self, items: Sequence[store.Pending]) -> dict[str, Understanding]:
        """One batched model call; if it fails, one by one, and a message the model cannot
        read is decided on without it (its decision says so: no intent)."""
        messages = [p.message for p in items]
        try:
            understood = self._decider.understand_many(messages)
            return dict(zip((m.wamid for m in messages), understood, strict=True))
        except Exception as error:
            log.warning("understanding_batch_failed", size=len(items), error=type(error).__name__)
        result: dict[str, Understanding] = {}
        for message in messages:
            try:
                (result[message.wamid],) = self._decider.understand_many([message])
            except Exception as error:
                log.warning(
                    "understanding_failed", wamid=short(message.wamid), error=type(error).__name__
                )
        return result

    def _decide_all(
        self,
        conn: Connection,
        batch: Batch,
        todo: Sequence[store.Pending],
        budget: float | None = None,
    ) -> int:
        """Decide `todo` in order; with `budget` (seconds) stop after the message that
        passes it. Returns how many were decided (a prefix of `todo`)."""
        deadline = None if budget is None else time.perf_counter() + budget
        taken = 0
        contexts = DecisionContexts(conn, todo)
        for item in todo:
            self._decide(conn, batch, item, contexts.take(taken, item))
            taken += 1
            if deadline is not None and time.perf_counter() >= deadline:
                break
        store.done(conn, [p.message_id for p in todo[:taken]])
        repo.record_decisions(conn, batch.decisions)
        batch.outbox += insert_replies(conn, batch.replies)
        return taken

    def _decide(
        self,
        conn: Connection,
        batch: Batch,
        item: store.Pending,
        context: repo.DecisionContext | None = None,
    ) -> None:
        """Decide one message. `context`: its conversation's state, customer language and
        cohort, read in this transaction after every earlier write to them (None: read
        them here)."""
        message, now = item.message, item.received_at
        if context is not None:
            state = context.state
        else:
            state = repo.conversation_state(conn, item.conversation_id)
        arriving = context.arriving if context is not None else None
        if state.status is ConversationStatus.RESOLVED:
            # Closed by an earlier message of this batch or round ("thanks, bye") after this
            # one was stored: it starts the customer's next conversation, as it would have
            # had it arrived a moment later.
            state = repo.open_conversation(conn, item.customer_id, message.phone_number_id, now)
            store.move_message(conn, item.message_id, state.id)
            arriving = None  # the new conversation's cohort is read with it
        state = turn.arrived(state, message)
        window_from = state.last_inbound_at or message.sent_at
        outcome = turn.backlogged(state, message, now, self._backlog_max_age)
        if outcome is None:
            understanding = in_customer_language(
                conn,
                item,
                batch.understood.get(message.wamid, _NOTHING),
                now,
                context.language if context is not None else None,
            )
            outcome = self._decider.decide(state, message, understanding, item.attributes, now)
            if self._admit is not None:
                outcome = self._admit(conn, item, state, understanding, outcome, now, arriving)
        draft = outcome.handoff
        if draft is not None:  # escalating: word the wait from the live queue it joins
            snapshot = self._queue.snapshot(conn, state.id, draft, window_from, now)
            outcome = with_wait(outcome, self._decider.brief, snapshot, now)
        decision = outcome.decision
        after = turn.settled(state, outcome)
        cancelled = any(t.type == "handoff_cancelled" for t in decision.triggers)
        repo.finish_inbound(
            conn,
            state.id,
            last_inbound_at=window_from,
            dialogue=after.dialogue,
            status=after.status,
            queue=after.queue,
            tier=after.tier,
            priority=after.priority,
            now=now,
            queued_at=now if decision.status_after is ConversationStatus.QUEUED else None,
            escalated=draft is not None,
            cancelled=cancelled,
            language=draft.language if draft else None,
        )
        batch.events += record_events(conn, state, decision, item.message_id, message.type, now)
        batch.actions.append(decision.action.value)
        batch.decisions.append(decision_row(state.id, item.message_id, decision, now))
        if decision.action is Action.ESCALATE:
            log.info(
                "conversation_escalated",
                conversation_id=state.id,
                queue=decision.route.queue if decision.route else None,
                triggers=[t.type for t in decision.triggers],
                wait_basis=decision.detail.get("wait_basis"),
            )
        if held_as_draft(conn, self._intent_mode, state.id, item.message_id, decision, now):
            return
        recipient = Recipient(wa_id=message.sender.wa_id, user_id=message.sender.user_id)
        for reply in decision.replies:  # stored with the transaction's others at its end
            batch.replies.append(
                reply_rows(
                    conversation_id=state.id,
                    phone_number_id=message.phone_number_id,
                    recipient=recipient,
                    content=reply,
                    reply_to=None,
                    now=now,
                )
            )

    def _committed(self, batch: Batch) -> None:
        for action in batch.actions:
            self._metrics.decisions.labels(action).inc()
        if batch.outbox:
            self.on_outbound()
        if batch.events:
            self.on_event()


def pending_depth(db: Database) -> tuple[int, datetime | None]:
    """How many acknowledged messages wait for a decision, and the oldest one's arrival."""
    with db.read() as conn:
        return store.depth(conn)
