"""Schema migrations (Alembic), run by `relaydesk db upgrade` and by `serve` on a fresh SQLite.

Alembic (with Mako) is imported only to migrate or when the schema is not the one this code
knows (`HEAD`), so a process that starts against a current database does not hold it in
memory (a receive-only `serve --no-worker` counts its megabytes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision in `migrations/versions` (a test checks it against Alembic's head).
HEAD = "0017"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def pending(engine: Engine) -> bool:
    """True when the database is not at the newest revision."""
    with engine.connect() as conn:
        if inspect(conn).has_table("alembic_version"):
            current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            if current == {HEAD}:
                return False
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return set(heads) != set(script.get_heads())
