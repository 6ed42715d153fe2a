"""The migrations build exactly the schema `tables.py` declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import pending, upgrade
from relaydesk.adapters.storage.tables import metadata


def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert pending(db.engine)
        upgrade(db.engine)
        assert not pending(db.engine)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        db.dispose()
