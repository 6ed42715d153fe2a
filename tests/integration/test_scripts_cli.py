"""`relaydesk test`: the example brief's own scripts pass (the same scripts
tests/acceptance/test_conversations.py sends through the whole app as webhooks), a failing
expectation is shown with its file:line and exits 1, bad scripts exit 2 and run nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF

SCRIPTS = sorted((EXAMPLE_BRIEF.parent / "scripts").glob("*.yaml"))
#: a Wednesday morning in Madrid: the example shop is open
OPEN = "2026-12-02T11:00:00+01:00"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["test", *map(str, args)], catch_exceptions=False)


def test_the_example_brief_passes_its_own_scripts() -> None:
    assert len(SCRIPTS) >= 10
    result = run(*SCRIPTS, "--at", OPEN)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("105 passed, 0 failed")


def test_a_failing_expectation_names_the_turn_and_what_differs(tmp_path: Path) -> None:
    script = tmp_path / "mine.yaml"
    script.write_text(
        "- name: greeting then a refund request\n"
        "  turns:\n"
        "    - say: hi there\n"
        "      expect: {action: answer, intent: greeting, reply: Northwind}\n"
        "    - say: the lamp arrived broken, I want my money back\n"
        "      expect: {action: answer, queue: technical, buttons: [Yes]}\n"
        "- name: a person on request\n"
        "  turns:\n"
        "    - say: I want to talk to a real person\n"
        "      expect: {action: escalate, trigger: human_request, queue: general}\n"
    )
    result = run(script, "--at", OPEN)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"FAIL  greeting then a refund request  ({script}:1)"
    assert f"        {script}:5: action escalate, expected answer" in lines
    assert f"        {script}:5: queue billing, expected technical" in lines
    assert any(line.startswith(f"        {script}:5: buttons Yes not offered") for line in lines)
    assert f"PASS  a person on request  ({script}:7)" in lines
    assert lines[-1].startswith("1 passed, 1 failed")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "- name: x\n  turns:\n    - say: hi\n      expect: {action: reply}\n",
            ":3: expect.action 'reply' is not one of answer, clarify, escalate",
        ),
        (
            "- name: x\n  turns:\n    - say: hi\n      tap: human\n"
            "      expect: {action: answer}\n",
            ":3: a turn has exactly one of say, tap or send",
        ),
        (
            "- name: x\n  turns:\n    - say: hi\n"
            "      expect: {action: answer, intnet: greeting}\n",
            ":3: unknown key 'intnet'; did you mean intent?",
        ),
        ("- name: x\n  turns:\n    - say: hi\n", ":3: the turn needs expect"),
        ("- name: x\n  turns: []\n", ":1: the script needs turns"),
        ("name: x\n", ":1: a script file is a list of scripts"),
        ("- name: x\n  turns:\n    - say: [unclosed\n", ":4: not valid YAML"),
        (
            "- name: x\n  attributes: {vip: true}\n  turns:\n    - say: hi\n"
            "      expect: {action: answer}\n",
            ":1: attributes must map names to quoted text",
        ),
    ],
)
def test_bad_scripts_exit_2_and_run_nothing(tmp_path: Path, content: str, problem: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(content)
    result = run(script)
    assert result.exit_code == 2, result.output
    assert f"{script}{problem}" in result.output, result.output
    assert "none ran" in result.output
    assert "PASS" not in result.output


def test_bad_options_exit_2(tmp_path: Path) -> None:
    result = run(SCRIPTS[0], "--at", "tomorrow")
    assert result.exit_code == 2 and "--at 'tomorrow' is not an ISO 8601 time" in result.output
    result = run(SCRIPTS[0], "--at", "2026-12-02T11:00")
    assert result.exit_code == 2 and "has no time zone" in result.output
    result = run(tmp_path / "missing.yaml")
    assert result.exit_code == 2 and "missing.yaml: no such file" in result.output
