"""`services.weekly.week`: the ISO week a `--week` names, or a BadWeekError that names the
value and the fix; never an OverflowError from a year the calendar cannot hold."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relaydesk.services.insights import FIRST_YEAR, LAST_YEAR
from relaydesk.services.weekly import BadWeekError, week

MADRID = ZoneInfo("Europe/Madrid")
FAR_EAST = ZoneInfo("Pacific/Kiritimati")  # UTC+14


def test_a_week_is_monday_to_monday_in_the_zone() -> None:
    wk = week("2026-W48", MADRID)
    assert (wk.label, wk.start.isoformat(), wk.end.isoformat()) == (
        "2026-W48",
        "2026-11-23T00:00:00+01:00",
        "2026-11-30T00:00:00+01:00",
    )


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("9999-W52", "week '9999-W52': the year 9999 is out of range (1970 to 9000)"),
        ("0001-W01", "week '0001-W01': the year 1 is out of range (1970 to 9000)"),
        ("0000-W01", "week '0000-W01': the year 0 is out of range (1970 to 9000)"),
        ("1969-W52", "week '1969-W52': the year 1969 is out of range (1970 to 9000)"),
        ("9001-W01", "week '9001-W01': the year 9001 is out of range (1970 to 9000)"),
        ("", "week '': write it as YYYY-Www, e.g. 2026-W48"),
        ("2026-W00", "week '2026-W00': 2026 has no ISO week 0"),
    ],
)
def test_a_week_out_of_range_or_empty_is_refused_by_name(label: str, message: str) -> None:
    with pytest.raises(BadWeekError) as refused:
        week(label, MADRID)
    assert message in str(refused.value)


@pytest.mark.parametrize("label", [f"{FIRST_YEAR}-W01", f"{LAST_YEAR}-W52"])
def test_the_first_and_last_years_are_weeks_with_a_week_before(label: str) -> None:
    for zone in (MADRID, FAR_EAST, ZoneInfo("Pacific/Pago_Pago")):
        wk = week(label, zone)
        assert wk.label == label
        assert wk.end - wk.start == timedelta(days=7)
        week_before = wk.start - timedelta(days=7)  # what the review compares it with
        assert week_before.year >= FIRST_YEAR - 1


@given(year=st.integers(0, 9999), number=st.integers(0, 99))
def test_any_four_digit_week_is_a_week_or_a_bad_week(year: int, number: int) -> None:
    label = f"{year:04d}-W{number:02d}"
    try:
        wk = week(label, FAR_EAST)
    except BadWeekError as exc:
        assert repr(label) in str(exc)
    else:
        assert FIRST_YEAR <= wk.year <= LAST_YEAR
        wk.start - timedelta(days=7)  # no OverflowError for the week before either
