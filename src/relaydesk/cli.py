"""The `relaydesk` command: serve, worker, db, brief, users, tokens."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from relaydesk import __version__
from relaydesk.adapters.storage.db import Database
from relaydesk.config import ConfigError, Settings, load_settings
from relaydesk.observability import configure_logging


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class _Commands(click.Group):
    """`nlu` is loaded when used: it imports scikit-learn, which the other commands
    (and `--help`) should not wait for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "nlu"])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "nlu":
            from relaydesk.nlu.cli import nlu

            return nlu
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="relaydesk")
def cli() -> None:
    """Relaydesk: customer support on WhatsApp with an explainable escalation model.

    Settings come from RELAYDESK_* environment variables (see the README)."""


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="RELAYDESK_HOST",
    show_envvar=True,
    help="Interface to listen on.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="RELAYDESK_PORT",
    show_envvar=True,
    help="TCP port to listen on.",
)
@click.option(
    "--worker/--no-worker",
    "run_worker",
    default=None,
    help="Run the outbox worker in this process [default: RELAYDESK_EMBEDDED_WORKER].",
)
def serve(host: str, port: int, run_worker: bool | None) -> None:
    """Serve webhooks, the API and (without WhatsApp credentials) the sandbox."""
    import uvicorn

    from relaydesk.app.http.main import create_app
    from relaydesk.bootstrap import StartupError, build

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    base_url = settings.public_url or f"http://{shown_host}:{port}"
    try:
        container = build(settings, base_url=base_url)
    except StartupError as exc:
        _fail(str(exc))
    try:
        app = create_app(container, run_worker=run_worker)
    except StartupError as exc:
        _fail(str(exc))
    # What start-up built (the brief, the trained model, the app) lives as long as the
    # process: keep it out of the garbage collector's full scans, which stall requests.
    gc.collect()
    gc.freeze()
    mode = "sandbox (no WhatsApp credentials)" if settings.sandbox else "WhatsApp Cloud API"
    database = container.db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Relaydesk {__version__} — {mode}, database {database}")
    if settings.sandbox:
        click.echo(f"  Sandbox:  {base_url}/sandbox")
    click.echo(f"  Console:  {base_url}/console")
    click.echo(f"  API:      {base_url}/api/v1  (docs {base_url}/docs)")
    click.echo(f"  Webhook:  {base_url}/webhooks/whatsapp")
    click.echo(f"  Metrics:  {base_url}/metrics")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@cli.command()
