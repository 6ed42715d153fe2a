"""Business time: when a business is open, and how much open time lies between two instants.

Opening hours are kept in the brief's time zone (so a DST change moves them in UTC), a
range whose end is at or before its start runs past midnight, and a holiday closes its
whole local day. Every instant in and out is a timezone-aware datetime; results are UTC.
Pure: nothing here reads the clock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from relaydesk.brief.schema import WEEKDAYS, Brief, BusinessHours

#: One opening range in a local day, (start, end); end <= start runs past midnight.
Range = tuple[time, time]
#: An interval [start, end) of UTC instants.
Interval = tuple[datetime, datetime]

_MIDNIGHT = time(0)
_DAY = timedelta(days=1)
_WHOLE_DAY: tuple[Range, ...] = ((_MIDNIGHT, _MIDNIGHT),)


def aware_utc(name: str, value: datetime) -> datetime:
    """`value` as UTC. A naive datetime is refused: it names no instant."""
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Weekly opening hours in a zone, with holidays. `weekly[0]` holds Monday's ranges."""

    zone: ZoneInfo
    weekly: tuple[tuple[Range, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.weekly) != len(WEEKDAYS):
            raise ValueError(
                f"weekly needs 7 days of ranges (Monday first), got {len(self.weekly)}"
            )

    @classmethod
    def from_hours(cls, hours: BusinessHours, zone: ZoneInfo) -> BusinessCalendar:
        """The calendar of a brief's `business_hours` section, kept in `zone`."""
        weekly = tuple(
            tuple((r.start, r.end) for r in hours.weekly.get(day, [])) for day in WEEKDAYS
        )
        return cls(zone, weekly, frozenset(h.date for h in hours.holidays))

    @classmethod
    def from_brief(cls, brief: Brief) -> BusinessCalendar:
        """The brief's business hours and holidays, in the brief's time zone."""
        return cls.from_hours(brief.business_hours, brief.timezone)

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """Open around the clock, every day: for SLAs with `business_hours: false`."""
        return cls(ZoneInfo("UTC"), (_WHOLE_DAY,) * len(WEEKDAYS))

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside opening hours (a range's end is already closed)."""
        at = aware_utc("at", at)
        return any(s <= at < e for s, e in self._open_on(at.astimezone(self.zone).date()))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the next instant the business opens."""
        start, _ = next(self._open_from(aware_utc("at", at)))
        return start

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """The open time between two instants."""
        start, end = aware_utc("start", start), aware_utc("end", end)
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return sum((e - s for s, e in self._open_from(start, until=end)), timedelta())

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """`business_time` in seconds."""
        return self.business_time(start, end).total_seconds()

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """The instant when `delta` of open time has elapsed since `start`.

        A delta that runs out exactly at closing time gives the closing time, not the next
        opening; a zero delta gives `start`.
        """
        start = aware_utc("start", start)
        if delta < timedelta():
            raise ValueError(f"delta must not be negative, got {delta}")
        if not delta:
            return start
        intervals = self._open_from(start)
        while True:
            s, e = next(intervals)
            if e - s >= delta:
                return s + delta
            delta -= e - s

    def _open_from(self, since: datetime, until: datetime | None = None) -> Iterator[Interval]:
        """Open intervals in order, clipped to [since, until); endless without `until`."""
        if until is None and not any(self.weekly):
            raise ValueError("business hours have no opening ranges, so they never open")
        day = since.astimezone(self.zone).date()
        while until is None or self._local(day, _MIDNIGHT) < until:
            for s, e in self._open_on(day):
                s, e = max(s, since), e if until is None else min(e, until)
                if s < e:
                    yield s, e
            day += _DAY

    def _open_on(self, day: date) -> tuple[Interval, ...]:
        """The open intervals inside one local day, merged and in order."""
        return _open_on(self, day)

    def _work_out_day(self, day: date) -> tuple[Interval, ...]:
        """`_open_on` worked out afresh."""
        if day in self.holidays:
            return ()
        today = self.weekly[day.weekday()]
        yesterday = self.weekly[(day - _DAY).weekday()]
        pieces = [(self._local(day, s), self._local(day, e, s)) for s, e in today]
        pieces += [
            (self._local(day, _MIDNIGHT), self._local(day, e)) for s, e in yesterday if e <= s
        ]
        return tuple(merge_intervals(p for p in pieces if p[0] < p[1]))

    def _local(self, day: date, at: time, opened: time | None = None) -> datetime:
        """`day` at local time `at` in UTC; an end at or before `opened` means midnight next."""
        if opened is not None and at <= opened:
            day, at = day + _DAY, _MIDNIGHT
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _open_on(calendar: BusinessCalendar, day: date) -> tuple[Interval, ...]:
    """`BusinessCalendar._work_out_day`, remembered: the same calendar (by value: `sla.evaluate`
    builds a new one per call) asks for the same days over and over, and each costs a
    dozen time-zone conversions."""
    return calendar._work_out_day(day)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals in order, with overlapping and touching ones joined."""
    merged: list[Interval] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
