"""`relaydesk rollout`: the gates with their figures, promotion, rollback and the phase.

The rollout's state is in the database; these commands (with the console and the gates)
are how it changes on a live system, never by editing the brief (docs/rollout.md)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click

from relaydesk.cli_support import bad_input, database_for_cli, fail, settings_for_cli, table, when
from relaydesk.domain.rollout import MODES, SEGMENT
from relaydesk.domain.rollout_gates import Figure
from relaydesk.services.rollout import Rollout, RolloutError


@contextmanager
def _service() -> Iterator[Rollout]:
    """The rollout service over the configured database, closed afterwards."""
    from relaydesk.bootstrap import build_rollout
    from relaydesk.brief.loader import load_brief

    settings = settings_for_cli()
    try:
        brief = load_brief(settings.brief)
    except Exception as exc:
        fail(f"the brief {settings.brief} is invalid: {exc}")
    database = database_for_cli()
    try:
        yield build_rollout(database, brief)
    finally:
        database.dispose()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _refused(exc: RolloutError) -> None:
    if exc.status == 422:
        bad_input(str(exc), "rollout_command_refused")
    fail(str(exc))


def _figure(figure: Figure) -> tuple[str, str, str]:
    if figure.value is None:
        return "-", str(figure.n), "-"
    assert figure.low is not None and figure.high is not None
    return f"{figure.value:.2f}", str(figure.n), f"[{figure.low:.2f}, {figure.high:.2f}]"


@click.group()
def rollout() -> None:
    """The rollout: phase, segment, each intent's mode, gates (docs/rollout.md)."""


@rollout.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--changes",
    default=10,
    show_default=True,
    type=click.IntRange(0, 500),
    help="How many of the latest changes to show.",
)
def rollout_status(as_json: bool, changes: int) -> None:
    """Phase, segment, intents' modes, every gate with its figure, sample size and 95 %
    interval, and the latest changes. Judged now; changes nothing."""
    with _service() as service:
        status = service.status(datetime.now(UTC), changes=changes)
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2))
        return
    state = status.state
    segment = state.segment
    click.echo(f"phase: {state.phase} (of {', '.join(status.phases)})")
    parts = [f"{segment.percent} % of customers"]
    for name, values in (
        ("sources", segment.sources),
        ("campaigns", segment.campaigns),
        ("business numbers", segment.business_numbers),
        ("intents", segment.intents),
    ):
        if values:
            parts.append(f"{name}: {', '.join(values)}")
    click.echo(f"segment: {'; '.join(parts)} (since {when(state.segment_since)})")
    days = status.window.total_seconds() / 86400
    click.echo(
        f"window: {days:g} days; automatic promotion: {'on' if status.auto_promote else 'off'}"
    )
    click.echo("")
    table(
        ("intent", "mode", "since"),
        [(i, m, when(state.mode_since.get(i))) for i, m in sorted(state.modes.items())],
    )
    click.echo("")
    rows = []
    for gate in status.gates:
        value, n, interval = _figure(gate.figure)
        verdict = "holds" if gate.holds else ("fails" if gate.measured else "too few")
        rows.append((gate.name, gate.subject or "", value, n, interval, gate.threshold, verdict))
    table(("gate", "intent", "value", "n", "95% interval", "needs", "verdict"), rows)
    if status.changes:
        click.echo("")
        table(
            ("when", "actor", "what", "change", "reason"),
            [
                (when(c.at), c.actor, c.subject, f"{c.before or '-'} -> {c.after}", c.reason)
                for c in status.changes
            ],
        )


@rollout.command("promote")
@click.argument("intent", required=False)
@click.option("--segment", is_flag=True, help="Widen the segment to the next traffic step.")
@click.option("--force", is_flag=True, help="Promote although gates fail (recorded).")
def rollout_promote(intent: str | None, segment: bool, force: bool) -> None:
    """Promote INTENT (off to draft, draft to live) or, with --segment, widen the segment.
    Draft to live and widening need their gates to hold; exit 1 naming those that fail."""
    subject = _subject(intent, segment)
    try:
        with _service() as service:
            change = service.promote(
                subject, actor=_actor(), actor_id=None, now=datetime.now(UTC), force=force
            )
    except RolloutError as exc:
        _refused(exc)
        return
    click.echo(f"{change.subject}: {change.before} -> {change.after} ({change.reason})")


@rollout.command("rollback")
@click.argument("intent", required=False)
@click.option("--segment", is_flag=True, help="Shrink the segment to the traffic step below.")
@click.option(
    "--to", "to", type=click.Choice(MODES[:2]), default=None, help="The intent's new mode."
)
@click.option("--reason", default="by hand", show_default=True, help="Why, for the change log.")
def rollout_rollback(intent: str | None, segment: bool, to: str | None, reason: str) -> None:
    """Take INTENT down a mode (live to draft, draft to off; or --to) or, with --segment,
    shrink the segment a traffic step."""
    subject = _subject(intent, segment)
    if to is not None and subject == SEGMENT:
        bad_input("--to is for an intent's mode; the segment shrinks a step", "rollout_bad_args")
    try:
        with _service() as service:
            change = service.rollback(
                subject,
                actor=_actor(),
                actor_id=None,
                now=datetime.now(UTC),
                to="draft" if to == "draft" else "off" if to == "off" else None,
                reason=reason.strip()[:500] or "by hand",
            )
    except RolloutError as exc:
        _refused(exc)
        return
    click.echo(f"{change.subject}: {change.before} -> {change.after} ({change.reason})")


@rollout.command("phase")
@click.argument("name")
def rollout_phase(name: str) -> None:
    """Move the rollout to phase NAME (one of the brief's `rollout.phases`)."""
    try:
        with _service() as service:
            change = service.set_phase(name, actor=_actor(), actor_id=None, now=datetime.now(UTC))
    except RolloutError as exc:
        _refused(exc)
        return
    click.echo(f"phase: {change.before} -> {change.after}")


def _subject(intent: str | None, segment: bool) -> str:
    if segment == (intent is not None):
        bad_input("name an INTENT or pass --segment (one of them)", "rollout_bad_args")
    return SEGMENT if segment else str(intent)
