"""The handoff on the webhook path: the live queue an escalation joins (for an honest
wait in the one handoff message), the events a person watching the console needs, and
the customer's answer to the CSAT question. Words come from `domain.handoff`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import handoff as queries
from relaydesk.adapters.storage import repository as repo
from relaydesk.brief.schema import PRIORITIES, Brief
from relaydesk.domain import handoff
from relaydesk.domain.channel import InboundMessage
from relaydesk.domain.conversation import (
    ConversationState,
    ConversationStatus,
    window_expires_at,
)
from relaydesk.domain.decision import Action, Decision
from relaydesk.domain.outbound import Text
from relaydesk.domain.policy import HandoffDraft
from relaydesk.domain.routing import Waiting
from relaydesk.services import events
from relaydesk.services.events import EventKind

log = structlog.get_logger(__name__)
#: How long a queue's average handle time is reused before it is read again.
HANDLE_TIME_TTL = timedelta(minutes=5)
_PEOPLE = frozenset({ConversationStatus.QUEUED, ConversationStatus.ASSIGNED})


class LiveQueue:
    """Reads the figures of the queue an escalating conversation joins."""

    def __init__(self, brief: Brief) -> None:
        self._brief = brief
        self._handle_times: dict[str, tuple[datetime, timedelta, int]] = {}

    def snapshot(
        self,
        conn: Connection,
        conversation_id: int,
        draft: HandoffDraft,
        window_from: datetime,
        now: datetime,
    ) -> handoff.QueueSnapshot:
        """The live figures of the queue the conversation joins: who waits ahead of it,
        who serves it, how long a conversation there takes. Two small reads (the waiting
        conversations of one queue; the online agents) and, every few minutes per queue,
        the recent handle times. Only escalations pay for this."""
        brief = self._brief
        ahead = [
            Waiting(
                conversation_id=row.id,
                queue=draft.queue,
                priority=row.priority if row.priority in PRIORITIES else draft.priority,  # type: ignore[arg-type]
                queued_at=row.queued_at,
                window_closes_at=window_expires_at(row.last_inbound_at),
            )
            for row in queries.queued_in(conn, draft.queue)
            if row.id != conversation_id
        ]
        joining = Waiting(
            conversation_id=conversation_id,
            queue=draft.queue,
            priority=draft.priority,  # type: ignore[arg-type]
            queued_at=now,
            window_closes_at=window_expires_at(window_from),
        )
        capacity, free = handoff.serving(
            queries.online_agents(conn), draft.queue, brief.queues, draft.language
        )
        average, samples = self._handle_time(conn, draft.queue, now)
        return handoff.QueueSnapshot(
            queue=draft.queue,
            position=handoff.position_in_queue(ahead, joining, now),
            agents_serving=capacity,
            free_slots=free,
            average_handle_time=average,
            handle_time_samples=samples,
        )

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
    decision = Decision(
        Action.ANSWER,
        brief.version,
        replies=(Text(handoff.fill(brief.csat.thanks, brief)),),
        detail={"reason": "csat", "rating": reply.rating},
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
