"""The decision stage's turns at the SQLite writer. Where webhooks are acknowledged into the
intake file (SQLite on a file), no acknowledgement waits for the database's writer, and a
round's decisions are committed in a few long transactions rather than in a 4 ms slice each
(which decided two or three messages per turn and then waited out the intake's move)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from relaydesk.adapters.storage.tables import decisions
from relaydesk.adapters.whatsapp.webhook import parse_webhook
from relaydesk.bootstrap import Container, build
from relaydesk.config import load_settings
from relaydesk.services.decider import BriefDecider
from relaydesk.services.decisions import DecisionStage
from relaydesk.services.inbound import Webhook
from tests.conftest import text_webhook

TEXTS = ("hi", "where is my order?", "how long does shipping take?", "thanks, bye")


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = load_settings(
        {
            "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'relaydesk.sqlite'}",
            "RELAYDESK_LOG_LEVEL": "warning",
        }
    )
    made = build(settings, base_url="http://127.0.0.1:9", migrate=True)
    yield made
    made.dispose()


def store(container: Container, count: int) -> None:
    now = datetime.now(UTC)
    bodies = [
        text_webhook(body=TEXTS[i % len(TEXTS)], wa_id=f"3460{i:07d}", timestamp=now)
        for i in range(count)
    ]
    container.inbound.ingest_batch([Webhook(b, parse_webhook(b), now) for b in bodies])


def commits_of(container: Container, stage: DecisionStage) -> tuple[int, int]:
    """(messages decided, write transactions committed) in one round of `stage`."""
    commits = 0

    def counted(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(container.db.engine, "commit", counted)
    try:
        decided = stage.run_once()
    finally:
        event.remove(container.db.engine, "commit", counted)
    return decided, commits


def decided_rows(container: Container) -> int:
    with container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(decisions)).scalar_one())


def test_with_the_intake_a_round_is_decided_in_a_few_transactions(
    container: Container,
) -> None:
    assert container.intake is not None  # a SQLite file: serve acknowledges into the intake
    store(container, 32)

    decided, commits = commits_of(container, container.decisions)

    assert decided == 32 == decided_rows(container)
    # one 100 ms slice decides them all here (~2 ms a message); three allow a slow machine.
    # With 4 ms slices the same round took 7 transactions on the same machine.
    assert commits <= 3, f"{commits} write transactions for one round of 32 messages"


def test_a_short_slice_commits_the_round_in_many_transactions(container: Container) -> None:
    """The contrast, on the same database: the slice is what sets the number of turns (the
    4 ms slice where the webhooks' inserts share the writer: in memory, no intake)."""
    stage = DecisionStage(
        container.db,
        BriefDecider.from_brief(container.brief),
        container.metrics,
        backlog_max_age=timedelta(hours=1),
        write_slice=0.0,  # each message passes the budget: one transaction per message
    )
    store(container, 12)

    decided, commits = commits_of(container, stage)

    assert decided == 12 == decided_rows(container)
    assert commits == 12
