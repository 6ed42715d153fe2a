"""Customers by identity: find, create, re-key and merge, inside the caller's transaction.

A customer is keyed by phone number (`wa_id`), by business-scoped user id (`user_id`), or
both. One person can be stored twice, once under each key, until a message names both;
`lock_customer` then merges the two rows (see `merge_customers` for what moves where).

Lock order: a merge locks its two customer rows by ascending id, then their open
conversations by ascending id. A batch of webhooks locks its customers in the order of their
sender keys, not ids, so on PostgreSQL a merge and a concurrent batch can still deadlock;
that is a transient error and the webhook is run again (`errors.classify`). SQLite has one
writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from relaydesk.adapters.storage.errors import RaceLost
from relaydesk.adapters.storage.tables import (
    conversations,
    customers,
    decisions,
    events,
    identity_changes,
    messages,
    notes,
    outbox,
)
from relaydesk.domain.channel import Sender
from relaydesk.domain.conversation import ConversationStatus

MERGE_KIND = "merge"  #: identity_changes.kind of a merge

_B = bindparam
_CUSTOMER_BY = {
    key: select(customers).where(cond).order_by(customers.c.id).limit(1).with_for_update()
    for key, cond in {
        "wa": customers.c.wa_id == _B("k_wa"),
        "uid": customers.c.user_id == _B("k_uid"),
    }.items()
}
# Both keys: at most two rows (each key is unique), locked in id order.
_CUSTOMERS_BY_EITHER = (
    select(customers)
    .where(or_(customers.c.wa_id == _B("k_wa"), customers.c.user_id == _B("k_uid")))
    .order_by(customers.c.id)
    .with_for_update()
)
_INSERT_CUSTOMER = {
    dialect.name: insert_(customers).on_conflict_do_nothing().returning(customers.c.id)
    for dialect, insert_ in (
        (postgresql.dialect, postgresql.insert),
        (sqlite.dialect, sqlite.insert),
    )
}
_ATTEMPTS = 3
#: Who keeps the open conversation when both merged customers have one: people's work
#: first (assigned, then queued), then the most recently active.
_OWNERSHIP = {
    ConversationStatus.ASSIGNED.value: 2,
    ConversationStatus.QUEUED.value: 1,
}


@dataclass(frozen=True, slots=True)
class Merge:
    """Two customers found to be one person: `merged` was folded into `survivor`."""

    survivor: int
    merged: int
    kept_conversation: int | None  #: the open conversation both now share, if any
    closed_conversation: int | None  #: the other open one, resolved into `kept_conversation`


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: int
    attributes: dict[str, str]
    merge: Merge | None = None  #: set when this lookup merged two customers


def upsert_customer(conn: Connection, sender: Sender, now: datetime) -> int:
    """The customer for this sender, created if new; see `lock_customer`."""
    return lock_customer(conn, sender, now).id


def lock_customer(
    conn: Connection, sender: Sender, now: datetime, *, wamid: str | None = None
) -> CustomerRef:
    """The customer for this sender, created if new; locks its row until commit (PostgreSQL),
    which serialises concurrent webhooks for one customer. When the sender names a phone
    number and a user id that belong to two customers, they are merged (recorded as an
    `identity_changes` row of kind "merge" under `wamid`, the message that showed it)."""
    if not sender.wa_id and not sender.user_id:
        raise ValueError("sender has neither wa_id nor user_id; cannot key a customer")
    keys = {"k_wa": sender.wa_id, "k_uid": sender.user_id}
    merge: Merge | None = None  # kept across attempts: a merge done is reported once
    for _ in range(_ATTEMPTS):
        rows = _find(conn, sender, keys)
        if rows:
            if len(rows) > 1:
                merge = merge_customers(conn, rows[0], rows[1], sender, now, wamid=wamid)
                rows = [
                    conn.execute(select(customers).where(customers.c.id == merge.survivor)).one()
                ]
            row = rows[0]
            if not _update_identity(conn, row, sender, now):
                continue  # a concurrent writer took one of the keys: look again
            attributes = {str(k): str(v).lower() for k, v in (row.attributes or {}).items()}
            return CustomerRef(int(row.id), attributes, merge)
        inserted = conn.execute(
            _INSERT_CUSTOMER[conn.dialect.name],
            {
                "wa_id": sender.wa_id,
                "user_id": sender.user_id,
                "parent_user_id": sender.parent_user_id,
                "profile_name": sender.profile_name,
                "username": sender.username,
                "created_at": now,
                "updated_at": now,
            },
        ).first()
        if inserted is not None:
            return CustomerRef(int(inserted.id), {})
    raise RaceLost("customer upsert lost a race three times; retry the webhook")


def _find(conn: Connection, sender: Sender, keys: dict[str, Any]) -> list[Any]:
    if sender.wa_id and sender.user_id:
        return list(conn.execute(_CUSTOMERS_BY_EITHER, keys))
    query = _CUSTOMER_BY["wa" if sender.wa_id else "uid"]
    return list(conn.execute(query, keys))


def _update_identity(conn: Connection, row: Any, sender: Sender, now: datetime) -> bool:
    """Bring the row's keys and names up to date; False when another customer committed
    one of the keys meanwhile (the caller looks again and merges)."""
    changes = _identity_updates(row._mapping, sender)
    if not changes:
        return True
    changes["updated_at"] = now
    try:
        with conn.begin_nested():
            conn.execute(update(customers).where(customers.c.id == row.id).values(**changes))
    except IntegrityError:
        return False
    return True


def _identity_updates(row: Any, sender: Sender) -> dict[str, Any]:
    wanted = {
        "wa_id": sender.wa_id,
        "user_id": sender.user_id,
        "parent_user_id": sender.parent_user_id,
        "profile_name": sender.profile_name,
        "username": sender.username,
    }
    return {k: v for k, v in wanted.items() if v is not None and row[k] != v}


def merge_customers(
    conn: Connection,
    first: Any,
    second: Any,
    sender: Sender,
    now: datetime,
    *,
    wamid: str | None,
) -> Merge:
    """Fold one customer into the other; both rows must already be locked.

    The older customer (lower id) survives. The other's conversations and identity changes
    move to it, its CRM attributes are kept where the survivor has none, and its row is
    deleted (freeing its keys for the survivor). When both have an open conversation, the
    one people work on (assigned, then queued), else the most recently active, stays open;
    the other's messages, decisions, notes, events and outbox rows move into it and it is
    resolved (no satisfaction question), so the transcript and agents' notes stay whole."""
    survivor, merged = (first, second) if first.id < second.id else (second, first)
    kept, closed = _settle_open_conversations(conn, survivor.id, merged.id, now)
    conn.execute(
        update(conversations)
        .where(conversations.c.customer_id == merged.id)
        .values(customer_id=survivor.id)
    )
    conn.execute(
        update(identity_changes)
        .where(identity_changes.c.customer_id == merged.id)
        .values(customer_id=survivor.id)
    )
    conn.execute(delete(customers).where(customers.c.id == merged.id))
    values: dict[str, Any] = {"updated_at": now}
    if merged.attributes:
        values["attributes"] = {**merged.attributes, **(survivor.attributes or {})}
    if merged.unreachable and not survivor.unreachable:
        values["unreachable"] = True
    conn.execute(update(customers).where(customers.c.id == survivor.id).values(**values))
    if wamid is not None:
        conn.execute(
            _insert(conn, identity_changes)
            .values(
                customer_id=survivor.id,
                wamid=wamid,
                kind=MERGE_KIND,
                old_wa_id=merged.wa_id,
                new_wa_id=sender.wa_id,
                old_user_id=merged.user_id,
                new_user_id=sender.user_id,
                at=now,
            )
            .on_conflict_do_nothing()
        )
    return Merge(int(survivor.id), int(merged.id), kept, closed)


