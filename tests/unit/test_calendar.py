"""Business-time arithmetic: opening hours in Europe/Madrid, nights, weekends, holidays, DST."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.brief.loader import load_brief
from relaydesk.brief.schema import BusinessHours
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.calendar import BusinessCalendar

MADRID = ZoneInfo("Europe/Madrid")
H = timedelta(hours=1)
M = timedelta(minutes=1)

#: The example shop: Mon-Fri 09:00-18:00, Sat 10:00-14:00, Sunday closed, Spanish holidays
#: (2026-12-08 is a Tuesday, 2026-12-25 a Friday). DST: 2026-03-29 and 2026-10-25.
SHOP = BusinessCalendar.from_brief(load_brief(EXAMPLE_BRIEF))
#: Night shifts on Thursday and Friday, all of Sunday; Friday 2026-12-25 is a holiday.
NIGHT = BusinessCalendar.from_hours(
    BusinessHours.model_validate(
        {
            "weekly": {"thu": ["22:00-02:00"], "fri": ["22:00-02:00"], "sun": ["00:00-24:00"]},
            "holidays": ["2026-12-25"],
        }
    ),
    MADRID,
)
ALWAYS = BusinessCalendar.always_open()
NEVER = BusinessCalendar(MADRID, ((),) * 7)


def md(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A wall-clock time in Madrid."""
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        # the opening instant is open
        (SHOP, md(11, 30, 9), True),
        # the closing instant is closed
        (SHOP, md(11, 30, 18), False),
        # a minute before opening
        (SHOP, md(11, 30, 8, 59), False),
        # Saturday's short hours
        (SHOP, md(11, 28, 12), True),
        # Sunday has no ranges
        (SHOP, md(11, 29, 12), False),
        # a holiday on a weekday (Tuesday 8 December)
        (SHOP, md(12, 8, 12), False),
        # an instant given in UTC: 08:30 UTC is 09:30 in Madrid in winter
        (SHOP, datetime(2026, 11, 30, 8, 30, tzinfo=UTC), True),
        # a night shift before midnight
        (NIGHT, md(11, 26, 23, 30), True),
        # the same shift after midnight, on Friday morning
        (NIGHT, md(11, 27, 1, 30), True),
        # the night shift's end is closed
        (NIGHT, md(11, 27, 2), False),
        # Friday's shift runs into Saturday, which has no ranges of its own
        (NIGHT, md(11, 28, 1), True),
        # Thursday's shift runs into a holiday: the holiday's whole local day is closed
        (NIGHT, md(12, 25, 1), False),
        # the holiday's own shift is closed before midnight...
        (NIGHT, md(12, 25, 23), False),
        # ...and its part after midnight falls on an ordinary Saturday, so it is open
        (NIGHT, md(12, 26, 1), True),
        # 24/7 is open at any instant
        (ALWAYS, md(12, 25, 3), True),
        # a calendar with no ranges is never open
        (NEVER, md(11, 30, 12), False),
    ],
)
def test_is_open(calendar: BusinessCalendar, at: datetime, expected: bool) -> None:
    assert calendar.is_open(at) is expected


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        # already open: the instant itself
        (SHOP, md(11, 30, 10), md(11, 30, 10)),
        # at closing time: the next morning
        (SHOP, md(11, 30, 18), md(12, 1, 9)),
        # Saturday afternoon: Monday morning, over the weekend
        (SHOP, md(11, 28, 15), md(11, 30, 9)),
        # Monday evening before a Tuesday holiday: Wednesday
        (SHOP, md(12, 7, 19), md(12, 9, 9)),
        # Christmas Eve evening, Christmas on a Friday: Saturday's hours
        (SHOP, md(12, 24, 19), md(12, 26, 10)),
        # across the spring DST change: 09:00 in Madrid is 07:00 UTC on Monday, not 08:00
        (SHOP, md(3, 28, 15), datetime(2026, 3, 30, 7, tzinfo=UTC)),
        # a night shift opens the same evening
        (NIGHT, md(11, 26, 12), md(11, 26, 22)),
        # 24/7: the instant itself
        (ALWAYS, md(12, 25, 3), md(12, 25, 3)),
    ],
)
def test_next_open(calendar: BusinessCalendar, at: datetime, expected: datetime) -> None:
    opens = calendar.next_open(at)
    assert opens == expected
    assert opens.tzinfo is UTC


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [
        # one whole working day
        (SHOP, md(11, 30, 8), md(11, 30, 19), 9 * H),
        # an empty interval
        (SHOP, md(11, 30, 12), md(11, 30, 12), timedelta()),
        # Friday's last hour, Saturday's four, Monday's first: the weekend in between
        (SHOP, md(11, 27, 17), md(11, 30, 10), 6 * H),
        # Monday's last hour, the Tuesday holiday, Wednesday's first hour
        (SHOP, md(12, 7, 17), md(12, 9, 10), 2 * H),
        # the DST weekend does not move local hours: Friday, Saturday and Monday
        (SHOP, md(3, 27, 0), md(3, 31, 0), 22 * H),
        # a night shift across midnight, counted from before it opens to after it closes
        (NIGHT, md(11, 26, 21), md(11, 27, 3), 4 * H),
        # inside the night shift, across midnight
        (NIGHT, md(11, 26, 23), md(11, 27, 1), 2 * H),
        # Thursday's shift stops at the holiday; the holiday's after-midnight part counts
        (NIGHT, md(12, 24, 21), md(12, 26, 3), 4 * H),
        # a whole Sunday in spring loses the DST hour
        (NIGHT, md(3, 29, 0), md(3, 30, 0), 23 * H),
        # a whole Sunday in autumn gains it
        (NIGHT, md(10, 25, 0), md(10, 26, 0), 25 * H),
        # 24/7 counts real elapsed time across the DST change
        (ALWAYS, md(3, 28, 12), md(3, 30, 12), 47 * H),
        # a calendar that never opens counts nothing
        (NEVER, md(11, 30, 0), md(12, 7, 0), timedelta()),
    ],
)
def test_business_time(
    calendar: BusinessCalendar, start: datetime, end: datetime, expected: timedelta
) -> None:
    assert calendar.business_time(start, end) == expected
    assert calendar.business_seconds(start, end) == expected.total_seconds()


