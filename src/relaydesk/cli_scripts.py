"""`relaydesk test`: run operator test scripts against a brief."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from relaydesk.cli_support import bad_input

PASSED, FAILED = 0, 1  # and cli_support.BAD_INPUT (2)


def _bad_input(message: str) -> NoReturn:
    bad_input(message, "scripts_bad_input")


@click.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--brief",
    "brief_path",
    type=click.Path(path_type=Path),
    help="The brief to test [default: RELAYDESK_BRIEF, else the example brief].",
)
@click.option(
    "--at",
    "at",
    help="When the conversations happen, ISO 8601 (business hours and handoff copy depend "
    "on it) [default: now].",
)
@click.option("-v", "--verbose", is_flag=True, help="Show every turn, not only failures.")
def test(files: tuple[Path, ...], brief_path: Path | None, at: str | None, verbose: bool) -> None:
    """Run the multi-turn test SCRIPTS (YAML, see docs/scripts.md) against the brief: each
    turn is decided as the webhook path decides it, nothing is sent. Exit code: 0 every
    script passed, 1 some failed, 2 bad input."""
    from relaydesk.adapters.scripts import read_scripts
    from relaydesk.brief.loader import BriefError, load_brief
    from relaydesk.cli_support import settings_for_cli
    from relaydesk.domain.scripts import ScriptError
    from relaydesk.services.decider import BriefDecider
    from relaydesk.services.scripts import run_scripts

    start = _when(at)
    brief_file = brief_path or settings_for_cli().brief
    try:
        brief = load_brief(brief_file)
    except BriefError as exc:
        _bad_input(f"the brief cannot be used:\n{exc}")
    except OSError as exc:
        _bad_input(f"{brief_file}: {exc.strerror or exc}")
    try:
        scripts = read_scripts(files)
    except ScriptError as exc:
        _bad_input(
            f"{len(exc.problems)} problem(s) in the scripts; none ran:\n" + "\n".join(exc.problems)
        )
    decider = BriefDecider.from_brief(brief)
    results = run_scripts(scripts, decider, start)
    failed = 0
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        click.echo(f"{mark}  {result.script.name}  ({result.script.source})")
        failed += not result.passed
        for number, turn in enumerate(result.turns, 1):
            if turn.problems or verbose:
                said = f"{turn.turn.kind} {turn.turn.value!r}"
                got = turn.observed
                click.echo(
                    f"      turn {number} {said}: {got.action}"
                    + (f" {got.intent}" if got.intent else "")
                    + (f" -> {got.queue}" if got.queue else "")
                )
                for problem in turn.problems:
                    click.echo(f"        {turn.turn.source}: {problem}")
    click.echo(f"\n{len(results) - failed} passed, {failed} failed, brief {brief.version}")
    sys.exit(FAILED if failed else PASSED)


def _when(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _bad_input(f"--at {value!r} is not an ISO 8601 time: use e.g. 2026-12-02T11:00+01:00")
    if moment.tzinfo is None:
        _bad_input(f"--at {value!r} has no time zone: add one, e.g. {value}+01:00 or {value}Z")
    return moment.astimezone(UTC)
