"""The handoff on the webhook path: the live queue an escalation joins (for an honest
wait in the one handoff message), the events a person watching the console needs, and
the customer's answer to the CSAT question. Words come from `domain.handoff`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import customers as customers_store
from relaydesk.adapters.storage import handoff as queries
from relaydesk.adapters.storage import repository as repo
from relaydesk.brief.schema import PRIORITIES, Brief
from relaydesk.domain import handoff
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import (
    SERVICE_WINDOW,
    ConversationState,
    ConversationStatus,
    window_expires_at,
)
from relaydesk.domain.decision import Action, Decision
from relaydesk.domain.outbound import Text
from relaydesk.domain.policy import HandoffDraft
from relaydesk.domain.routing import WINDOW_SOON, Waiting
from relaydesk.services import events
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)
#: How long a queue's average handle time is reused before it is read again.
HANDLE_TIME_TTL = timedelta(minutes=5)
#: How long a queue's tally (its waiting conversations as counts) is reused before it is
#: read again. Meanwhile this process's own escalations are added as they join; what
#: others do to the queue (assignments, other processes' escalations) shows at the next read.
QUEUE_TTL = timedelta(seconds=10)
#: Conversations queued this recently are read one by one, not counted, and this process's
#: own joins are kept that long across a read: a join whose transaction has not committed
#: yet is in no read.
IN_FLIGHT = timedelta(seconds=5)
_PEOPLE = frozenset({ConversationStatus.QUEUED, ConversationStatus.ASSIGNED})


@dataclass(slots=True)
class _Tally:
    """One queue's waiting conversations as last read, and this process's joins since."""

    valid_from: datetime
    valid_until: datetime
    settled: dict[str | None, int]  #: counts per stored priority
    read: dict[int, Waiting]  #: the rest of the read, one by one
    unknown: list[queries.QueuedRow]  #: of which those of a priority routing does not know
    joined: dict[int, Waiting] = field(default_factory=dict)


class LiveQueue:
    """Reads the figures of the queue an escalating conversation joins. Kept per queue: a
    tally of its waiting conversations (counts per priority, read from an index, plus the
    few whose place depends on more: just queued, windows closing soon), reused for
    `queue_ttl` and updated by every escalation that joins it, so a handoff costs the same
    whether ten or ten thousand conversations wait. Thread-safe."""

    def __init__(
        self, brief: Brief, *, queue_ttl: timedelta = QUEUE_TTL, in_flight: timedelta = IN_FLIGHT
    ) -> None:
        if queue_ttl < timedelta(0) or in_flight < timedelta(0):
            raise ValueError(
                f"queue_ttl ({queue_ttl}) and in_flight ({in_flight}) must be 0 or more "
                f"(defaults {QUEUE_TTL} and {IN_FLIGHT})"
            )
        self._brief = brief
        self._queue_ttl = queue_ttl
        self._in_flight = in_flight
        self._handle_times: dict[str, tuple[datetime, timedelta, int]] = {}
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    def snapshot(
        self,
        conn: Connection,
        conversation_id: int,
        draft: HandoffDraft,
        window_from: datetime,
        now: datetime,
    ) -> handoff.QueueSnapshot:
        """The live figures of the queue the conversation joins: who waits ahead of it,
        who serves it, how long a conversation there takes. Reads the online agents; every
        `queue_ttl` per queue, the queue's tally; every few minutes, the recent handle
        times. Records the conversation as waiting there from `now` (the caller queues
        it; a join whose transaction rolls back is forgotten at the next read). The
        conversation must not be waiting already: the policy escalates only those that
        are not. Only escalations pay for this."""
        joining = Waiting(
            conversation_id=conversation_id,
            queue=draft.queue,
            priority=draft.priority,  # type: ignore[arg-type]
            queued_at=now,
            window_closes_at=window_expires_at(window_from),
        )
        with self._lock:
            tally = self._tally(conn, draft.queue, now)
            position = handoff.position_in_tally(_fold(tally, draft), joining, now)
            tally.joined[conversation_id] = joining
            average, samples = self._handle_time(conn, draft.queue, now)
        capacity, free = handoff.serving(
            queries.online_agents(conn), draft.queue, self._brief.queues, draft.language
        )
        return handoff.QueueSnapshot(
            queue=draft.queue,
            position=position,
            agents_serving=capacity,
            free_slots=free,
            average_handle_time=average,
            handle_time_samples=samples,
        )

    def _tally(self, conn: Connection, queue: str, now: datetime) -> _Tally:
        """The queue's tally, read again when `now` is past its span (or before it)."""
        current = self._tallies.get(queue)
        if current is not None and current.valid_from <= now <= current.valid_until:
            return current
        valid_from, valid_until = now - self._in_flight, now + self._queue_ttl
        rows = queries.queue_rows(
            conn,
            queue,
            queued_before=valid_from,
            # as `handoff.is_settled` says of window_closes_at = last_inbound_at + 24 h
            closed_by=valid_from - SERVICE_WINDOW,
            open_after=valid_until + WINDOW_SOON - SERVICE_WINDOW,
        )
        # Joins of this process queued within the span are kept: one whose transaction is
        # still open is in no read (a committed one is in `read` too: same id, same row).
        kept = {} if current is None else current.joined
        fresh = _Tally(
            valid_from,
            valid_until,
            rows.settled,
            {r.id: _waiting(r, queue, r.priority) for r in rows.others if r.priority in PRIORITIES},
            [r for r in rows.others if r.priority not in PRIORITIES],
            {i: w for i, w in kept.items() if w.queued_at >= valid_from},
        )
        self._tallies[queue] = fresh
        return fresh

    def _handle_time(self, conn: Connection, queue: str, now: datetime) -> tuple[timedelta, int]:
        """The median handle time of the queue's last resolved conversations, cached."""
        cached = self._handle_times.get(queue)
        if cached is not None and timedelta(0) <= now - cached[0] < HANDLE_TIME_TTL:
            return cached[1], cached[2]
        average, samples = handoff.handle_time(
            queries.handle_times(conn, queue, handoff.HANDLE_TIME_SAMPLE)
        )
        self._handle_times[queue] = (now, average, samples)
        return average, samples


