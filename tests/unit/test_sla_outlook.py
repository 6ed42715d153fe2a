"""`sla.outlook`: what an open conversation's SLA outcome will be from its last message on,
worked out once, is `sla.outcome` worked out again at every later time (the Insights keep
the outlook of a conversation whose summary cannot hold a final outcome yet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.calendar import BusinessCalendar
from relaydesk.domain.sla import Outlook, Party, SlaTimeline, TimelineMessage, outcome, outlook

BRIEF = load_brief(EXAMPLE_BRIEF)
OPENED = datetime(2026, 11, 27, 16, 40, tzinfo=UTC)  # a Friday afternoon: a weekend ahead
CALENDARS = {
    "business hours": BusinessCalendar.from_brief(BRIEF),
    "around the clock": BusinessCalendar.always_open(),
}

messages = st.lists(
    st.tuples(
        st.integers(min_value=-600, max_value=4 * 24 * 3600),  # seconds after the escalation
        st.sampled_from([Party.CUSTOMER, Party.AGENT]),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    sent=messages,
    priority=st.sampled_from(sorted(BRIEF.slas)),
    calendar=st.sampled_from(sorted(CALENDARS)),
    later=st.lists(st.integers(min_value=0, max_value=10 * 24 * 3600), min_size=1, max_size=8),
)
def test_the_outlook_is_the_outcome_at_every_later_time(
    sent: list[tuple[int, Party]], priority: str, calendar: str, later: list[int]
) -> None:
    timeline = SlaTimeline(
        OPENED, tuple(TimelineMessage(OPENED + timedelta(seconds=s), p) for s, p in sent)
    )
    sla, hours = BRIEF.slas[priority], CALENDARS[calendar]
    ahead = outlook(timeline, sla, hours)
    assert ahead is not None
    assert ahead.since == max([OPENED, *(m.at for m in timeline.messages)])
    for seconds in later:
        now = ahead.since + timedelta(seconds=seconds)
        assert ahead.outcome(now) == outcome(timeline, sla, hours, now), now
    if ahead.missed_at is not None and ahead.missed_at > ahead.since:  # the moment itself
        before = ahead.missed_at - timedelta(microseconds=1)
        assert outcome(timeline, sla, hours, before) is None
        assert outcome(timeline, sla, hours, ahead.missed_at) is False


def test_a_resolved_conversation_has_no_outlook() -> None:
    timeline = SlaTimeline(OPENED, resolved_at=OPENED + timedelta(hours=1))
    assert outlook(timeline, BRIEF.slas["P2"], CALENDARS["business hours"]) is None


def test_a_paused_clock_is_never_missed_and_a_breach_stays() -> None:
    sla, hours = BRIEF.slas["P2"], CALENDARS["around the clock"]
    replied = SlaTimeline(OPENED, (TimelineMessage(OPENED + timedelta(minutes=1), Party.AGENT),))
    assert outlook(replied, sla, hours) == Outlook(OPENED + timedelta(minutes=1), None)
    late = SlaTimeline(OPENED, (TimelineMessage(OPENED + timedelta(days=2), Party.AGENT),))
    assert outlook(late, sla, hours) == Outlook(
        OPENED + timedelta(days=2), OPENED + timedelta(days=2)
    )
    waiting = outlook(SlaTimeline(OPENED), sla, hours)
    assert waiting == Outlook(OPENED, OPENED + sla.first_response)
    with pytest.raises(ValueError, match="is before"):
        waiting.outcome(OPENED - timedelta(seconds=1))
