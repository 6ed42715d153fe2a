"""The rollout service: places conversations in the pilot or the baseline, holds the bot
back where the rollout says so, reads the gates' figures, and changes the rollout by
command, by the console or by the gates (rollbacks at once, with a supervisor alert).

The state is in the database, written from the brief the first time and changed only here
(docs/rollout.md). The decision stage calls `admit` inside its write transaction; the
drafts' acceptance comes through the `AcceptanceSource` port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import rollout as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.pending import Pending
from relaydesk.brief.schema import Brief
from relaydesk.domain import rollout, rollout_gates
from relaydesk.domain.conversation import ConversationState
from relaydesk.domain.decision import Understanding
from relaydesk.domain.policy import Outcome
from relaydesk.domain.rollout import (
    BASELINE,
    MODES,
    PHASE,
    SEGMENT,
    AcceptanceSource,
    Change,
    Mode,
    RolloutState,
)
from relaydesk.domain.rollout_gates import Gate, Metrics
from relaydesk.services import audit, change_log
from relaydesk.services.events import EventKind, record
from relaydesk.services.rollout_status import Status, live_metrics

log = structlog.get_logger(__name__)
#: How long the decision stage reuses the state it read (a change shows within this).
STATE_TTL = 1.0
GATE = "gate"


class RolloutError(Exception):
    """A rollout command refused; `status` is the HTTP status the API answers."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class Rollout:
    def __init__(
        self,
        db: Database,
        brief: Brief,
        acceptance: AcceptanceSource,
        *,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self.brief = brief
        self.acceptance = acceptance  #: drafts handled and sent unchanged, per intent
        self.on_event = on_event
        self._cached: tuple[float, RolloutState] | None = None
        self._lock = threading.Lock()
        self._intents_added = False

    # -- state -------------------------------------------------------------------------------

    def state(self, conn: Connection, now: datetime) -> RolloutState:
        """The state, written from the brief if the database has none (the first start),
        with intents the brief gained since added in the brief's mode."""
        found = store.load(conn)
        if found is None:
            store.initialise(conn, rollout.initial_state(self.brief, now), now)
            found = store.load(conn)
            assert found is not None  # just written, by us or a racing process
            log.info("rollout_initialised", phase=found.phase, percent=found.segment.percent)
        missing = {
            name: mode
            for name, mode in rollout.initial_state(self.brief, now).modes.items()
            if name not in found.modes
        }
        if missing:
            store.add_intents(conn, missing, now)
            found = store.load(conn) or found
        return found

    def current(self, now: datetime) -> RolloutState:
        """The state for readers outside a transaction: read without the write lock, and
        written first only when there is none (or the brief gained intents)."""
        with self._db.read() as conn:
            found = store.load(conn)
        if found is not None and set(self.brief.intents) <= set(found.modes):
            return found
        with self._db.write() as conn:
            return self.state(conn, now)

    def _fresh(self, conn: Connection, now: datetime) -> RolloutState:
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < STATE_TTL:
                return cached[1]
        found = self.state(conn, now)
        with self._lock:
            self._cached = (time.monotonic(), found)
        return found

    def intent_mode(self, intent: str | None) -> Mode:
        """off | draft | live for `intent`, at most `STATE_TTL` seconds old. Safe inside the
        decision stage's write transaction: it only reads, on its own connection, and
        before the rollout is first written answers as the brief starts it."""
        with self._lock:
            cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < STATE_TTL:
            return cached[1].mode(intent)
        with self._db.read() as conn:
            found = store.load(conn)
        if found is None:
            return rollout.initial_state(self.brief, _utcnow()).mode(intent)
        with self._lock:
            self._cached = (time.monotonic(), found)
        if intent is not None and intent not in found.modes and intent in self.brief.intents:
            return rollout.initial_state(self.brief, _utcnow()).mode(intent)
        return found.mode(intent)

    # -- the decision stage ------------------------------------------------------------------

    def admit(
        self,
        conn: Connection,
        item: Pending,
        state: ConversationState,
        understanding: Understanding,
        outcome: Outcome,
        now: datetime,
        arriving: store.Arriving | None = None,
    ) -> Outcome:
        """Place the conversation in a cohort at its first decision, and hold the bot back
        for the baseline and for intents that are off. `arriving`: the conversation's
        cohort and customer as the caller read them in this transaction (read here if
        None)."""
        current = self._fresh(conn, now)
        if arriving is None:
            arriving = store.arriving(conn, state.id)
        cohort = arriving.cohort
        if cohort is None:
            bucket = arriving.bucket
            if bucket is None:
                bucket = rollout.bucket_of(arriving.user_id, arriving.wa_id)
            message = item.message
            arrival = rollout.Arrival(
                bucket, message.phone_number_id, message.referral, understanding.intent
            )
            cohort = rollout.cohort_for(current.segment, arrival)
            store.place(
                conn,
                state.id,
                arriving.customer_id,
                cohort,
                bucket,
                bucket_known=arriving.bucket is not None,
            )
        if cohort == BASELINE:
            config = self.brief.rollout
            greeting = (
                (config.greeting,) if config.fallback == "greeting" and config.greeting else ()
            )
            return rollout.held_back(
                outcome,
                self.brief,
                state,
                understanding,
                "outside the pilot segment",
                now,
                greeting,
            )
        intent = outcome.decision.intent
        if intent is not None and current.mode(intent) == "off":
            return rollout.held_back(
                outcome, self.brief, state, understanding, f"intent {intent} is off", now
            )
        return outcome

    # -- figures and gates -------------------------------------------------------------------

    def metrics(self, conn: Connection, state: RolloutState, now: datetime) -> Metrics:
        return live_metrics(conn, self.brief, state, self.acceptance, now)

    def status(self, now: datetime, changes: int = 50) -> Status:
        return self._status(now, changes)[0]

    def _status(self, now: datetime, changes: int) -> tuple[Status, Metrics]:
        state = self.current(now)
        with self._db.read() as conn:
            metrics = self.metrics(conn, state, now)
            history = store.changes(conn, changes) if changes else []
        config = self.brief.rollout
        status = Status(
            state,
            rollout_gates.evaluate(state, metrics, config.gates),
            history,
            config.pilot_window,
            list(config.phases),
            list(config.traffic_steps),
            config.auto_promote,
        )
        return status, metrics

    # -- changes -----------------------------------------------------------------------------

    def promote(
        self,
        subject: str,
        *,
        actor: str,
        actor_id: int | None,
        now: datetime,
        force: bool = False,
    ) -> Change:
        """Promote an intent (off to draft; draft to live when its gates hold) or the
        segment (to the next traffic step when every gate but acceptance holds). `force`
        skips the gates; the change log says so."""
        status = self.status(now, changes=0)
        state = status.state
        steps = status.steps
        self._known(subject, state)
        if subject != SEGMENT and state.mode(subject) == "off":
            change = Change(subject, "off", "draft", "by hand: drafts for a person to approve")
        elif subject != SEGMENT and state.mode(subject) == "live":
            raise RolloutError(f"{subject} is already live; nothing to promote.", 409)
        elif subject == SEGMENT and rollout.wider(state.segment.percent, steps) is None:
            raise RolloutError(
                f"the segment is at {state.segment.percent} %, the last of traffic_steps "
                f"{steps}; nothing to widen.",
                409,
            )
        else:
            found, failing = rollout_gates.promotion(state, status.gates, subject, steps)
            if found is None and not force:
                names = "; ".join(_gate_text(g) for g in failing)
                raise RolloutError(
                    f"gates do not hold for {subject}: {names}. Wait for the figures, or "
                    "promote anyway with --force (recorded).",
                    409,
                )
            if found is None:
                forced = rollout_gates.promotion(
                    state, [_passed(g) for g in status.gates], subject, steps
                )
                assert forced[0] is not None
                figures = {
                    _gate_key(g): {**g.figure.as_dict(), "threshold": g.threshold, "holds": False}
                    for g in failing
                }
                found = Change(
                    subject,
                    forced[0].before,
                    forced[0].after,
                    "forced by hand past failing gates",
                    figures,
                )
            change = found
        return self._apply([change], actor=actor, actor_id=actor_id, now=now, alert=False)[0]

    def rollback(
        self,
        subject: str,
        *,
        actor: str,
        actor_id: int | None,
        now: datetime,
        to: Mode | None = None,
        reason: str = "by hand",
    ) -> Change:
        """An intent down a mode (live to draft, draft to off; or to `to`), or the segment
        down a traffic step."""
        state = self.current(now)
        self._known(subject, state)
        steps = list(self.brief.rollout.traffic_steps)
        if subject == SEGMENT:
            target = rollout.narrower(state.segment.percent, steps)
            if target is None:
                raise RolloutError("the segment is at 0 %; nothing to shrink.", 409)
            change = Change(SEGMENT, str(state.segment.percent), str(target), reason)
        else:
            before = state.mode(subject)
            after = to or ("draft" if before == "live" else "off")
            if after not in MODES or MODES.index(after) >= MODES.index(before):
                raise RolloutError(
                    f"{subject} is {before}; a rollback goes to a lower mode "
                    f"({', '.join(MODES[: MODES.index(before)]) or 'none'}).",
                    409,
                )
            change = Change(subject, before, after, reason)
        return self._apply([change], actor=actor, actor_id=actor_id, now=now, alert=False)[0]

    def set_phase(self, name: str, *, actor: str, actor_id: int | None, now: datetime) -> Change:
        phases = self.brief.rollout.phases
        if name not in phases:
            raise RolloutError(
                f"phase {name!r} is not one of the brief's phases: {', '.join(phases)}.", 422
            )
        state = self.current(now)
        if state.phase == name:
            raise RolloutError(f"the rollout is already in phase {name}.", 409)
        change = Change(PHASE, state.phase, name, "by hand")
        return self._apply([change], actor=actor, actor_id=actor_id, now=now, alert=False)[0]

    def check(self, now: datetime) -> list[Change]:
        """The scheduled run: broken guards roll back at once (with a supervisor alert);
        with `rollout.auto_promote`, gates that held for the window promote."""
        status, metrics = self._status(now, changes=0)
        config = self.brief.rollout
        undo = rollout_gates.rollbacks(
            status.state, status.gates, metrics, config.gates, status.steps
        )
        done = self._apply(undo, actor=GATE, actor_id=None, now=now, alert=True)
        if config.auto_promote and not undo:
            due = rollout_gates.due_promotions(
                status.state, status.gates, status.steps, config.pilot_window, now
            )
            done += self._apply(due, actor=GATE, actor_id=None, now=now, alert=False)
        return done

    def _apply(
        self,
        changes: list[Change],
        *,
        actor: str,
        actor_id: int | None,
        now: datetime,
        alert: bool,
    ) -> list[Change]:
        """Apply `changes` whose `before` still holds, under the state row's lock (several
        workers judge the gates: a change made meanwhile is not made twice). By hand, a
        change made meanwhile is refused."""
        if not changes:
            return []
        done: list[Change] = []
        with self._db.write() as conn:
            self.state(conn, now)
            state = store.load(conn, lock=True)
            assert state is not None  # written just above
            for change in changes:
                if rollout.value_of(state, change.subject) != change.before:
                    if actor == GATE:
                        continue
                    raise RolloutError(
                        f"{change.subject} changed meanwhile (now "
                        f"{rollout.value_of(state, change.subject)}); reload and try again.",
                        409,
                    )
                state = rollout.apply(state, change, now)
                store.save(conn, state, change, actor=actor, actor_id=actor_id, now=now)
                audit.record(
                    conn,
                    "rollout.changed",
                    now=now,
                    actor=None if actor_id is None else _Person(actor_id, actor),
                    target=f"rollout:{change.subject}",
                    before={"value": change.before or None},
                    after={"value": change.after, "reason": change.reason, "by": actor},
                )
                change_log.append(
                    conn,
                    "rollout",
                    f"{change.subject}: {change.before or '-'} -> {change.after} ({change.reason})",
                    now=now,
                    author=actor,
                    brief_version=self.brief.version,
                    detail={"subject": change.subject, "figures": dict(change.figures)},
                )
                if alert:
                    record(conn, EventKind.SUPERVISOR_ALERT, now=now, detail=_alert(change))
                done.append(change)
        with self._lock:
            self._cached = None
        changes = done
        for change in changes:
            log.info(
                "rollout_changed",
                subject=change.subject,
                before=change.before,
                after=change.after,
                actor=actor,
                reason=change.reason,
            )
        if alert and changes:
            self.on_event()
        return changes

    def _known(self, subject: str, state: RolloutState) -> None:
        if subject != SEGMENT and subject not in state.modes:
            raise RolloutError(
                f"no intent {subject!r} in the rollout; use one of "
                f"{', '.join(sorted(state.modes))}, or `segment`.",
                422,
            )


def _alert(change: Change) -> dict[str, Any]:
    return {
        "reason": f"rollout rolled back: {change.reason}",
        "rollout": change.subject,
        "from": change.before,
        "to": change.after,
    }


def _gate_key(gate: Gate) -> str:
    return gate.name if gate.subject is None else f"{gate.name}:{gate.subject}"


def _gate_text(gate: Gate) -> str:
    figure = gate.figure
    value = "no data" if figure.value is None else f"{figure.value:.2f}"
    return f"{_gate_key(gate)} {value} (n={figure.n}), needs {gate.threshold}"


def _passed(gate: Gate) -> Gate:
    return Gate(gate.name, gate.subject, gate.figure, gate.threshold, True, gate.measured)


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Person:
    """The person behind a change, as the audit log names actors."""

    id: int
    email: str