def worker() -> None:
    """Run the outbox worker alone (production: next to any number of `serve --no-worker`)."""
    from relaydesk.bootstrap import StartupError, build

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        container = build(settings, base_url=settings.public_url or "http://127.0.0.1:8000")
    except StartupError as exc:
        _fail(str(exc))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await container.worker.run(stop)
        finally:
            await container.graph.aclose()
            container.db.dispose()

    click.echo("Relaydesk worker running; Ctrl-C stops it.")
    asyncio.run(main())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database at RELAYDESK_DATABASE_URL to the newest schema."""
    from relaydesk.adapters.storage.migrate import upgrade

    settings = _settings()
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
    except Exception as exc:
        _fail(
            f"could not migrate {database.engine.url.render_as_string(hide_password=True)}: {exc}"
        )
    finally:
        database.dispose()
    click.echo("database is at the newest schema")


@cli.group()
def brief() -> None:
    """The operating brief."""


@brief.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def brief_check(path: Path) -> None:
    """Validate a brief: exit 0, or 1 listing each problem as file:line: field: fix.
    Warnings (a valid brief that probably does not do what was meant) do not fail it."""
    from relaydesk.brief.loader import brief_warnings, check_brief

    problems = check_brief(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
        sys.exit(1)
    warnings = brief_warnings(path)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{path}: ok" + (f" ({len(warnings)} warning(s))" if warnings else ""))


@cli.group()
def users() -> None:
    """Operator accounts."""


@users.command("create")
@click.option("--email", required=True, help="Login and identity of the person.")
@click.option("--name", required=True, help="Display name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["agent", "supervisor", "admin"]),
    help="What the person may do.",
)
@click.option(
    "--password",
    envvar="RELAYDESK_NEW_USER_PASSWORD",
    default=None,
    help="Console password (at least 12 characters); or set RELAYDESK_NEW_USER_PASSWORD.",
)
@click.option("--skills", default="", help="Comma-separated skills, matched to queues' skills.")
@click.option("--languages", default="", help="Comma-separated language codes, e.g. en,es.")
@click.option(
    "--capacity",
    default=5,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Conversations the person can hold at once.",
)
def users_create(
    email: str,
    name: str,
    role: str,
    password: str | None,
    skills: str,
    languages: str,
    capacity: int,
) -> None:
    """Create an operator account."""
    from relaydesk.services.accounts import AccountError, create_user

    database = _database()
    try:
        with database.write() as conn:
            user = create_user(
                conn,
                email=email,
                name=name,
                role=role,
                password=password,
                now=datetime.now(UTC),
                skills=skills.split(","),
                languages=languages.split(","),
                capacity=capacity,
            )
    except AccountError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@users.command("list")
def users_list() -> None:
    """List operator accounts: role, skills, languages, capacity, presence, status."""
    from relaydesk.services.accounts import list_users

    database = _database()
    try:
        with database.read() as conn:
            found = list_users(conn)
    finally:
        database.dispose()
    if not found:
        click.echo("no users yet; create one with `relaydesk users create`")
        return
    header = (
        "ID",
        "EMAIL",
        "NAME",
        "ROLE",
        "SKILLS",
        "LANGUAGES",
        "CAPACITY",
        "PRESENCE",
        "STATUS",
    )
    rows = [
        (
            str(u.id),
            u.email,
            u.name,
            u.role,
            ",".join(u.skills) or "-",
            ",".join(u.languages) or "-",
            str(u.capacity),
            u.presence,
            "active" if u.active else "inactive",
        )
        for u in found
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@users.command("update")
@click.argument("email")
@click.option("--name", default=None, help="New display name.")
@click.option(
    "--role", default=None, type=click.Choice(["agent", "supervisor", "admin"]), help="New role."
)
@click.option("--skills", default=None, help="Comma-separated skills (replaces the list).")
@click.option("--languages", default=None, help="Comma-separated language codes (replaces).")
@click.option(
    "--capacity", default=None, type=click.IntRange(0, 100), help="Conversations held at once."
)
@click.option(
    "--active/--inactive",
    default=None,
    help="Reactivate, or deactivate (the person is taken offline and cannot log in).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a new console password (at least 12 characters) from standard input.",
)
def users_update(
    email: str,
    name: str | None,
    role: str | None,
    skills: str | None,
    languages: str | None,
    capacity: int | None,
    active: bool | None,
    password_stdin: bool,
) -> None:
    """Change an operator account; options left out stay as they are."""
    from relaydesk.services.accounts import AccountError, find_user, update_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("--password-stdin read an empty line; pipe the password in")
    if all(v is None for v in (name, role, skills, languages, capacity, active, password)):
        _fail("nothing to change; give at least one option (see `relaydesk users update --help`)")
    database = _database()
    try:
        with database.write() as conn:
            user = update_user(
                conn,
                find_user(conn, email).id,
                name=name,
                role=role,
                skills=None if skills is None else skills.split(","),
                languages=None if languages is None else languages.split(","),
                capacity=capacity,
                active=active,
                password=password,
                now=datetime.now(UTC),
            )
    except AccountError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    state = "active" if user.active else "inactive"
    click.echo(
        f"updated {user.role} {user.email} (id {user.id}): {state}, capacity {user.capacity}, "
        f"skills {','.join(user.skills) or '-'}, languages {','.join(user.languages) or '-'}"
    )


@cli.group()
def tokens() -> None:
    """API bearer tokens."""


@tokens.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--label", default="", help="What the token is for.")
def tokens_create(email: str, label: str) -> None:
    """Create a bearer token and print it (it is shown once; only its hash is stored)."""
    from relaydesk.services.accounts import AccountError, create_token

    database = _database()
    try:
        with database.write() as conn:
            token = create_token(conn, email=email, label=label, now=datetime.now(UTC))
    except AccountError as exc:
        _fail(str(exc))
    finally:
        database.dispose()
    click.echo(token)


def _database() -> Database:
    from relaydesk.bootstrap import StartupError, prepare_database

    settings = _settings()
    database = Database(settings.database_url)
    try:
        prepare_database(settings, database, migrate=False)
    except StartupError as exc:
        _fail(str(exc))
    return database


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
