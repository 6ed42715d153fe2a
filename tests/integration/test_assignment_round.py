"""The worker's assignment round (`Moves.assign_waiting`) on both databases: it takes the
write lock only when a read finds something to hand out, and then hands it out."""

from __future__ import annotations

import pytest

from relaydesk.adapters.storage.db import Database
from relaydesk.services.moves import Moves
from tests.integration.test_timers import (
    BRIEF,
    MON_10,
    agent,
    conversation,
    counting_writes,
    db,
    row,
)

__all__ = ["db"]  # the fixture, shared with the timers' tests


def test_nobody_online_means_no_write(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting = conversation(db, queue="general")
    agent(db, skills=["orders"], languages=["en"], online=False)
    writes = counting_writes(db, monkeypatch)
    assert Moves(db, BRIEF).assign_waiting(MON_10) == []
    assert writes == []
    assert row(db, waiting).status == "queued"


def test_nobody_online_who_can_take_the_queue_means_no_write(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = conversation(db, queue="management")
    agent(db, skills=["orders"], languages=["en"])  # online, with room, not management
    writes = counting_writes(db, monkeypatch)
    assert Moves(db, BRIEF).assign_waiting(MON_10) == []
    assert writes == []
    assert row(db, waiting).status == "queued"


def test_an_online_agent_with_room_gets_the_conversation(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = conversation(db, queue="general")
    ana = agent(db, skills=["orders"], languages=["en"])
    writes = counting_writes(db, monkeypatch)
    (made,) = Moves(db, BRIEF).assign_waiting(MON_10)
    assert (made.conversation_id, made.agent_id, made.queue) == (waiting, ana, "general")
    assert writes == [1]
    assert (row(db, waiting).status, row(db, waiting).assignee_id) == ("assigned", ana)