@pytest.mark.parametrize(
    ("calendar", "start", "delta", "expected"),
    [
        # overnight: one hour tonight, one tomorrow morning
        (SHOP, md(11, 30, 17), 2 * H, md(12, 1, 10)),
        # running out exactly at closing time gives the closing time
        (SHOP, md(11, 30, 10), 8 * H, md(11, 30, 18)),
        # from Saturday's last half hour to Monday, over the closed Sunday
        (SHOP, md(11, 28, 13, 30), H, md(11, 30, 9, 30)),
        # over a Tuesday holiday
        (SHOP, md(12, 7, 17, 30), H, md(12, 9, 9, 30)),
        # started while closed: counting begins at the next opening
        (SHOP, md(11, 29, 12), 30 * M, md(11, 30, 9, 30)),
        # no time to add, even while closed: the start itself
        (SHOP, md(11, 29, 12), timedelta(), md(11, 29, 12)),
        # over the spring DST weekend: 10:00 Madrid on Monday is 08:00 UTC
        (SHOP, md(3, 28, 13), 2 * H, datetime(2026, 3, 30, 8, tzinfo=UTC)),
        # a whole night shift (3 hours from 23:00) and on into Friday's
        (NIGHT, md(11, 26, 23), 3 * H + 30 * M, md(11, 27, 22, 30)),
        # 24/7 across the autumn DST change: 36 real hours
        (ALWAYS, md(10, 24, 12), 36 * H, md(10, 25, 23)),
    ],
)
def test_add_business_time(
    calendar: BusinessCalendar, start: datetime, delta: timedelta, expected: datetime
) -> None:
    due = calendar.add_business_time(start, delta)
    assert due == expected
    assert due.tzinfo is UTC


NAIVE = datetime(2026, 11, 30, 10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # a naive instant names no moment in time
        (lambda: SHOP.is_open(NAIVE), "at must be timezone-aware, got naive 2026-11-30T10:00"),
        # the same for either end of an interval
        (lambda: SHOP.business_time(md(11, 30, 9), NAIVE), "end must be timezone-aware"),
        # an interval that runs backwards
        (lambda: SHOP.business_time(md(11, 30, 9), md(11, 30, 8)), "is before start"),
        # business time only moves forwards
        (lambda: SHOP.add_business_time(md(11, 30, 9), -H), "must not be negative"),
        # a calendar with no ranges has no next opening
        (lambda: NEVER.next_open(md(11, 30, 9)), "never open"),
        # a week has seven days
        (lambda: BusinessCalendar(MADRID, ((),) * 5), "7 days"),
    ],
)
def test_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# -- properties -------------------------------------------------------------------------

calendars = st.sampled_from([SHOP, NIGHT, ALWAYS])
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
deltas = st.timedeltas(min_value=timedelta(), max_value=timedelta(days=30))
PROPERTY = settings(max_examples=200, deadline=None, database=None)


@PROPERTY
@given(calendar=calendars, start=instants, delta=deltas)
def test_adding_then_measuring_gives_the_delta_back(
    calendar: BusinessCalendar, start: datetime, delta: timedelta
) -> None:
    """business_time(a, add_business_time(a, d)) == d, to the microsecond."""
    assert calendar.business_time(start, calendar.add_business_time(start, delta)) == delta


@PROPERTY
@given(calendar=calendars, points=st.lists(instants, min_size=3, max_size=3))
def test_business_time_adds_up_over_consecutive_intervals(
    calendar: BusinessCalendar, points: list[datetime]
) -> None:
    """Splitting an interval anywhere splits its business time the same way."""
    a, b, c = sorted(points)
    whole = calendar.business_time(a, c)
    assert whole == calendar.business_time(a, b) + calendar.business_time(b, c)
    assert whole <= c - a


@PROPERTY
@given(calendar=calendars, points=st.lists(instants, min_size=2, max_size=2))
def test_adding_the_measured_time_never_overshoots(
    calendar: BusinessCalendar, points: list[datetime]
) -> None:
    """The open time between a and b, added to a, lands at b or at the last closing before it."""
    a, b = sorted(points)
    landed = calendar.add_business_time(a, calendar.business_time(a, b))
    assert a <= landed <= b
    assert calendar.business_time(landed, b) == timedelta()
