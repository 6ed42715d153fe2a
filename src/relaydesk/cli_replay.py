"""`relaydesk replay`: is the brief ready to launch? Replays past conversations through it
and scores every bot turn; `relaydesk replay export` writes Relaydesk's own history."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from relaydesk.cli_support import bad_input

#: exit codes, for CI
READY, NOT_READY = 0, 1  # and cli_support.BAD_INPUT (2)


def _bad_input(message: str) -> NoReturn:
    bad_input(message, "replay_bad_input")


class _RunByDefault(click.Group):
    """`relaydesk replay FILES...` is `relaydesk replay run FILES...`."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_RunByDefault)
def replay() -> None:
    """Pre-launch replay: run past conversations through the brief and score it.

    relaydesk replay HISTORY... replays and scores (the same as `replay run`);
    relaydesk replay export writes Relaydesk's own conversations as a history file."""


@replay.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--brief",
    "brief_path",
    type=click.Path(path_type=Path),
    help="The brief to check [default: RELAYDESK_BRIEF, else the example brief].",
)
@click.option(
    "--business-name",
    help="In WhatsApp chat exports (.txt): the name the business's own lines carry.",
)
@click.option(
    "--timezone",
    "timezone",
    help="Time zone of times written without one (chat exports, naive ISO times) "
    "[default: the brief's business.timezone].",
)
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    help="Chat exports whose dates do not tell: day first (dmy) or month first (mdy).",
)
@click.option(
    "--ratings",
    "ratings_path",
    type=click.Path(path_type=Path),
    help="CSV of people's scores (conversation_id,turn,accuracy,tone,actionability; 0-2, "
    "empty: not rated). They override the automatic scores; the report shows the agreement.",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write JSON here.")
@click.option(
    "--html", "html_path", type=click.Path(path_type=Path), help="Write the HTML report here."
)
@click.option(
    "--against",
    "against_path",
    type=click.Path(path_type=Path),
    help="What-if: also replay through this proposed brief and show what the change fixed "
    "and broke, escalations per queue, priority and hour, and the predicted queue waits and "
    "SLA breaches. The exit code is then the proposed brief's verdict.",
)
@click.option(
    "--roster",
    help="With --against: the agents for the queue simulation, a YAML roster file (see "
    "docs/replay.md) or `live` (the database's active agents, online throughout).",
)
@click.option(
    "--handle-time",
    help="With --against: minutes a person spends on a conversation, e.g. 12m [default: "
    "from the history's agent turns, else 10m].",
)
@click.option(
    "--clusters/--no-clusters",
    default=True,
    show_default=True,
    help="Cluster the messages the bot did not understand into candidate intents "
    "(with the MiniLM sentence encoder, when it is installed).",
)
def run(
    files: tuple[Path, ...],
    brief_path: Path | None,
    business_name: str | None,
    timezone: str | None,
    date_order: str | None,
    ratings_path: Path | None,
    json_path: Path | None,
    html_path: Path | None,
    against_path: Path | None,
    roster: str | None,
    handle_time: str | None,
    clusters: bool,
) -> None:
    """Replay HISTORY files (.jsonl, .csv, WhatsApp .txt exports) through the brief, score
    every bot turn on accuracy, tone and actionability, and judge each intent against the
    brief's rollout.launch gates. Exit code: 0 ready, 1 not ready, 2 bad input."""
    from relaydesk.adapters.history import read_history
    from relaydesk.adapters.history.ratings import read_ratings
    from relaydesk.brief.loader import BriefError, load_brief
    from relaydesk.domain.history import HistoryError

    brief_file = brief_path or _settings_brief()
    try:
        brief = load_brief(brief_file)
    except BriefError as exc:
        _bad_input(f"the brief cannot be used:\n{exc}")
    except OSError as exc:
        _bad_input(f"{brief_file}: {exc.strerror or exc}")
    zone = _zone(timezone or brief.business.timezone)
    try:
        history = read_history(
            files,
            business_name=business_name,
            tz=zone,
            date_order=date_order,  # type: ignore[arg-type]
        )
        ratings = read_ratings(ratings_path) if ratings_path else None
    except HistoryError as exc:
        _bad_input(
            f"{len(exc.problems)} problem(s) in the history; nothing was scored:\n"
            + "\n".join(exc.problems)
        )
    if not history.conversations:
        _bad_input("the history holds no conversation with a customer turn: nothing to replay")
    for note in history.notes:
        click.echo(f"note: {note}", err=True)
    if against_path is None:
        if roster or handle_time:
            _bad_input("--roster and --handle-time go with --against OTHER_BRIEF")
        report = _check(history, brief, ratings, clusters)
        _write(report, brief, json_path, html_path)
        sys.exit(READY if report.ready else NOT_READY)
    try:
        other = load_brief(against_path)
    except BriefError as exc:
        _bad_input(f"the brief cannot be used:\n{exc}")
    except OSError as exc:
        _bad_input(f"{against_path}: {exc.strerror or exc}")
    agents = _roster(roster)
    minutes = _duration(handle_time) if handle_time else None
    report = _check(history, other, ratings, clusters)
    what_if = _what_if(history, brief, other, agents, minutes, [s.turn for s in report.scored])
    _write(report, other, json_path, html_path, what_if)
    sys.exit(READY if report.ready else NOT_READY)


def _check(history: Any, brief: Any, ratings: Any, clusters: bool) -> Any:
    from relaydesk.nlu import minilm
    from relaydesk.services import launch_check
    from relaydesk.services.decider import BriefDecider

    click.echo(f"Training the classifier of brief {brief.version}...", err=True)
    decider = BriefDecider.from_brief(brief)
    encoder = minilm.load_default() if clusters else None
    total = sum(1 for c in history.conversations for t in c.turns if t.author == "customer")
    with click.progressbar(
        length=total, label="Replaying customer turns", file=sys.stderr, show_pos=True
    ) as bar:
        done = [0]

        def progress(now: int) -> None:
            bar.update(now - done[0])
            done[0] = now

        return launch_check.check(
            history,
            brief,
            decider,
            ratings=ratings,
            encode=encoder.encode if encoder is not None else None,
            progress=progress,
        )


def _what_if(
    history: Any, brief: Any, other: Any, roster: Any, handle: Any, other_turns: Any
) -> Any:
    from relaydesk.services.decider import BriefDecider
    from relaydesk.services.what_if import compare

    click.echo(f"What-if: replaying through the current brief {brief.version}...", err=True)
    return compare(
        history,
        (brief, BriefDecider.from_brief(brief)),
        (other, BriefDecider.from_brief(other)),
        roster,
        handle_time=handle,
        other_turns=other_turns,
    )


def _roster(value: str | None) -> list[Any]:
    from relaydesk.domain.history import HistoryError

    if value is None:
        return []
    if value == "live":
        from relaydesk.adapters.storage.agents import agents
        from relaydesk.cli_support import database_for_cli
        from relaydesk.domain.roster import RosterAgent

        database = database_for_cli()
        try:
            with database.read() as conn:
                found = agents(conn)
        finally:
            database.dispose()
        if not found:
            _bad_input("--roster live: the database has no active agents; give a roster file")
        return [RosterAgent(f"agent {a.id}", a.skills, a.languages, a.capacity) for a in found]
    from relaydesk.adapters.roster import read_roster

    try:
        return read_roster(Path(value))
    except HistoryError as exc:
        _bad_input("the roster cannot be used:\n" + "\n".join(exc.problems))


def _duration(value: str) -> timedelta:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(m|min|h)?\s*", value)
    if not found or float(found.group(1)) <= 0:
        _bad_input(f"--handle-time {value!r} is not a duration: use minutes like 12m or hours 1h")
    amount = float(found.group(1))
    return timedelta(hours=amount) if found.group(2) == "h" else timedelta(minutes=amount)


def _write(
    report: Any,
    brief: Any,
    json_path: Path | None,
    html_path: Path | None,
    what_if: Any = None,
) -> None:
    from relaydesk.cli_support import table
    from relaydesk.reports import launch as render
    from relaydesk.reports import what_if as compare

    click.echo(
        f"\n{report.conversations} conversations, {report.customer_turns} customer turns, "
        f"brief {report.brief_version}\n"
    )
    table(render.TABLE_HEADER, render.table_rows(report))
    verdict = report.verdict
    if verdict.missed_escalations:
        click.echo(
            f"\n{len(verdict.missed_escalations)} conversation(s) needed a person and were "
            f"never escalated: {', '.join(verdict.missed_escalations[:10])}"
        )
    if verdict.remedies:
        click.echo("\nFix first:")
        for remedy in verdict.remedies[:10]:
            click.echo(
                f"  {remedy.count:>5}  {remedy.intent}: {remedy.pattern}\n         {remedy.fix}"
            )
    for agreement in report.agreement:
        kappa = "-" if agreement.kappa is None else f"{agreement.kappa:.2f}"
        click.echo(
            f"\nAgreement with people on {agreement.dimension}: {agreement.rated} turns, "
            f"kappa {kappa}"
        )
    data = render.as_json(report, brief)
    if what_if is not None:
        data["what_if"] = compare.as_json(what_if)
        click.echo("")
        for line in compare.lines(what_if):
            click.echo(line)
    if json_path:
        json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
        click.echo(f"\nJSON: {json_path}")
    if html_path:
        html_path.write_text(render.render_html(report, brief, data), encoding="utf-8")
        click.echo(f"HTML report: {html_path}")
    click.echo("\nReady to launch." if report.ready else "\nNot ready to launch.")


@replay.command("export")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="How far back: a number of days (30d), hours (12h) or a date (2026-11-01).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="The JSONL file to write (`relaydesk replay` reads it).",
)
def export(since: str, output: Path) -> None:
    """Write the conversations of the database at RELAYDESK_DATABASE_URL as a replay
    history (JSONL), labelled with the agents' escalation verdicts and the queue a person
    finally worked each escalation in."""
    from relaydesk.cli_support import database_for_cli
    from relaydesk.services.history_export import export as write

    start = _since(since, datetime.now(UTC))
    database = database_for_cli()
    try:
        with output.open("w", encoding="utf-8") as out:
            conversations, lines = write(database, start, out)
    finally:
        database.dispose()
    click.echo(
        f"{conversations} conversations ({lines} messages) since "
        f"{start:%Y-%m-%d %H:%M} UTC written to {output}"
    )


def _since(value: str, now: datetime) -> datetime:
    found = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", value)
    if found:
        amount = int(found.group(1))
        unit = "days" if found.group(2) == "d" else "hours"
        return now - timedelta(**{unit: amount})
    try:
        day = datetime.fromisoformat(value.strip())
    except ValueError:
        _bad_input(
            f"--since {value!r} is not a duration or a date: use e.g. 30d, 12h or 2026-11-01"
        )
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _bad_input(f"--timezone {name!r} is not an IANA time zone: use e.g. Europe/Madrid")


def _settings_brief() -> Path:
    from relaydesk.cli_support import settings_for_cli

    return settings_for_cli().brief
