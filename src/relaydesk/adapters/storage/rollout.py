"""The rollout's rows: its state, the change log, each conversation's cohort, and the live
figures its gates read (breaches, feedback, CSAT, resolutions and sends by cohort)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    events,
    outbox,
    rollout_changes,
    rollout_modes,
    rollout_state,
)
from relaydesk.domain.rollout import (
    BASELINE,
    PILOT,
    Change,
    Cohort,
    Mode,
    RolloutState,
    Segment,
)
from relaydesk.domain.rollout_gates import Breach

_STATE_ID = 1
_DIALECTS = (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
_INSERT_STATE = {
    name: dialect_insert(rollout_state)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(rollout_state.c.id)
    for name, dialect_insert in _DIALECTS
}
#: Two processes adding the brief's new intents at once: the second adds nothing.
_INSERT_MODES = {
    name: dialect_insert(rollout_modes).on_conflict_do_nothing(index_elements=["intent"])
    for name, dialect_insert in _DIALECTS
}


@dataclass(frozen=True, slots=True)
class ChangeRow:
    id: int
    at: datetime
    actor: str
    subject: str
    before: str | None
    after: str
    reason: str
    figures: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Arriving:
    """What the decision stage needs to place a conversation in a cohort."""

    cohort: Cohort | None  #: None until its first decision
    customer_id: int
    bucket: int | None
    wa_id: str | None
    user_id: str | None


# -- state ------------------------------------------------------------------------------------


def load(conn: Connection, *, lock: bool = False) -> RolloutState | None:
    """The rollout's state, or None before it was initialised; `lock`: hold its row for
    the rest of the transaction (PostgreSQL; SQLite's writer is alone anyway)."""
    query = select(rollout_state).where(rollout_state.c.id == _STATE_ID)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    modes: dict[str, Mode] = {}
    since: dict[str, datetime] = {}
    for intent, mode, at in conn.execute(
        select(rollout_modes.c.intent, rollout_modes.c.mode, rollout_modes.c.since)
    ):
        modes[intent] = mode
        since[intent] = at
    return RolloutState(
        phase=row.phase,
        segment=Segment.from_dict(row.segment),
        segment_since=row.segment_since,
        modes=modes,
        mode_since=since,
    )


def initialise(conn: Connection, state: RolloutState, now: datetime) -> bool:
    """Write `state` if there is none yet (the first start after the brief names one);
    False when another process was first. The change log says it came from the brief."""
    inserted = conn.execute(
        _INSERT_STATE[conn.dialect.name],
        {
            "id": _STATE_ID,
            "phase": state.phase,
            "segment": state.segment.as_dict(),
            "segment_since": state.segment_since,
        },
    ).first()
    if inserted is None:
        return False
    _add_modes(conn, state, now)
    record(
        conn,
        Change("rollout", "", "initialised", "from the brief", _summary(state)),
        actor="brief",
        actor_id=None,
        now=now,
    )
    return True


def _add_modes(conn: Connection, state: RolloutState, now: datetime) -> None:
    known = set(conn.execute(select(rollout_modes.c.intent)).scalars())
    rows = [
        {"intent": intent, "mode": mode, "since": state.mode_since.get(intent, now)}
        for intent, mode in state.modes.items()
        if intent not in known
    ]
    if rows:
        conn.execute(_INSERT_MODES[conn.dialect.name], rows)


def add_intents(conn: Connection, modes: Mapping[str, Mode], now: datetime) -> None:
    """Intents the brief gained since the rollout began, in the mode the brief gives."""
    known = set(conn.execute(select(rollout_modes.c.intent)).scalars())
    rows = [
        {"intent": intent, "mode": mode, "since": now}
        for intent, mode in modes.items()
        if intent not in known
    ]
    if rows:
        conn.execute(_INSERT_MODES[conn.dialect.name], rows)


def save(
    conn: Connection,
    after: RolloutState,
    change: Change,
    *,
    actor: str,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Write the state after `change` and log the change, in the caller's transaction."""
    conn.execute(
        update(rollout_state)
        .where(rollout_state.c.id == _STATE_ID)
        .values(
            phase=after.phase,
            segment=after.segment.as_dict(),
            segment_since=after.segment_since,
        )
    )
    if change.subject in after.modes:
        conn.execute(
            update(rollout_modes)
            .where(rollout_modes.c.intent == change.subject)
            .values(mode=after.modes[change.subject], since=now)
        )
    record(conn, change, actor=actor, actor_id=actor_id, now=now)


def record(
    conn: Connection, change: Change, *, actor: str, actor_id: int | None, now: datetime
) -> None:
    conn.execute(
        insert(rollout_changes).values(
            at=now,
            actor=actor,
            actor_id=actor_id,
            subject=change.subject,
            before=change.before or None,
            after=change.after,
            reason=change.reason,
            figures=dict(change.figures),
        )
    )


def changes(conn: Connection, limit: int = 50) -> list[ChangeRow]:
    """The newest changes first."""
    rows = conn.execute(select(rollout_changes).order_by(rollout_changes.c.id.desc()).limit(limit))
    return [
        ChangeRow(
            r.id, r.at, r.actor, r.subject, r.before, r.after, r.reason, dict(r.figures or {})
        )
        for r in rows
    ]


def _summary(state: RolloutState) -> dict[str, Any]:
    return {"phase": state.phase, "segment": state.segment.as_dict(), "modes": dict(state.modes)}


# -- cohorts ----------------------------------------------------------------------------------


# Built once: the decision stage runs these for every message it decides.
_ARRIVING = (
    select(
        conversations.c.rollout_cohort,
        conversations.c.customer_id,
        customers.c.rollout_bucket,
        customers.c.wa_id,
        customers.c.user_id,
    )
    .join(customers, customers.c.id == conversations.c.customer_id)
    .where(conversations.c.id == bindparam("k_id"))
)
_PLACE_CONVERSATION = (
    update(conversations)
    .where(conversations.c.id == bindparam("k_id"))
    .values(rollout_cohort=bindparam("k_cohort"))
)
_PLACE_CUSTOMER = (
    update(customers)
    .where(customers.c.id == bindparam("k_id"), customers.c.rollout_bucket.is_(None))
    .values(rollout_bucket=bindparam("k_bucket"))
)


def arriving(conn: Connection, conversation_id: int) -> Arriving:
    row = conn.execute(_ARRIVING, {"k_id": conversation_id}).one()
    return Arriving(row[0], row[1], row[2], row[3], row[4])


def place(
    conn: Connection,
    conversation_id: int,
    customer_id: int,
    cohort: Cohort,
    bucket: int,
    *,
    bucket_known: bool = False,
) -> None:
    """Set the conversation's cohort, and the customer's bucket if it has none yet
    (`bucket_known`: the caller read that it has one, so only the cohort is written)."""
    conn.execute(_PLACE_CONVERSATION, {"k_id": conversation_id, "k_cohort": cohort})
    if not bucket_known:
        conn.execute(_PLACE_CUSTOMER, {"k_id": customer_id, "k_bucket": bucket})


# -- figures ----------------------------------------------------------------------------------


def breaches(conn: Connection, since: datetime, until: datetime) -> list[Breach]:
    """Pilot conversations at P1 or P2 whose SLA breach was recorded in [since, until),
    with the intent of the newest decision that escalated them."""
    escalating = (
        select(decisions.c.intent)
        .where(decisions.c.conversation_id == conversations.c.id, decisions.c.action == "escalate")
        .order_by(decisions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            conversations.c.id, conversations.c.priority, escalating, func.min(events.c.created_at)
        )
        .join(events, events.c.conversation_id == conversations.c.id)
        .where(
            events.c.kind == "sla_breach",
            events.c.created_at >= since,
            events.c.created_at < until,
            conversations.c.rollout_cohort == PILOT,
            conversations.c.priority.in_(("P1", "P2")),
        )
        .group_by(conversations.c.id, conversations.c.priority)
        .order_by(conversations.c.id)
    )
    return [Breach(r[0], r[1], r[2], r[3]) for r in rows]


def high_priority(conn: Connection, since: datetime, until: datetime) -> int:
    """Pilot conversations escalated at P1 or P2 in [since, until)."""
    return int(
        conn.execute(
            select(func.count()).where(
                conversations.c.rollout_cohort == PILOT,
                conversations.c.priority.in_(("P1", "P2")),
                conversations.c.escalated_at >= since,
                conversations.c.escalated_at < until,
            )
        ).scalar_one()
    )


def feedback(conn: Connection, since: datetime, until: datetime) -> tuple[int, int]:
    """Agents' verdicts on pilot escalations given in [since, until): (verdicts, needed)."""
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((conversations.c.feedback == "needed", 1), else_=0)), 0),
        ).where(
            conversations.c.rollout_cohort == PILOT,
            conversations.c.feedback.is_not(None),
            conversations.c.feedback_at >= since,
            conversations.c.feedback_at < until,
        )
    ).one()
    return int(row[0]), int(row[1])


