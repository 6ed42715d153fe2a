"""People as the desk sees them: their skills, languages, capacity, presence and load (the
conversations assigned to them now). Every function takes the caller's transaction;
statements are built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, bindparam, func, select, update

from relaydesk.adapters.storage.tables import conversations, users
from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.routing import Agent, Presence

_B = bindparam
_LOAD = (
    select(conversations.c.assignee_id, func.count().label("active"))
    .where(conversations.c.status == ConversationStatus.ASSIGNED.value)
    .group_by(conversations.c.assignee_id)
    .subquery()
)
_WITH_LOAD: Select[tuple[object, ...]] = (
    select(users, func.coalesce(_LOAD.c.active, 0).label("active_count"))
    .outerjoin(_LOAD, _LOAD.c.assignee_id == users.c.id)
    .where(users.c.active.is_(True))
)
_LOCK = select(users.c.id).where(users.c.id == _B("k_id")).with_for_update()
_PERSON = select(users.c.id, users.c.name, users.c.active).where(users.c.id == _B("k_id"))
_SET_PRESENCE = update(users).where(users.c.id == _B("k_id")).values(presence=_B("k_presence"))
_MARK_ASSIGNED = update(users).where(users.c.id == _B("k_id")).values(last_assigned_at=_B("k_now"))


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a conversation can be transferred to."""

    id: int
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An active person with their load, for the agents overview."""

    id: int
    name: str
    email: str
    role: str
    presence: str
    active_conversations: int
    capacity: int
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    last_assigned_at: datetime | None


def agents(
    conn: Connection, *, online_only: bool = False, user_id: int | None = None
) -> list[Agent]:
    """Active people with their load and presence (only those online, or only one)."""
    query = _WITH_LOAD
    if online_only:
        query = query.where(users.c.presence == Presence.ONLINE.value)
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    return [
        Agent(
            id=int(row.id),
            skills=frozenset(row.skills or ()),
            languages=frozenset(row.languages or ()),
            capacity=int(row.capacity),
            presence=Presence(row.presence),
            active_conversations=int(row.active_count),
            last_assigned_at=row.last_assigned_at,
        )
        for row in conn.execute(query)
    ]


def overview(conn: Connection) -> list[AgentLoad]:
    """Every active person with their load, by name."""
    rows = conn.execute(_WITH_LOAD.order_by(users.c.name, users.c.id))
    return [
        AgentLoad(
            id=int(r.id),
            name=r.name,
            email=r.email,
            role=r.role,
            presence=r.presence,
            active_conversations=int(r.active_count),
            capacity=int(r.capacity),
            skills=tuple(r.skills or ()),
            languages=tuple(r.languages or ()),
            last_assigned_at=r.last_assigned_at,
        )
        for r in rows
    ]


def lock(conn: Connection, user_id: int) -> None:
    """Lock the person's row until the transaction ends (two takes at once must not both
    fit in the last free slot)."""
    conn.execute(_LOCK, {"k_id": user_id})


def person(conn: Connection, user_id: int) -> Person | None:
    """The user, active or not; None if there is no such user."""
    row = conn.execute(_PERSON, {"k_id": user_id}).first()
    return None if row is None else Person(int(row.id), row.name, bool(row.active))


def set_presence(conn: Connection, user_id: int, presence: Presence) -> None:
    conn.execute(_SET_PRESENCE, {"k_id": user_id, "k_presence": presence.value})


def mark_assigned(conn: Connection, user_id: int, now: datetime) -> None:
    """Remember when the person last got a conversation (routing's round robin)."""
    conn.execute(_MARK_ASSIGNED, {"k_id": user_id, "k_now": now})
