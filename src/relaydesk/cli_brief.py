"""`relaydesk brief record|log|diff`: the brief's stored versions and their diffs."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from relaydesk.cli_support import bad_input, database_for_cli, settings_for_cli, table, when


@click.command("record")
@click.option(
    "--author",
    envvar="RELAYDESK_BRIEF_AUTHOR",
    show_envvar=True,
    help="Who wrote this brief (a name or an email).",
)
@click.option(
    "--message",
    "-m",
    envvar="RELAYDESK_BRIEF_MESSAGE",
    show_envvar=True,
    help="Why the brief changed.",
)
def brief_record(author: str | None, message: str | None) -> None:
    """Store the brief at RELAYDESK_BRIEF as a version (with its diff against the last
    one), before the processes that run it start; a stored content is left as it is."""
    from relaydesk.brief.loader import BriefError, load_brief_and_source
    from relaydesk.services.change_log import MAX_AUTHOR, record_brief

    settings = settings_for_cli()
    if author is not None and len(author.strip()) > MAX_AUTHOR:
        bad_input(
            f"--author is {len(author.strip())} characters; give at most {MAX_AUTHOR}",
            "brief_record_refused",
        )
    try:
        _, source = load_brief_and_source(settings.brief)
    except BriefError as exc:
        bad_input(f"the brief {settings.brief} is invalid:\n{exc}", "brief_record_refused")
    db = database_for_cli()
    try:
        recorded = record_brief(
            db, source, settings.brief, author=author, message=message, now=datetime.now(UTC)
        )
    finally:
        db.dispose()
    if recorded.created:
        click.echo(f"stored brief version {recorded.version}")
    else:
        click.echo(f"brief version {recorded.version} was stored already; nothing changed")


@click.command("log")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many versions, newest first.")  # fmt: skip
def brief_log(limit: int) -> None:
    """The stored brief versions, newest first: when, who, why, lines changed and how
    many decisions each made."""
    from relaydesk.adapters.storage import brief_versions as store
    from relaydesk.services.change_log import line_counts

    db = database_for_cli()
    try:
        with db.read() as conn:
            versions = store.history(conn, limit)
            made = store.decision_counts(conn, [v.version for v in versions])
    finally:
        db.dispose()
    if not versions:
        click.echo("no brief version is stored yet (a process stores the brief it loads)")
        return
    rows = []
    for v in versions:
        added, removed = line_counts(v.diff)
        rows.append(
            [
                v.version,
                when(v.created_at),
                v.author or "-",
                "first" if v.previous_version is None else f"+{added} -{removed}",
                str(made.get(v.version, 0)),
                (v.message or "-").splitlines()[0] if v.message else "-",
            ]
        )
    table(["version", "stored", "author", "change", "decisions", "message"], rows)


@click.command("diff")
@click.argument("a")
@click.argument("b")
def brief_diff(a: str, b: str) -> None:
    """The unified diff from stored version A to stored version B (a hash, or its first
    characters as `relaydesk brief log` shows them)."""
    from relaydesk.services.change_log import UnknownVersionError, diff

    db = database_for_cli()
    try:
        with db.read() as conn:
            text = diff(conn, a, b)
    except UnknownVersionError as exc:
        bad_input(str(exc), "brief_diff_refused")
    finally:
        db.dispose()
    click.echo(text or f"versions {a} and {b} have the same content", nl=bool(not text))
