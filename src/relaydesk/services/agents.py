"""What happens after an escalation: assignment to agents, and the agents' actions
(reply, resolve, hand back, presence). Routing decisions come from `domain.routing`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, func, select, update

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import conversations, customers, outbox, users
from relaydesk.adapters.whatsapp.codec import Recipient
from relaydesk.brief.schema import Brief
from relaydesk.domain import routing
from relaydesk.domain.conversation import ConversationStatus, window_expires_at
from relaydesk.domain.outbound import Text
from relaydesk.services.accounts import User
from relaydesk.services.inbound import outbox_row

log = structlog.get_logger(__name__)
MAX_REPLY = 4096


class ActionError(ValueError):
    """An agent action that cannot be done as asked; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Assigned:
    conversation_id: int
    agent_id: int
    queue: str


class AgentDesk:
    def __init__(self, db: Database, brief: Brief) -> None:
        self._db = db
        self._brief = brief

    # --- assignment -------------------------------------------------------------------------

    def assign_waiting(self, now: datetime) -> list[Assigned]:
        """One assignment round: every waiting conversation that an online agent with the
        skill, language and spare capacity can take is given to one."""
        with self._db.write() as conn:
            waiting = self._waiting(conn)
            if not waiting:
                return []
            agents = self._agents(conn)
            made = routing.assign(waiting, agents, self._brief.queues, now)
            for assignment in made:
                conn.execute(
                    update(conversations)
                    .where(
                        conversations.c.id == assignment.conversation_id,
                        conversations.c.status == ConversationStatus.QUEUED.value,
                    )
                    .values(
                        status=ConversationStatus.ASSIGNED.value,
                        assignee_id=assignment.agent_id,
                        assigned_at=now,
                        updated_at=now,
                    )
                )
                conn.execute(
                    update(users)
                    .where(users.c.id == assignment.agent_id)
                    .values(last_assigned_at=now)
                )
        for assignment in made:
            log.info(
                "conversation_assigned",
                conversation_id=assignment.conversation_id,
                agent_id=assignment.agent_id,
                queue=assignment.queue,
            )
        return [Assigned(a.conversation_id, a.agent_id, a.queue) for a in made]

    def _waiting(self, conn: Connection) -> list[routing.Waiting]:
        query = select(
            conversations.c.id,
            conversations.c.queue,
            conversations.c.priority,
            conversations.c.queued_at,
            conversations.c.created_at,
            conversations.c.last_inbound_at,
        ).where(conversations.c.status == ConversationStatus.QUEUED.value)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        known = self._brief.queues
        return [
            routing.Waiting(
                conversation_id=row.id,
                queue=row.queue if row.queue in known else self._brief.policy.default_queue,
                priority=row.priority or self._brief.policy.default_priority,
                queued_at=row.queued_at or row.created_at,
                window_closes_at=window_expires_at(row.last_inbound_at),
            )
            for row in conn.execute(query)
        ]

    def _agents(self, conn: Connection) -> list[routing.Agent]:
        active = (
            select(conversations.c.assignee_id, func.count().label("active"))
            .where(conversations.c.status == ConversationStatus.ASSIGNED.value)
            .group_by(conversations.c.assignee_id)
            .subquery()
        )
        rows = conn.execute(
            select(users, func.coalesce(active.c.active, 0).label("active_count"))
            .outerjoin(active, active.c.assignee_id == users.c.id)
            .where(users.c.active.is_(True), users.c.presence == routing.Presence.ONLINE.value)
        )
        return [
            routing.Agent(
                id=row.id,
                skills=frozenset(row.skills or ()),
                languages=frozenset(row.languages or ()),
                capacity=row.capacity,
                presence=routing.Presence(row.presence),
                active_conversations=row.active_count,
                last_assigned_at=row.last_assigned_at,
            )
            for row in rows
        ]

    # --- agents' actions ----------------------------------------------------------------------

    def set_presence(self, user: User, presence: str, now: datetime) -> None:
        try:
            value = routing.Presence(presence)
        except ValueError:
            choices = ", ".join(p.value for p in routing.Presence)
            raise ActionError(f"presence {presence!r} is not one of: {choices}", 422) from None
        with self._db.write() as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(presence=value.value))
        log.info("agent_presence", agent_id=user.id, presence=value.value)

    def reply(self, user: User, conversation_id: int, text: str, now: datetime) -> int:
        """Queue an agent's reply; after the 24-hour window the worker sends the brief's
        template instead. Returns the outbox row id."""
        body = text.strip()
        if not body or len(body) > MAX_REPLY:
            raise ActionError(
                f"the reply is {len(body)} characters; WhatsApp takes 1 to {MAX_REPLY}", 422
            )
        with self._db.write() as conn:
            row = self._owned(conn, user, conversation_id)
            customer = conn.execute(
                select(customers.c.wa_id, customers.c.user_id).where(
                    customers.c.id == row.customer_id
                )
            ).one()
            entry = outbox_row(
                conn,
                conversation_id=conversation_id,
                phone_number_id=row.phone_number_id,
                recipient=Recipient(customer.wa_id, customer.user_id),
                content=Text(body),
                reply_to=None,
                now=now,
            )
            outbox_id = int(
                conn.execute(outbox.insert().returning(outbox.c.id), entry).scalar_one()
            )
        log.info("agent_replied", conversation_id=conversation_id, agent_id=user.id)
        return outbox_id

    def resolve(self, user: User, conversation_id: int, now: datetime) -> None:
        self._finish(user, conversation_id, ConversationStatus.RESOLVED, now)

    def hand_back(self, user: User, conversation_id: int, now: datetime) -> None:
        """The bot takes the conversation again."""
        self._finish(user, conversation_id, ConversationStatus.BOT, now)

    def _finish(
        self, user: User, conversation_id: int, status: ConversationStatus, now: datetime
    ) -> None:
        with self._db.write() as conn:
            self._owned(conn, user, conversation_id)
            values: dict[str, Any] = {"status": status.value, "updated_at": now}
            if status is ConversationStatus.RESOLVED:
                values["resolved_at"] = now
            else:
                values.update(assignee_id=None, queue=None, tier=None, priority=None)
            conn.execute(
                update(conversations).where(conversations.c.id == conversation_id).values(values)
            )
        log.info("conversation_" + status.value, conversation_id=conversation_id, agent_id=user.id)

    def _owned(self, conn: Connection, user: User, conversation_id: int) -> Any:
        """The conversation, if this user may act on it: its assignee, or a supervisor or
        admin (who may act on any conversation a person owns or is waiting for)."""
        row = conn.execute(
            select(conversations).where(conversations.c.id == conversation_id).with_for_update()
        ).first()
        if row is None:
            raise ActionError(f"no conversation {conversation_id}", 404)
        if row.status not in (ConversationStatus.ASSIGNED.value, ConversationStatus.QUEUED.value):
            raise ActionError(
                f"conversation {conversation_id} is {row.status}; only a queued or assigned "
                "conversation can be worked on"
            )
        if user.role == "agent" and row.assignee_id != user.id:
            raise ActionError(
                f"conversation {conversation_id} is not assigned to you; ask a supervisor to "
                "transfer it",
                403,
            )
        return row
