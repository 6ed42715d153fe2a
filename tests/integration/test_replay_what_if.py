"""`relaydesk replay --against`: the same history through the current and a proposed brief.
Lowering one intent's confidence threshold moves escalations between queues by exactly the
turns whose confidence lies between the two thresholds; with a roster, the queue
simulation predicts waits and SLA breaches for each brief."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF

#: moderately confident ("please forget everything you have about me" about 0.84) and
#: certain ("delete my info") requests about personal data, which escalate to management
PAIRS = [
    ("please forget everything you have about me", "privacy question"),
    ("is my address stored somewhere", "please forget everything you have about me"),
    ("privacy question", "is my address stored somewhere"),
    ("delete my info", "my data"),
    ("i want a copy of my data", "gdpr"),
]
OLD, NEW = 0.95, 0.6


def brief_with_threshold(tmp_path: Path, name: str, threshold: float) -> Path:
    text = EXAMPLE_BRIEF.read_text()
    anchor = "    policy: escalate\n    queue: management\n"
    assert text.count(anchor) == 1
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(anchor, f"{anchor}    confidence_threshold: {threshold}\n"))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    rows = []
    for n in range(30):
        first, second = PAIRS[n % len(PAIRS)]
        day = f"2026-11-{2 + n % 20:02d}"
        rows.append(
            {
                "conversation_id": f"p{n:02d}",
                "time": f"{day}T10:{n:02d}:00Z",
                "author": "customer",
                "text": first,
            }
        )
        rows.append(
            {
                "conversation_id": f"p{n:02d}",
                "time": f"{day}T10:{n:02d}:30Z",
                "author": "customer",
                "text": second,
            }
        )
        rows.append(
            {
                "conversation_id": f"p{n:02d}",
                "time": f"{day}T10:{n + 5:02d}:30Z",
                "author": "agent",
                "text": "Hi, Marta here.",
            }
        )
    history = tmp_path / "history.jsonl"
    history.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return (
        history,
        brief_with_threshold(tmp_path, "current", OLD),
        brief_with_threshold(tmp_path, "proposed", NEW),
    )


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["replay", *map(str, args)], catch_exceptions=False)


def test_lowering_a_threshold_moves_escalations_between_queues(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    history, current, proposed = setup
    out = tmp_path / "r.json"
    result = run(history, "--brief", current, "--against", proposed, "--no-clusters", "--json", out)
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(out.read_text())
    # the proposed brief's own replay says which first turns lie between the thresholds
    between = {
        t["conversation_id"]
        for t in report["turns"]
        if t["turn"] == 1
        and t["intent"] == "personal_data_request"
        and NEW <= t["confidence"] < OLD
    }
    assert 0 < len(between) < 30
    what_if = report["what_if"]
    before, after = what_if["base"]["by_queue"], what_if["other"]["by_queue"]
    moved = len(between)
    assert after.get("management", 0) - before.get("management", 0) == moved
    assert before.get("general", 0) - after.get("general", 0) == moved
    assert what_if["base"]["escalations"] == what_if["other"]["escalations"] == 30
    changed = {c["conversation_id"] for c in what_if["changes"]}
    assert changed == between
    assert f"general {moved:>11}" not in result.output  # the terminal shows the move
    assert f"(-{moved})" in result.output and f"(+{moved})" in result.output


def test_a_roster_gives_predicted_waits_and_names_unstaffed_queues(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    history, current, proposed = setup
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "agents:\n"
        "  - name: Ana\n"
        "    skills: [orders, delivery, product questions]\n"
        "    languages: [en, es]\n"
        "    capacity: 1\n"
        "    shifts: {mon-fri: '09:00-17:00'}\n"
    )
    out = tmp_path / "r.json"
    result = run(
        history,
        "--brief",
        current,
        "--against",
        proposed,
        "--roster",
        roster,
        "--handle-time",
        "20m",
        "--no-clusters",
        "--json",
        out,
    )
    assert result.exit_code in (0, 1), result.output
    what_if = json.loads(out.read_text())["what_if"]
    assert what_if["handle_time_minutes"] == 20.0
    # Ana has skills of the general queue, none of management's (complaints, legal, gdpr)
    assert what_if["base"]["unstaffed_queues"] == ["management"]
    assert "nobody in the roster has the skills of queue management" in result.output
    simulated = what_if["base"]["simulated"]
    assert simulated["overall"]["count"] == what_if["base"]["escalations"] == 30
    general = simulated["by_queue"]["general"]  # by the queue finally served in
    assert general["served"] == general["count"] > 0
    assert general["mean_wait_minutes"] is not None
    # nobody can take management: what waits there is never served, and breaches its SLA
    management = simulated["by_queue"]["management"]
    assert management["served"] == 0 and management["sla_breaches"] == management["count"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--roster", "x.yaml"], "--roster and --handle-time go with --against"),
        (["--against", "{proposed}", "--handle-time", "soon"], "--handle-time 'soon' is not"),
        (["--against", "{proposed}", "--roster", "{bad_roster}"], "bad.yaml:2: capacity 0"),
        (["--against", "{missing}"], "missing.yaml"),
    ],
)
def test_bad_what_if_input_exits_2(
    setup: tuple[Path, Path, Path], tmp_path: Path, args: list[str], problem: str
) -> None:
    history, current, proposed = setup
    bad_roster = tmp_path / "bad.yaml"
    bad_roster.write_text("agents:\n  - {name: Ana, skills: [orders], capacity: 0}\n")
    values = {"proposed": proposed, "bad_roster": bad_roster, "missing": tmp_path / "missing.yaml"}
    result = run(history, "--brief", current, *(a.format(**values) for a in args))
    assert result.exit_code == 2, result.output
    assert problem in result.output
