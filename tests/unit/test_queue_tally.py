"""The wait estimate's position from per-priority counts (`position_in_tally`) is the
position routing order gives (`position_in_queue`) on the whole queue: same answer on
random queues, windows closing soon, ties and all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.brief.schema import PRIORITIES
from relaydesk.domain import handoff, routing
from relaydesk.domain.handoff import QueueTally

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)

# Offsets in minutes, dense around what decides the order: the 2-hour "closing soon"
# band of the window (now .. now + 2 h), its edges, and the tally's span (a few minutes).
_closes = st.one_of(
    st.none(),
    st.integers(-180, 26 * 60),
    st.sampled_from([-30, -5, 0, 1, 115, 119, 120, 121, 125, 130]),
)
_queued = st.one_of(st.integers(-3000, 5), st.sampled_from([-10, -5, -1, 0]))


@st.composite
def queues(draw: st.DrawFn) -> tuple[list[routing.Waiting], routing.Waiting, QueueTally]:
    count = draw(st.integers(0, 40))
    ids = draw(st.lists(st.integers(1, 60), min_size=count, max_size=count, unique=True))
    waiting = [
        routing.Waiting(
            conversation_id=cid,
            queue="general",
            priority=draw(st.sampled_from(PRIORITIES)),
            queued_at=NOW + timedelta(minutes=draw(_queued)),
            window_closes_at=_at(draw(_closes)),
        )
        for cid in ids
    ]
    joining = routing.Waiting(
        conversation_id=draw(st.integers(1, 60)),  # sometimes one of the queue: not counted
        queue="general",
        priority=draw(st.sampled_from(PRIORITIES)),
        queued_at=NOW,
        window_closes_at=_at(draw(_closes)),
    )
    start = NOW - timedelta(minutes=draw(st.integers(0, 30)))
    end = NOW + timedelta(minutes=draw(st.integers(0, 30)))
    # The one escalating may be listed (a join this process recorded) but never counted:
    # a conversation that escalates is not waiting yet (see `position_in_tally`).
    folded = handoff.tally(
        [
            w
            for w in waiting
            if w.conversation_id != joining.conversation_id or not handoff.is_settled(w, start, end)
        ],
        start,
        end,
    )
    return waiting, joining, folded


def _at(minutes: int | None) -> datetime | None:
    return None if minutes is None else NOW + timedelta(minutes=minutes)


@settings(max_examples=600, deadline=None)
@given(queues(), st.data())
def test_the_tally_gives_the_position_routing_order_gives(
    case: tuple[list[routing.Waiting], routing.Waiting, QueueTally], data: st.DataObject
) -> None:
    waiting, joining, folded = case
    # any instant of the tally's span (the service reuses a tally for a few seconds)
    span = int((folded.valid_until - folded.valid_from).total_seconds())
    now = folded.valid_from + timedelta(seconds=data.draw(st.integers(0, span)))
    joining = routing.Waiting(
        joining.conversation_id,
        "general",
        joining.priority,
        queued_at=now,
        window_closes_at=joining.window_closes_at,
    )
    ahead = [w for w in waiting if w.conversation_id != joining.conversation_id]
    assert handoff.position_in_tally(folded, joining, now) == handoff.position_in_queue(
        ahead, joining, now
    )


def test_a_long_queue_is_mostly_counts() -> None:
    """Queued before the span, windows far from closing: counted, not listed."""
    waiting = [
        routing.Waiting(
            i,
            "general",
            "P3",
            NOW - timedelta(minutes=i),
            window_closes_at=NOW + timedelta(hours=20),
        )
        for i in range(1, 1001)
    ]
    folded = handoff.tally(waiting, NOW - timedelta(seconds=5), NOW + timedelta(seconds=10))
    assert folded.settled == {"P3": 1000}
    assert folded.others == ()
    day, hour = NOW + timedelta(hours=24), NOW + timedelta(hours=1)
    p2 = routing.Waiting(5000, "general", "P2", NOW, window_closes_at=day)
    p3 = routing.Waiting(5000, "general", "P3", NOW, window_closes_at=day)
    soon = routing.Waiting(5000, "general", "P4", NOW, window_closes_at=hour)
    assert handoff.position_in_tally(folded, p2, NOW) == 0
    assert handoff.position_in_tally(folded, p3, NOW) == 1000
    assert handoff.position_in_tally(folded, soon, NOW) == 0  # its window closes first


def test_windows_that_may_close_soon_within_the_span_are_listed() -> None:
    start, end = NOW, NOW + timedelta(seconds=10)
    edge, hour_ago = end + routing.WINDOW_SOON, NOW - timedelta(hours=1)
    at_the_edge = routing.Waiting(1, "general", "P3", hour_ago, window_closes_at=edge)
    beyond = routing.Waiting(
        2, "general", "P3", hour_ago, window_closes_at=edge + timedelta(microseconds=1)
    )
    closed = routing.Waiting(3, "general", "P3", hour_ago, window_closes_at=start)
    recent = routing.Waiting(4, "general", "P3", start)
    folded = handoff.tally([at_the_edge, beyond, closed, recent], start, end)
    assert folded.settled == {"P3": 2}
    assert {w.conversation_id for w in folded.others} == {1, 4}


def test_a_tally_is_refused_outside_its_span() -> None:
    folded = QueueTally(NOW, NOW + timedelta(seconds=10), {"P3": 4})
    joining = routing.Waiting(1, "general", "P3", NOW)
    assert handoff.position_in_tally(folded, joining, NOW + timedelta(seconds=10)) == 4
    with pytest.raises(ValueError, match="outside the queue tally's span"):
        handoff.position_in_tally(folded, joining, NOW + timedelta(seconds=11))
    with pytest.raises(ValueError, match="outside the queue tally's span"):
        handoff.position_in_tally(folded, joining, NOW - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("settled", "message"),
    [({"P9": 1}, "keys must be priorities"), ({"P3": -1}, "counts 0 or more")],
)
def test_bad_counts_are_refused(settled: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueueTally(NOW, NOW, settled)


def test_a_span_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        QueueTally(NOW, NOW - timedelta(seconds=1), {})
