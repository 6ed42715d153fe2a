"""`relaydesk report weekly` (the weekly review as Markdown and HTML files) and
`relaydesk demo seed` (a synthetic history to show and measure them on)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relaydesk.cli_support import bad_input, database_for_cli, settings_for_cli

if TYPE_CHECKING:
    from relaydesk.brief.schema import Brief
    from relaydesk.config import Settings
    from relaydesk.services.weekly import Week


@click.group()
def report() -> None:
    """Reports on the live service's conversations."""


@report.command("weekly")
@click.option(
    "--week",
    "week_label",
    metavar="YYYY-Www",
    help="The ISO week, e.g. 2026-W48 [default: the last complete week].",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory the files are written to (created if missing).",
)
def weekly(week_label: str | None, out: Path) -> None:
    """Write weekly-YYYY-Www.md and .html: the scorecard against last week and the
    brief's kpi_targets, cohorts by source, intent and business number, the top failure
    intents, conversations to calibrate and the week's change log, each section with the
    brief's owner who acts on it."""
    from relaydesk.reports.weekly import render_html, render_markdown
    from relaydesk.services.weekly import review

    settings = settings_for_cli()
    now = datetime.now(UTC)
    brief, wk = _brief_and_week(settings, week_label, now, "weekly_report_refused")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        bad_input(f"--out {out}: cannot create it ({exc.strerror})", "weekly_report_refused")
    from relaydesk.services.content_gaps import default_encoder

    db = database_for_cli()
    try:
        data = review(db, brief, wk, now, default_encoder())
    finally:
        db.dispose()
    markdown = out / f"weekly-{wk.label}.md"
    html = out / f"weekly-{wk.label}.html"
    markdown.write_text(render_markdown(data), encoding="utf-8")
    html.write_text(render_html(data), encoding="utf-8")
    click.echo(f"{data.conversations} conversations in {wk.label}: wrote {markdown} and {html}")


@report.command("gaps")
@click.option("--week", "week_label", metavar="YYYY-Www",
              help="The ISO week [default: the last complete week].")  # fmt: skip
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The YAML file of candidate intents to write.",
)
def gaps(week_label: str | None, out: Path) -> None:
    """Content gaps: the week's messages the bot could not answer (out of scope,
    clarified, escalated for low confidence), grouped by meaning, written as candidate
    intents with their example messages for the brief."""
    from relaydesk.services import content_gaps

    settings = settings_for_cli()
    now = datetime.now(UTC)
    _, wk = _brief_and_week(settings, week_label, now, "gaps_report_refused")
    if not out.parent.is_dir():
        bad_input(f"--out {out}: the directory {out.parent} does not exist", "gaps_report_refused")
    encode, method = content_gaps.default_encoder()
    db = database_for_cli()
    try:
        found, unanswered = content_gaps.find(db, wk.start, wk.end, encode)
    finally:
        db.dispose()
    out.write_text(content_gaps.as_yaml(found, wk.label), encoding="utf-8")
    for gap in found[:20]:
        click.echo(f"{gap.count:5d}  {gap.name}  e.g. {gap.examples[0]!r}")
    click.echo(
        f"{unanswered} unanswered messages in {wk.label}, {len(found)} groups ({method}): "
        f"wrote {out}"
    )


def _brief_and_week(
    settings: Settings, week_label: str | None, now: datetime, event: str
) -> tuple[Brief, Week]:
    """The brief and the week a report is about (`--week`, else the last complete week);
    bad input (an empty, malformed, out of range or future week) exits 2 with `event`
    logged, before anything is written."""
    from relaydesk.brief.loader import BriefError, load_brief
    from relaydesk.services.weekly import BadWeekError, last_complete_week, week

    if week_label is not None and not week_label.strip():
        bad_input(
            f"--week {week_label!r} is empty: give an ISO week such as 2026-W48, or leave "
            "--week out for the last complete week",
            event,
        )
    try:
        brief = load_brief(settings.brief)
    except BriefError as exc:
        bad_input(f"the brief {settings.brief} is invalid:\n{exc}", event)
    try:
        wk = (
            week(week_label, brief.timezone)
            if week_label is not None
            else last_complete_week(now, brief.timezone)
        )
    except BadWeekError as exc:
        bad_input(f"--week: {exc}", event)
    if wk.start > now:
        bad_input(f"--week {wk.label} has not started yet; pick a past week", event)
    return brief, wk


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@click.option(
    "--conversations",
    "count",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="How many conversations to add.",
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 520),
    default=4,
    show_default=True,
    help="They start at random over this many weeks before now.",
)
@click.option("--seed", "random_seed", type=int, default=1, show_default=True,
              help="The same seed makes the same history.")  # fmt: skip
def demo_seed(count: int, weeks: int, random_seed: int) -> None:
    """Add a synthetic history (customers, agents, conversations with messages, decisions,
    escalations, replies, CSAT and feedback) for demos and benchmarks. Not for a database
    with real customers: the rows are indistinguishable from theirs in the figures."""
    from relaydesk.brief.loader import BriefError, load_brief
    from relaydesk.services.demo_seed import seed

    settings = settings_for_cli()
    try:
        brief = load_brief(settings.brief)
    except BriefError as exc:
        bad_input(f"the brief {settings.brief} is invalid:\n{exc}", "demo_seed_refused")
    db = database_for_cli()
    try:
        done = seed(
            db,
            brief,
            conversations_wanted=count,
            now=datetime.now(UTC),
            weeks=weeks,
            random_seed=random_seed,
        )
    finally:
        db.dispose()
    click.echo(
        f"added {done.conversations} conversations, {done.messages} messages, "
        f"{done.decisions} decisions and {done.customers} customers"
    )
