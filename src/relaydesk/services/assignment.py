"""The assignment round: waiting conversations go to online agents with the queue's skill,
the customer's language and spare capacity (`domain.routing` decides: window closing
soon, then priority, then oldest; least busy, round robin among equals). Run about once a
second by the worker and right after any action that frees or adds capacity. Every
function works in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from relaydesk.adapters.storage.tables import conversations
from relaydesk.adapters.storage.tables import users as users_table
from relaydesk.brief.schema import Brief
from relaydesk.domain import routing
from relaydesk.domain.conversation import ConversationStatus, window_expires_at
from relaydesk.services.events import EventKind, record

QUEUED = ConversationStatus.QUEUED.value
ASSIGNED = ConversationStatus.ASSIGNED.value


@dataclass(frozen=True, slots=True)
class Assigned:
    conversation_id: int
    agent_id: int
    queue: str


def assign_waiting(conn: Connection, brief: Brief, now: datetime) -> list[Assigned]:
    """One round: every waiting conversation that an online agent can take is given to
    one. On PostgreSQL the waiting rows are locked (SKIP LOCKED), so two rounds at once
    never hand out the same conversation."""
    queued = waiting(conn, brief)
    if not queued:
        return []
    made = routing.assign(queued, agents(conn, online_only=True), brief.queues, now)
    for one in made:
        assign(conn, one.conversation_id, one.agent_id, one.queue, now)
    return [Assigned(a.conversation_id, a.agent_id, a.queue) for a in made]


def assign(
    conn: Connection,
    conversation_id: int,
    agent_id: int,
    queue: str,
    now: datetime,
    *,
    actor_id: int | None = None,
    how: str = "routing",
) -> None:
    """Give the conversation to the agent, with its ASSIGNED event (`how`: routing, take,
    transfer)."""
    conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(status=ASSIGNED, assignee_id=agent_id, assigned_at=now, updated_at=now)
    )
    conn.execute(
        update(users_table).where(users_table.c.id == agent_id).values(last_assigned_at=now)
    )
    record(
        conn,
        EventKind.ASSIGNED,
        now=now,
        conversation_id=conversation_id,
        actor_id=actor_id,
        detail={"agent_id": agent_id, "queue": queue, "how": how},
    )


def waiting(conn: Connection, brief: Brief) -> list[routing.Waiting]:
    """The queued conversations, as routing needs them (a queue the brief no longer has
    counts as its default queue)."""
    query = select(
        conversations.c.id,
        conversations.c.queue,
        conversations.c.priority,
        conversations.c.language,
        conversations.c.queued_at,
        conversations.c.entered_queue_at,
        conversations.c.created_at,
        conversations.c.last_inbound_at,
    ).where(conversations.c.status == QUEUED)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [
        routing.Waiting(
            conversation_id=row.id,
            queue=row.queue if row.queue in brief.queues else brief.policy.default_queue,
            priority=row.priority or brief.policy.default_priority,
            queued_at=row.queued_at or row.created_at,
            language=row.language,
            window_closes_at=window_expires_at(row.last_inbound_at),
            entered_target_at=row.entered_queue_at,
        )
        for row in conn.execute(query)
    ]


def agents(
    conn: Connection, *, online_only: bool = False, user_id: int | None = None
) -> list[routing.Agent]:
    """Active people with their load (conversations assigned now) and presence."""
    active = (
        select(conversations.c.assignee_id, func.count().label("active"))
        .where(conversations.c.status == ASSIGNED)
        .group_by(conversations.c.assignee_id)
        .subquery()
    )
    query = (
        select(users_table, func.coalesce(active.c.active, 0).label("active_count"))
        .outerjoin(active, active.c.assignee_id == users_table.c.id)
        .where(users_table.c.active.is_(True))
    )
    if online_only:
        query = query.where(users_table.c.presence == routing.Presence.ONLINE.value)
    if user_id is not None:
        query = query.where(users_table.c.id == user_id)
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
        for row in conn.execute(query)
    ]
