"""Rows for the storage adapter tests, written straight to the tables (no service in
between), and a probe for row locks held by another transaction."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import OperationalError

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import conversations, customers, messages, users

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def customer(db: Database, **values: Any) -> int:
    columns = {
        "wa_id": f"3460000{next(_numbers):04d}",
        "profile_name": "Ana",
        "created_at": NOW,
        "updated_at": NOW,
    } | values
    with db.write() as conn:
        return int(
            conn.execute(customers.insert().values(columns).returning(customers.c.id)).scalar_one()
        )


def user(db: Database, name: str = "", **values: Any) -> int:
    n = next(_numbers)
    columns = {
        "email": f"person{n}@example.com",
        "name": name or f"Person {n}",
        "role": "agent",
        "skills": ["billing"],
        "languages": ["en"],
        "capacity": 3,
        "presence": "online",
        "created_at": NOW,
    } | values
    with db.write() as conn:
        return int(conn.execute(users.insert().values(columns).returning(users.c.id)).scalar_one())


def conversation(db: Database, status: str = "queued", **values: Any) -> int:
    columns = {
        "customer_id": values.pop("customer_id", None) or customer(db),
        "phone_number_id": "1122334455667",
        "status": status,
        "queue": "general",
        "tier": 1,
        "priority": "P3",
        "language": "en",
        "queued_at": NOW,
        "escalated_at": NOW,
        "last_inbound_at": NOW,
        "created_at": NOW - timedelta(hours=1),
        "updated_at": NOW,
    } | values
    with db.write() as conn:
        return int(
            conn.execute(
                conversations.insert().values(columns).returning(conversations.c.id)
            ).scalar_one()
        )


def message(db: Database, conversation_id: int, at: datetime, **values: Any) -> int:
    columns = {
        "conversation_id": conversation_id,
        "direction": "in",
        "type": "text",
        "text": "hello",
        "payload": {},
        "sent_at": at,
        "created_at": at,
    } | values
    with db.write() as conn:
        return int(
            conn.execute(messages.insert().values(columns).returning(messages.c.id)).scalar_one()
        )


def stored(db: Database, table: Table, row_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(table).where(table.c.id == row_id)).one()


def locked_elsewhere(db: Database, table: Table, row_id: int) -> bool:
    """PostgreSQL: whether another transaction holds this row's lock (a NOWAIT lock
    attempt from a connection of its own fails)."""
    with db.engine.connect() as other:
        try:
            other.execute(
                select(table.c.id).where(table.c.id == row_id).with_for_update(nowait=True)
            )
        except OperationalError:
            return True
        finally:
            other.rollback()
    return False


def postgres_only(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises writers instead")