def _fold(tally: _Tally, draft: HandoffDraft) -> handoff.QueueTally:
    """The domain's tally; a stored priority routing does not know counts as the draft's
    (as the live queue always did)."""
    settled: dict[str, int] = {}
    for stored, count in tally.settled.items():
        priority = stored if stored in PRIORITIES else draft.priority
        settled[priority] = settled.get(priority, 0) + count
    others = {**tally.joined, **tally.read}  # a committed join is read too: one entry
    for row in tally.unknown:
        others[row.id] = _waiting(row, draft.queue, draft.priority)
    return handoff.QueueTally(tally.valid_from, tally.valid_until, settled, tuple(others.values()))


def _waiting(row: queries.QueuedRow, queue: str, priority: str | None) -> Waiting:
    return Waiting(
        conversation_id=row.id,
        queue=queue,
        priority=priority,  # type: ignore[arg-type]
        queued_at=row.queued_at,
        window_closes_at=window_expires_at(row.last_inbound_at),
    )


def record_events(
    conn: Connection,
    state: ConversationState,
    decision: Decision,
    message_id: int,
    message_type: str,
    now: datetime,
) -> int:
    """The console's events for this message, in its transaction: the escalation, a
    customer message while people wait on or own the conversation, a cancellation.
    Returns how many were written."""
    written = 0
    if state.status in _PEOPLE:
        written += 1
        events.record(
            conn,
            EventKind.MESSAGE_IN,
            now=now,
            conversation_id=state.id,
            detail={"message_id": message_id, "type": message_type},
        )
    route = decision.route
    if decision.action is Action.ESCALATE and route is not None:
        written += 1
        events.record(
            conn,
            EventKind.ESCALATED,
            now=now,
            conversation_id=state.id,
            detail={
                "queue": route.queue,
                "priority": route.priority,
                "tier": route.tier,
                "triggers": [t.type for t in decision.triggers],
                "wait_basis": decision.detail.get("wait_basis"),
            },
        )
    elif any(t.type == "handoff_cancelled" for t in decision.triggers):
        written += 1
        events.record(
            conn,
            EventKind.CANCELLED,
            now=now,
            conversation_id=state.id,
            detail={"queue": state.queue, "priority": state.priority},
        )
    return written


# -- CSAT -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    """What a CSAT reply did: where it was stored, the decision, events written."""

    conversation_id: int
    message_id: int
    decision: Decision
    events: int


def csat_reply(
    conn: Connection, brief: Brief, customer_id: int, message: InboundMessage, now: datetime
) -> CsatAnswer | None:
    """A tap on a CSAT button or template quick reply (`csat:<conversation>:<rating>`).

    The rating goes on the conversation it names, if that is this customer's and the
    question is open (`csat_state` 'sent'); the customer is thanked with `csat.thanks`.
    No conversation is opened and the bot does not run. A reply naming another
    customer's conversation, one never asked or answered already, or a malformed id, is
    stored (on the customer's latest conversation) and ignored, with a log event.
    None: the message was a duplicate.
    """
    reply = handoff.parse_csat(message.reply_id)
    target = queries.csat_target(conn, reply.conversation_id, customer_id) if reply else None
    if target is not None:
        conversation_id = target.id
    else:
        conversation_id = queries.latest_conversation(conn, customer_id) or (
            repo.open_conversation(conn, customer_id, message.phone_number_id, now).id
        )
    message_id = repo.insert_inbound(conn, conversation_id, message, now)
    if message_id is None:
        return None
    if reply is None or target is None or target.csat_state != "sent":
        why = (
            "malformed"
            if reply is None
            else "not this customer's conversation"
            if target is None
            else f"csat_state is {target.csat_state}"
        )
        return _ignored(brief, conversation_id, message_id, reply, why)
    if not queries.answer_csat(
        conn, target.id, rating=reply.rating, sent_at=message.sent_at, now=now
    ):
        return _ignored(brief, conversation_id, message_id, reply, "answered meanwhile")
    events.record(
        conn,
        EventKind.CSAT,
        now=now,
        conversation_id=conversation_id,
        detail={"rating": reply.rating},
    )
    log.info("csat_answered", conversation_id=conversation_id, rating=reply.rating)
    customer_language = customers_store.language_of(conn, customer_id).language
    spoken = brief.localized(customer_language)  # thanked in their language, where we can
    language = brief.reply_language(customer_language)
    decision = Decision(
        Action.ANSWER,
        brief.version,
        replies=(Text(handoff.fill(spoken.csat.thanks, spoken)),),
        detail={"reason": "csat", "rating": reply.rating, "language": language},
    )
    return CsatAnswer(conversation_id, message_id, decision, 1)


def _ignored(
    brief: Brief,
    conversation_id: int,
    message_id: int,
    reply: handoff.CsatReply | None,
    why: str,
) -> CsatAnswer:
    log.info(
        "csat_reply_ignored",
        reason=why,
        conversation_id=reply.conversation_id if reply else None,
    )
    decision = Decision(Action.IGNORE, brief.version, detail={"reason": f"csat: {why}"})
    return CsatAnswer(conversation_id, message_id, decision, 0)
