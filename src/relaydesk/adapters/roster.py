"""Reading an agent roster file (YAML) for what-if simulations:

    agents:
      - name: Ana
        skills: [orders, billing]      # queues' skills the agent has
        languages: [en, es]
        capacity: 3                    # conversations at once (default 1)
        shifts:                        # optional, local times in the brief's time zone;
          mon-fri: "09:00-17:00"       # without shifts the agent is online throughout
          sat: ["10:00-14:00"]

Every problem is reported as `file:line: what is wrong` in one `HistoryError`."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from relaydesk.domain.history import HistoryError
from relaydesk.domain.roster import WEEKDAYS, RosterAgent

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
AGENT_KEYS = ("name", "skills", "languages", "capacity", "shifts")


def read_roster(path: Path) -> list[RosterAgent]:
    try:
        tree = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HistoryError([f"{path}: no such roster file"]) from None
    except (UnicodeDecodeError, YAMLError) as exc:
        raise HistoryError([f"{path}: not a YAML roster ({exc}); see docs/replay.md"]) from None
    agents = tree.get("agents") if isinstance(tree, CommentedMap) else None
    if not isinstance(agents, CommentedSeq) or not agents:
        raise HistoryError([f"{path}:1: a roster is `agents:` followed by a list of agents"])
    problems: list[str] = []
    roster: list[RosterAgent] = []
    for index, raw in enumerate(agents):
        where = f"{path}:{agents.lc.item(index)[0] + 1}"
        agent = _agent(raw, where, problems)
        if agent is not None:
            roster.append(agent)
    if problems:
        raise HistoryError(problems)
    return roster


def _agent(raw: Any, where: str, problems: list[str]) -> RosterAgent | None:
    if not isinstance(raw, CommentedMap):
        problems.append(f"{where}: an agent is a mapping with name, skills, languages, capacity")
        return None
    before = len(problems)
    for key in raw:
        if key not in AGENT_KEYS:
            problems.append(f"{where}: unknown key {key!r}; use {', '.join(AGENT_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: the agent needs a name")
    lists = {}
    for key in ("skills", "languages"):
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: {key} is a list of names, e.g. [orders, billing]")
            value = []
        lists[key] = frozenset(value)
    capacity = raw.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        problems.append(f"{where}: capacity {capacity!r} must be a whole number, 1 or more")
    weekly = _shifts(raw.get("shifts"), where, problems)
    if len(problems) > before:
        return None
    return RosterAgent(str(name), lists["skills"], lists["languages"], int(capacity), weekly)


def _shifts(raw: Any, where: str, problems: list[str]) -> dict[int, tuple[tuple[time, time], ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f'{where}: shifts map days to hours, e.g. {{mon-fri: "09:00-17:00"}}')
        return {}
    weekly: dict[int, list[tuple[time, time]]] = {}
    for days, hours in raw.items():
        found = _days(str(days))
        if found is None:
            problems.append(
                f"{where}: shift days {days!r} are not a day or range of {', '.join(WEEKDAYS)}"
            )
            continue
        for span in hours if isinstance(hours, list) else [hours]:
            parsed = _span(str(span))
            if parsed is None:
                problems.append(f'{where}: shift hours {span!r} must look like "09:00-17:00"')
                continue
            for day in found:
                weekly.setdefault(day, []).append(parsed)
    return {day: tuple(spans) for day, spans in weekly.items()}


def _days(text: str) -> list[int] | None:
    parts = [p.strip().lower()[:3] for p in text.split("-")]
    if not all(p in WEEKDAYS for p in parts) or len(parts) > 2:
        return None
    first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[-1])
    return list(range(first, last + 1)) if first <= last else None


def _span(text: str) -> tuple[time, time] | None:
    found = _SPAN.match(text)
    if not found:
        return None
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        return None
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
