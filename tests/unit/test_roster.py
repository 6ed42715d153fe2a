"""Agent rosters for what-if simulations: weekly shifts become online intervals in UTC,
and a roster file's every problem is named with its line."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from relaydesk.adapters.roster import read_roster
from relaydesk.domain.history import HistoryError
from relaydesk.domain.roster import RosterAgent, agents_of, shifts_of

MADRID = ZoneInfo("Europe/Madrid")


def agent(**weekly: tuple[tuple[time, time], ...]) -> RosterAgent:
    days = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
    return RosterAgent(
        "Ana", frozenset({"orders"}), frozenset({"en"}), 2, {days[d]: s for d, s in weekly.items()}
    )


def test_weekly_shifts_become_utc_intervals() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)  # a Wednesday
    end = datetime(2026, 12, 3, tzinfo=UTC)
    shifts = shifts_of([agent(wed=((time(9), time(17)),))], MADRID, start, end)
    assert shifts == {
        1: [(datetime(2026, 12, 2, 8, tzinfo=UTC), datetime(2026, 12, 2, 16, tzinfo=UTC))]
    }


def test_an_overnight_shift_ends_the_next_day() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)
    shifts = shifts_of([agent(wed=((time(22), time(6)),))], MADRID, start, start)
    assert shifts[1] == [
        (datetime(2026, 12, 2, 21, tzinfo=UTC), datetime(2026, 12, 3, 5, tzinfo=UTC))
    ]


def test_agents_without_shifts_are_online_throughout() -> None:
    roster = [agent(), agent(mon=((time(9), time(10)),))]
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert set(shifts_of(roster, MADRID, start, start)) == {2}
    first, second = agents_of(roster)
    assert (first.id, second.id, first.capacity, first.presence.value) == (1, 2, 2, "online")


def test_a_roster_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "agents:\n"
        "  - name: Ana\n"
        "    skills: [orders, refunds]\n"
        "    languages: [en, es]\n"
        "    capacity: 3\n"
        "    shifts:\n"
        "      mon-fri: '09:00-17:00'\n"
        "      sat: ['10:00-12:00', '16:00-24:00']\n"
        "  - {name: Luis, skills: [app]}\n"
    )
    ana, luis = read_roster(path)
    assert ana.capacity == 3 and ana.skills == {"orders", "refunds"}
    assert ana.weekly[0] == ((time(9), time(17)),) and 6 not in ana.weekly
    assert ana.weekly[5] == ((time(10), time(12)), (time(16), time(0)))
    assert (luis.capacity, luis.weekly) == (1, {})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("agents: []\n", "roster.yaml:1: a roster is `agents:`"),
        ("agents:\n  - {name: Ana, capacity: 0}\n", "roster.yaml:2: capacity 0 must be"),
        ("agents:\n  - {name: Ana, shift: x}\n", "roster.yaml:2: unknown key 'shift'"),
        ("agents:\n  - {name: Ana, shifts: {moon: '09:00-17:00'}}\n", "shift days 'moon'"),
        ("agents:\n  - {name: Ana, shifts: {mon: '9 to 5'}}\n", "shift hours '9 to 5' must look"),
        ("agents:\n  - {name: Ana, skills: orders}\n", "skills is a list of names"),
        ("agents:\n  - {skills: [orders]}\n", "roster.yaml:2: the agent needs a name"),
    ],
)
def test_bad_roster_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(text)
    with pytest.raises(HistoryError) as caught:
        read_roster(path)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
