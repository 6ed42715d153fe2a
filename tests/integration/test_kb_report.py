"""`relaydesk kb report`: articles whose answers were followed by an escalation or a
thumbs-down, read from stored decisions (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import decisions
from relaydesk.cli import cli
from tests.integration import storage_rows as rows

RECENT = datetime.now(UTC) - timedelta(days=2)


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    env = {"RELAYDESK_DATABASE_URL": database_url}
    assert run(["db", "upgrade"], env)[0] == 0
    return env


@pytest.fixture
def db(database_url: str, env: dict[str, str]) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def decide(db: Database, conversation_id: int, action: str, minutes: int, **detail: Any) -> None:
    with db.write() as conn:
        conn.execute(
            decisions.insert().values(
                conversation_id=conversation_id,
                action=action,
                triggers=[],
                policy_version="v1",
                detail=detail,
                created_at=RECENT + timedelta(minutes=minutes),
            )
        )


def answered(article: str) -> dict[str, Any]:
    return {"knowledge": {"article": article, "title": article.title(), "passage": 0}}


def test_articles_followed_by_escalation_or_a_thumbs_down_are_failing(
    db: Database, env: dict[str, str]
) -> None:
    for _ in range(2):  # answered, then escalated
        first = rows.conversation(db, status="queued")
        decide(db, first, "answer", 0, **answered("en/returns"))
        decide(db, first, "escalate", 1)
    rated = rows.conversation(db, status="resolved", csat_rating=1)
    decide(db, rated, "answer", 0, **answered("en/returns"))
    fine = rows.conversation(db, status="bot", csat_rating=5)
    decide(db, fine, "answer", 0, **answered("en/delivery"))
    other = rows.conversation(db, status="bot")
    decide(db, other, "escalate", 0)  # no article: not in the report

    code, output = run(["kb", "report", "--since", "7d"], env)

    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("FAILING en/returns  answers 3, escalated after 2, thumbs-down 1")
    assert lines[1].startswith("ok      en/delivery  answers 1, escalated after 0")
    assert lines[-1].startswith("2 article(s) answered since") and "1 failing" in lines[-1]


def test_a_bad_since_is_refused(env: dict[str, str]) -> None:
    code, output = run(["kb", "report", "--since", "soon"], env)
    assert code == 2 and "--since 'soon' is not a duration or a date" in output
