"""The assignment round: waiting conversations go to online agents with the queue's skill,
the customer's language and spare capacity (`domain.routing` decides: window closing
soon, then priority, then oldest; least busy, round robin among equals). Run about once a
second by the worker and right after any action that frees or adds capacity. Every
function works in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from relaydesk.adapters.storage import agents as agents_store
from relaydesk.adapters.storage import queues as queues_store
from relaydesk.brief.schema import Brief
from relaydesk.domain import routing
from relaydesk.domain.conversation import window_expires_at
from relaydesk.services.events import EventKind, record


@dataclass(frozen=True, slots=True)
class Assigned:
    conversation_id: int
    agent_id: int
    queue: str


def assign_waiting(conn: Connection, brief: Brief, now: datetime) -> list[Assigned]:
    """One round: every waiting conversation that an online agent can take is given to
    one. On PostgreSQL the waiting rows are locked (SKIP LOCKED), so two rounds at once
    never hand out the same conversation."""
    made = _plan(conn, brief, now, lock=True)
    for one in made:
        assign(conn, one.conversation_id, one.agent_id, one.queue, now)
    return [Assigned(a.conversation_id, a.agent_id, a.queue) for a in made]


def would_assign(conn: Connection, brief: Brief, now: datetime) -> bool:
    """Whether a round at `now` would hand out anything, read without locking or writing:
    the worker asks this every second before it takes the write lock for a round (with
    no online agent who has room, or a queue nobody online can take, the answer is no)."""
    return bool(_plan(conn, brief, now, lock=False))


def _plan(conn: Connection, brief: Brief, now: datetime, *, lock: bool) -> list[routing.Assignment]:
    """What a round would hand out (`domain.routing.assign`); the waiting conversations
    are not read when no online agent has room."""
    online = agents_store.agents(conn, online_only=True)
    if not any(agent.has_capacity for agent in online):
        return []
    return routing.assign(waiting(conn, brief, lock=lock), online, brief.queues, now)


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
    queues_store.assign(conn, conversation_id, agent_id, now)
    agents_store.mark_assigned(conn, agent_id, now)
    record(
        conn,
        EventKind.ASSIGNED,
        now=now,
        conversation_id=conversation_id,
        actor_id=actor_id,
        detail={"agent_id": agent_id, "queue": queue, "how": how},
    )


def waiting(conn: Connection, brief: Brief, *, lock: bool = True) -> list[routing.Waiting]:
    """The queued conversations, as routing needs them (a queue the brief no longer has
    counts as its default queue); locked on PostgreSQL unless `lock` is False."""
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
        for row in queues_store.waiting(conn, lock=lock)
    ]
