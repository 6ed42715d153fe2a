"""The history values: turns in UTC, conversations in time order, the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from relaydesk.domain.history import (
    Author,
    History,
    HistoryConversation,
    HistoryError,
    Labels,
    Turn,
    group_turns,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def turn(at: datetime, author: Author = "customer", text: str = "hi", cid: str = "c1") -> Turn:
    return Turn(cid, at, author, text, None, f"h.csv:{text}")


def test_a_turn_keeps_its_instant_in_utc() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert turn(at).at == T0
    assert turn(at).at.tzinfo is UTC


def test_a_turn_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match=r"h\.csv:hi: at must be timezone-aware"):
        turn(datetime(2026, 1, 5, 9, 0))


def test_labels_belong_to_customer_turns_and_empty_labels_are_none() -> None:
    with pytest.raises(ValueError, match=r"h\.csv:7: labels belong on customer turns only"):
        Turn("c1", T0, "bot", "hello", Labels(intent="greeting"), "h.csv:7")
    assert Turn("c1", T0, "customer", "hi", Labels(), "h.csv:2").labels is None
    assert Turn("c1", T0, "bot", "hello", Labels(), "h.csv:3").labels is None


def test_a_conversation_orders_its_turns_by_time_keeping_ties_in_order() -> None:
    late = turn(T0 + timedelta(minutes=5), text="late")
    tie_a, tie_b = turn(T0, text="a"), turn(T0, "agent", text="b")
    conversation = HistoryConversation("c1", (late, tie_a, tie_b))
    assert [t.text for t in conversation.turns] == ["a", "b", "late"]
    assert (conversation.started_at, conversation.ended_at) == (T0, T0 + timedelta(minutes=5))
    assert conversation.customer_turns == (tie_a, late)


def test_a_conversation_holds_only_its_own_turns() -> None:
    with pytest.raises(ValueError, match=r"conversation 'c1' holds turns of \['c2'\]"):
        HistoryConversation("c1", (turn(T0), turn(T0, cid="c2")))
    with pytest.raises(ValueError, match="has no turns"):
        HistoryConversation("c1", ())


def test_group_turns_keeps_first_appearance_order() -> None:
    turns = [turn(T0, cid="b"), turn(T0, cid="a", text="x"), turn(T0, cid="b", text="y")]
    assert [(c.id, len(c.turns)) for c in group_turns(turns)] == [("b", 2), ("a", 1)]


def test_history_ids_are_unique_and_counts_add_up() -> None:
    a = HistoryConversation(
        "a",
        (
            Turn("a", T0, "customer", "refund", Labels(needs_human=True), "h:1"),
            Turn("a", T0, "bot", "ok", None, "h:2"),
        ),
    )
    b = HistoryConversation("b", (Turn("b", T0, "customer", "", None, "h:3", media=True),))
    history = History((a, b))
    assert (
        history.conversation_count,
        history.turn_count,
        history.customer_turn_count,
        history.labelled_turn_count,
    ) == (2, 3, 2, 1)
    with pytest.raises(ValueError, match=r"conversation ids \['a'\] appear more than once"):
        History((a, b, a))


def test_history_error_lists_its_problems_one_a_line() -> None:
    error = HistoryError(["a.csv:2: one", "b.txt: two"])
    assert error.problems == ["a.csv:2: one", "b.txt: two"]
    assert str(error) == "a.csv:2: one\nb.txt: two"
    assert isinstance(error, ValueError)
