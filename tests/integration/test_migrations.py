"""The migrations build exactly the schema `tables.py` declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import pending, upgrade
from relaydesk.adapters.storage.tables import SQLITE_ONLY_INDEXES, metadata


def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert pending(db.engine)
        upgrade(db.engine)
        assert not pending(db.engine)
        postgres = db.engine.dialect.name == "postgresql"

        def include(obj: Any, name: str | None, kind: str, *_: Any) -> bool:
            return not (postgres and kind == "index" and name in SQLITE_ONLY_INDEXES)

        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include})
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        db.dispose()


def test_0005_revokes_tokens_and_ends_sessions_of_inactive_users(database_url: str) -> None:
    """Reactivating someone deactivated before 0005 must not revive their credentials."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from relaydesk.adapters.storage.tables import api_tokens, console_sessions, users

    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    db = Database(database_url)
    try:
        upgrade(db.engine, "0004")
        with db.write() as conn:
            for user_id, active in ((1, True), (2, False)):
                conn.execute(
                    users.insert().values(
                        id=user_id,
                        email=f"u{user_id}@x.io",
                        name="U",
                        role="agent",
                        active=active,
                        created_at=now,
                    )
                )
                conn.execute(
                    api_tokens.insert().values(
                        user_id=user_id, token_hash=f"{user_id}" * 64, created_at=now
                    )
                )
                conn.execute(
                    console_sessions.insert().values(
                        token_hash=f"{user_id}" * 64,
                        user_id=user_id,
                        csrf_token="c",
                        created_at=now,
                        expires_at=now,
                        last_seen_at=now,
                    )
                )
        upgrade(db.engine)
        with db.read() as conn:
            revoked = dict(
                conn.execute(select(api_tokens.c.user_id, api_tokens.c.revoked_at)).all()
            )
            left = conn.execute(select(console_sessions.c.user_id)).scalars().all()
        assert revoked[1] is None and revoked[2] is not None
        assert left == [1]
    finally:
        db.dispose()


def test_the_known_head_is_alembics_head() -> None:
    """`migrate.HEAD` lets a process with a current schema start without loading Alembic;
    a new migration must move it."""
    from alembic.script import ScriptDirectory

    from relaydesk.adapters.storage import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config(None))  # type: ignore[arg-type]
    assert script.get_heads() == [migrate.HEAD]


def test_0016_downgrades_and_upgrades_again_keeping_0015s_triggers(database_url: str) -> None:
    """Dropping `live_seq` must not take 0015's triggers with it (a SQLite table rebuild
    would): a message still bumps its conversation's `facts_rev` afterwards, and after
    upgrading again a change is stamped."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import insert, select, update

    from relaydesk.adapters.storage.migrate import alembic_config
    from relaydesk.adapters.storage.tables import conversations, customers, messages

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    db = Database(database_url)
    try:
        upgrade(db.engine)
        command.downgrade(alembic_config(db.engine), "0015")
        with db.engine.begin() as conn:
            customer = conn.execute(
                insert(customers).values(wa_id="1555", created_at=now, updated_at=now)
            ).inserted_primary_key[0]
            conv = conn.execute(
                insert(conversations).values(
                    customer_id=customer,
                    phone_number_id="1",
                    status="bot",
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(messages).values(
                    conversation_id=conv,
                    direction="in",
                    type="text",
                    text="hi",
                    payload={},
                    sent_at=now,
                    created_at=now,
                )
            )
            rev = select(conversations.c.facts_rev).where(conversations.c.id == conv)
            assert conn.execute(rev).scalar_one() == 1  # 0015's trigger still there
        upgrade(db.engine)
        with db.engine.begin() as conn:
            stamp = select(conversations.c.live_seq).where(conversations.c.id == conv)
            before = conn.execute(stamp).scalar_one()
            conn.execute(update(conversations).where(conversations.c.id == conv).values(queue="q"))
            assert conn.execute(stamp).scalar_one() > before
    finally:
        db.dispose()
