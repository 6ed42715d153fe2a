"""Moving a conversation between people and queues after an escalation: the assignment
round in its own transaction (`services.assignment`, with `domain.routing` deciding), a
person taking a waiting conversation, a transfer to a queue or a person, an escalation up
the brief's tier ladder, and releasing everything a person holds. `AgentDesk`
(`services.agents`) offers these beside the actions on the conversation itself.

Every action is one transaction that also writes its `services.events` event, and
refuses with an `ActionError` carrying the HTTP status: 404 no such conversation, 403 not
yours or not your role, 409 not in a state that allows it, 422 a bad value. A refusal
changes nothing. Agents act on the conversations assigned to them; supervisors and
admins on any.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection

from relaydesk.adapters.storage import agents as agents_store
from relaydesk.adapters.storage import desk as desk_store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.desk import Worked
from relaydesk.brief.schema import Brief, Queue
from relaydesk.domain import routing
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.permissions import Action, can
from relaydesk.services import assignment, audit
from relaydesk.services.accounts import User
from relaydesk.services.assignment import Assigned
from relaydesk.services.events import EventKind, record

log = structlog.get_logger(__name__)
QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value
OPEN = (QUEUED, ASSIGNED)


class ActionError(ValueError):
    """An agent action that cannot be done as asked; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class DeskBase:
    """What every action needs: the database, the brief, and the conversation it may
    work on."""

    def __init__(self, db: Database, brief: Brief) -> None:
        self._db = db
        self._brief = brief

    def _queue_name(self, queue: str | None) -> str:
        return queue if queue in self._brief.queues else self._brief.policy.default_queue

    def _conversation(self, conn: Connection, conversation_id: int) -> Worked:
        row = desk_store.lock(conn, conversation_id)
        if row is None:
            raise ActionError(f"no conversation {conversation_id}", 404)
        return row

    def _owned(
        self,
        conn: Connection,
        user: User,
        conversation_id: int,
        states: Collection[str] | None = None,
    ) -> Worked:
        """The conversation (locked), if this user may act on it in one of `states` (None:
        any): its assignee, or a supervisor or admin."""
        row = self._conversation(conn, conversation_id)
        if states is not None and row.status not in states:
            raise ActionError(
                f"conversation {conversation_id} is {row.status}; only a "
                f"{' or '.join(states)} conversation can be worked on",
                409,
            )
        if row.assignee_id != user.id and not can(user.role, Action.CONVERSATIONS_WORK_ANY):
            raise ActionError(
                f"conversation {conversation_id} is not assigned to you; take it from the "
                "queue or ask a supervisor to transfer it",
                403,
            )
        return row


