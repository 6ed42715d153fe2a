"""`relaydesk kb report`: the knowledge-base articles that keep failing."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from relaydesk.cli_support import bad_input, database_for_cli


@click.group()
def kb() -> None:
    """The brief's knowledge base (docs/knowledge-base.md)."""


@kb.command("report")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="How far back: a number of days (30d), hours (12h) or a date (2026-11-01).",
)
@click.option("--min-failures", type=click.IntRange(min=1), default=2, show_default=True,
              help="Failed answers an article needs to be reported as failing.")  # fmt: skip
@click.option("--min-rate", type=click.FloatRange(0.0, 1.0), default=0.3, show_default=True,
              help="Share of its answers that must have failed.")  # fmt: skip
def report(since: str, min_failures: int, min_rate: float) -> None:
    """Every article that answered customers since --since, with how many answers were
    followed by an escalation in the same conversation or a thumbs-down (CSAT rating of 2
    or less); the ones at or above --min-failures and --min-rate are marked FAILING.
    Exit 0 (also when some fail), 2 bad input."""
    from relaydesk.adapters.storage.knowledge import decisions_between
    from relaydesk.cli_replay import _since
    from relaydesk.domain.knowledge_report import article_records, failing

    now = datetime.now(UTC)
    start = _since(since, now)
    if start >= now:
        bad_input(f"--since {since!r} is in the future; give a past date", "kb_report_refused")
    database = database_for_cli()
    try:
        with database.read() as conn:
            rows, ratings = decisions_between(conn, start, now)
    finally:
        database.dispose()
    records = article_records(rows, ratings)
    bad = {r.article for r in failing(records, min_failures, min_rate)}
    for r in records:
        mark = "FAILING" if r.article in bad else "ok     "
        click.echo(
            f"{mark} {r.article}  answers {r.answers}, escalated after {r.escalated}, "
            f"thumbs-down {r.thumbs_down} ({r.failure_rate:.0%} failed)"
            + (f"; conversations {', '.join(map(str, r.conversations[-5:]))}" if r.failures else "")
        )
    click.echo(
        f"{len(records)} article(s) answered since {start:%Y-%m-%d %H:%M} UTC; "
        f"{len(bad)} failing (>= {min_failures} failed answers and >= {min_rate:.0%})"
    )