def _settle_open_conversations(
    conn: Connection, survivor_id: int, merged_id: int, now: datetime
) -> tuple[int | None, int | None]:
    """At most one open conversation per customer: when both have one, resolve one into
    the other. Returns (kept, closed) conversation ids."""
    rows = list(
        conn.execute(
            select(conversations)
            .where(
                conversations.c.customer_id.in_((survivor_id, merged_id)),
                conversations.c.status != ConversationStatus.RESOLVED.value,
            )
            .order_by(conversations.c.id)
            .with_for_update()
        )
    )
    if len(rows) < 2:
        return (int(rows[0].id) if rows else None), None
    kept, closed = sorted(rows, key=_keep_rank, reverse=True)
    conn.execute(
        update(conversations)
        .where(conversations.c.id == closed.id)
        .values(
            status=ConversationStatus.RESOLVED.value,
            resolved_at=now,
            timer_at=None,
            updated_at=now,
        )
    )
    for table in (messages, decisions, notes, events, outbox):
        conn.execute(
            update(table)
            .where(table.c.conversation_id == closed.id)
            .values(conversation_id=kept.id)
        )
    last_inbound = max(
        (r.last_inbound_at for r in (kept, closed) if r.last_inbound_at is not None),
        default=None,
    )
    conn.execute(
        update(conversations)
        .where(conversations.c.id == kept.id)
        .values(last_inbound_at=last_inbound, updated_at=now)
    )
    return int(kept.id), int(closed.id)


def _keep_rank(row: Any) -> tuple[int, datetime, int]:
    active = row.last_inbound_at or row.updated_at or row.created_at
    return (_OWNERSHIP.get(row.status, 0), active, int(row.id))


def _insert(conn: Connection, table: Any) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def merge_attributes(
    conn: Connection, customer_id: int, values: dict[str, str], now: datetime
) -> None:
    """Set these CRM attributes on the customer, keeping the others it has."""
    row = conn.execute(select(customers.c.attributes).where(customers.c.id == customer_id)).first()
    if row is None:
        return
    merged = {**(row.attributes or {}), **values}
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(attributes=merged, updated_at=now)
    )


@dataclass(frozen=True, slots=True)
class CustomerLanguage:
    language: str | None
    at: datetime | None
    source: str | None


# Built once: the decision stage runs these for every message it decides.
_LANGUAGE_OF = select(
    customers.c.language, customers.c.language_at, customers.c.language_source
).where(customers.c.id == bindparam("k_id"))
_SET_LANGUAGE = (
    update(customers)
    .where(customers.c.id == bindparam("k_id"))
    .values(
        language=bindparam("k_language"),
        language_at=bindparam("k_at", type_=customers.c.language_at.type),
        language_source=bindparam("k_source"),
    )
)


def language_of(conn: Connection, customer_id: int) -> CustomerLanguage:
    """The customer's language as last set (all None: not known yet)."""
    row = conn.execute(_LANGUAGE_OF, {"k_id": customer_id}).first()
    if row is None:
        return CustomerLanguage(None, None, None)
    return CustomerLanguage(row.language, row.language_at, row.language_source)


def set_language(
    conn: Connection, customer_id: int, language: str, source: str, now: datetime
) -> None:
    """Keep `language` on the customer, with when and how (`source`) it was set."""
    values = {"k_id": customer_id, "k_language": language, "k_at": now, "k_source": source}
    conn.execute(_SET_LANGUAGE, values)