class Moves(DeskBase):
    """The moves between people and queues (see the module's docstring)."""

    # --- assignment -------------------------------------------------------------------------

    def assign_waiting(self, now: datetime) -> list[Assigned]:
        """One assignment round (`services.assignment.assign_waiting`) in its own
        transaction, taken only when a read finds something to assign: the worker runs
        this every second, and the write lock it would take is the one a webhook's
        acknowledgement waits for."""
        with self._db.read() as conn:
            if not assignment.would_assign(conn, self._brief, now):
                return []
        with self._db.write() as conn:
            made = assignment.assign_waiting(conn, self._brief, now)
        for one in made:
            log.info(
                "conversation_assigned",
                conversation_id=one.conversation_id,
                agent_id=one.agent_id,
                queue=one.queue,
            )
        return made

    # --- taking -------------------------------------------------------------------------

    def take(self, user: User, conversation_id: int, now: datetime) -> None:
        """The user takes a waiting conversation. An agent must be qualified for its queue
        (a skill, the customer's language) and have room; supervisors may take any."""
        with self._db.write() as conn:
            row = self._conversation(conn, conversation_id)
            if row.status != QUEUED:
                raise ActionError(
                    f"conversation {conversation_id} is {row.status}; only a queued "
                    "conversation can be taken"
                    + ("" if row.status != ASSIGNED else " (a supervisor can transfer it)"),
                    409,
                )
            queue_name = self._queue_name(row.queue)
            if not can(user.role, Action.CONVERSATIONS_WORK_ANY):
                self._check_can_take(conn, user, queue_name, row.language)
            assignment.assign(
                conn, conversation_id, user.id, queue_name, now, actor_id=user.id, how="take"
            )
        log.info("conversation_taken", conversation_id=conversation_id, agent_id=user.id)

    def _check_can_take(
        self, conn: Connection, user: User, queue_name: str, language: str | None
    ) -> None:
        agents_store.lock(conn, user.id)  # two takes at once must not both fit the last slot
        found = agents_store.agents(conn, user_id=user.id)
        if not found:
            raise ActionError(f"user {user.email} is deactivated", 403)
        agent = found[0]
        queue = self._brief.queues[queue_name]
        if not routing.qualified(agent, queue, language):
            needs = (
                f" and the language {_needed_language(queue, language)}" if queue.languages else ""
            )
            raise ActionError(
                f"the {queue_name} queue needs one of the skills {', '.join(queue.skills)}"
                + needs
                + f"; you have skills {', '.join(sorted(agent.skills)) or 'none'} and languages "
                f"{', '.join(sorted(agent.languages)) or 'none'}. Ask a supervisor to assign it",
                403,
            )
        if not agent.has_capacity:
            raise ActionError(
                f"you already hold {agent.active_conversations} conversation(s), your capacity "
                f"is {agent.capacity}; resolve or hand one back first",
                409,
            )

    # --- moving it on ---------------------------------------------------------------------

    def transfer(
        self,
        user: User,
        conversation_id: int,
        now: datetime,
        queue: str | None = None,
        agent_id: int | None = None,
    ) -> None:
        """Give the conversation to another queue (it waits there again) or to a named,
        active person. Agents may transfer their own conversations; supervisors any."""
        if (queue is None) == (agent_id is None):
            raise ActionError("transfer to a queue or to an agent: give exactly one", 422)
        if queue is not None and queue not in self._brief.queues:
            known = ", ".join(self._brief.queues)
            raise ActionError(f"queue {queue!r} is not in the brief; queues: {known}", 422)
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id, OPEN)
            if queue is not None:
                self._requeue(conn, row, queue, now)
                detail: dict[str, Any] = {"from_queue": row.queue, "to_queue": queue}
            else:
                assert agent_id is not None  # exactly one of queue and agent_id, checked above
                target = agents_store.person(conn, agent_id)
                if target is None:
                    raise ActionError(f"no user with id {agent_id}", 422)
                if not target.active:
                    raise ActionError(f"{target.name} (user {agent_id}) is deactivated", 422)
                if row.status == ASSIGNED and row.assignee_id == agent_id:
                    raise ActionError(
                        f"conversation {conversation_id} is already assigned to {target.name}",
                        409,
                    )
                assignment.assign(
                    conn,
                    conversation_id,
                    target.id,
                    self._queue_name(row.queue),
                    now,
                    actor_id=user.id,
                    how="transfer",
                )
                detail = {"from_agent_id": row.assignee_id, "to_agent_id": target.id}
            record(
                conn,
                EventKind.TRANSFERRED,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail=detail,
            )
            audit.record(
                conn,
                "conversation.transferred",
                now=now,
                actor=user,
                target=f"conversation:{conversation_id}",
                before={"status": row.status, "queue": row.queue, "assignee_id": row.assignee_id},
                after=detail,
            )
        log.info("conversation_transferred", conversation_id=conversation_id, **detail)

    def escalate(self, user: User, conversation_id: int, now: datetime) -> None:
        """Move the conversation to the next step of the brief's tier ladder, where it
        waits for someone there."""
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id, OPEN)
            current = self._queue_name(row.queue)
            move = self._next_on_ladder(conn, row)
            if move is None:
                raise ActionError(
                    f"conversation {conversation_id} is in {current}, the top of the ladder; "
                    "transfer it to a person instead",
                    409,
                )
            self._requeue(conn, row, move.to_queue, now)
            record(
                conn,
                EventKind.MOVED,
                now=now,
                conversation_id=conversation_id,
                actor_id=user.id,
                detail={
                    "from_queue": current,
                    "to_queue": move.to_queue,
                    "tier": move.tier,
                    "reason": move.reason.value,
                    "skipped": list(move.skipped),
                },
            )
            audit.record(
                conn,
                "conversation.escalated",
                now=now,
                actor=user,
                target=f"conversation:{conversation_id}",
                before={"queue": current, "status": row.status, "assignee_id": row.assignee_id},
                after={"queue": move.to_queue, "tier": move.tier, "reason": move.reason.value},
            )
        log.info(
            "conversation_moved",
            conversation_id=conversation_id,
            to_queue=move.to_queue,
            reason=move.reason.value,
        )

    def _next_on_ladder(self, conn: Connection, row: Worked) -> routing.LadderMove | None:
        """The next ladder step's queue, skipping steps nobody online could take."""
        queues = self._brief.queues
        waiting = routing.Waiting(
            conversation_id=row.id,
            queue=self._queue_name(row.queue),
            priority=row.priority or self._brief.policy.default_priority,
            queued_at=row.queued_at or row.created_at,
            language=row.language,
        )
        online = agents_store.agents(conn, online_only=True)
        return routing.move_up(
            waiting,
            self._brief.ladder,
            queues,
            lambda queue: routing.staffed(queue, online, queues, row.language),
            routing.MoveReason.AGENT,
        )

    def release(self, agent_id: int, now: datetime, actor_id: int | None = None) -> list[int]:
        """Put every conversation this person holds back in its queue (they were
        deactivated, say), keeping each one's place in line. Returns their ids."""
        with self._db.write() as conn:
            rows = desk_store.held_by(conn, agent_id)
            for row in rows:
                queue = self._queue_name(row.queue)
                self._requeue(conn, row, queue, now)
                record(
                    conn,
                    EventKind.TRANSFERRED,
                    now=now,
                    conversation_id=row.id,
                    actor_id=actor_id,
                    detail={"from_agent_id": agent_id, "to_queue": queue, "reason": "released"},
                )
        if rows:
            log.info("conversations_released", agent_id=agent_id, count=len(rows))
        return [row.id for row in rows]

    def _requeue(self, conn: Connection, row: Worked, queue: str, now: datetime) -> None:
        """Back to waiting, in `queue`; it keeps its place in line (`queued_at`) but the
        ladder's timeout counts from now."""
        tier = self._brief.queues[queue].tier
        desk_store.requeue(
            conn, row.id, queue=queue, tier=tier, queued_at=row.queued_at or now, now=now
        )


def _needed_language(queue: Queue, language: str | None) -> str:
    """For the refusal: what `routing.qualified` asks of the agent (the queue's main
    language when the customer's is unknown)."""
    return routing.required_language(queue, language) or routing.base_language(queue.languages[0])