def csat(conn: Connection, since: datetime, until: datetime) -> dict[Cohort, tuple[int, int]]:
    """Ratings given in [since, until) per cohort: (answers, 4 or 5)."""
    rows = conn.execute(
        select(
            conversations.c.rollout_cohort,
            func.count(),
            func.sum(case((conversations.c.csat_rating >= 4, 1), else_=0)),
        )
        .where(
            conversations.c.csat_rating.is_not(None),
            conversations.c.csat_at >= since,
            conversations.c.csat_at < until,
            conversations.c.rollout_cohort.in_((PILOT, BASELINE)),
        )
        .group_by(conversations.c.rollout_cohort)
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def resolution(
    conn: Connection, since: datetime, until: datetime, target_seconds: float
) -> dict[Cohort, tuple[int, int]]:
    """Conversations resolved in [since, until) per cohort: (resolved, within target)."""
    rows = conn.execute(
        select(
            conversations.c.rollout_cohort, conversations.c.created_at, conversations.c.resolved_at
        ).where(
            conversations.c.resolved_at >= since,
            conversations.c.resolved_at < until,
            conversations.c.rollout_cohort.in_((PILOT, BASELINE)),
        )
    )
    found: dict[Cohort, list[int]] = {}
    for cohort, created, resolved in rows:
        counts = found.setdefault(cohort, [0, 0])
        counts[0] += 1
        counts[1] += (resolved - created).total_seconds() <= target_seconds
    return {cohort: (n, within) for cohort, (n, within) in found.items()}


def sends(conn: Connection, since: datetime, until: datetime) -> tuple[int, int]:
    """Pilot conversations' sends finished in [since, until): (finished, failed)."""
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((outbox.c.state == "failed", 1), else_=0)), 0),
        )
        .join(conversations, conversations.c.id == outbox.c.conversation_id)
        .where(
            and_(outbox.c.state.in_(("done", "failed")), outbox.c.done_at >= since),
            outbox.c.done_at < until,
            conversations.c.rollout_cohort == PILOT,
        )
    ).one()
    return int(row[0]), int(row[1])
