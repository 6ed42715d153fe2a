"""The `relaydesk` command: serve, worker, db, brief, users, tokens, customers, rollout, nlu,
replay, test, report, demo."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import structlog

from relaydesk import __version__
from relaydesk.adapters.storage.db import Database
from relaydesk.cli_accounts import tokens, users
from relaydesk.cli_brief import brief_diff, brief_log, brief_record
from relaydesk.cli_customers import customers
from relaydesk.cli_integrations import integrations
from relaydesk.cli_kb import kb
from relaydesk.cli_report import demo, report
from relaydesk.cli_rollout import rollout
from relaydesk.cli_support import fail, settings_for_cli
from relaydesk.config import ConfigError, load_settings
from relaydesk.observability import configure_logging

if TYPE_CHECKING:
    from relaydesk.bootstrap import Container
    from relaydesk.services.runner import Loop

log = structlog.get_logger(__name__)


class _Commands(click.Group):
    """`nlu`, `replay` and `test` are loaded when used: they import scikit-learn, which the
    other commands (and `--help`) should not wait for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "nlu", "replay", "test"])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "nlu":
            from relaydesk.nlu.cli import nlu

            return nlu
        if cmd_name == "replay":
            from relaydesk.cli_replay import replay

            return replay
        if cmd_name == "test":
            from relaydesk.cli_scripts import test

            return test
        return super().get_command(ctx, cmd_name)

    # Click's own refusals (a bad option value, a missing argument, an unknown command or
    # option) exit 2 with click's message; these log them too, as `bad_input` does ours.
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _log_usage_error(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _log_usage_error(exc)
            raise


_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    getattr(click.exceptions, name)
    for name in ("NoArgsIsHelpError",)
    if hasattr(click.exceptions, name)
)


def _log_usage_error(exc: click.UsageError) -> None:
    """Log `cli_usage_error` with the command and the parameter refused, never the value
    given nor click's message quoting it (either may be a secret or a customer's data).
    A group run without a command (click >= 8.2 prints its help and exits 2) is no error."""
    if isinstance(exc, _NO_ARGS_IS_HELP):
        return
    root = exc.ctx.find_root() if exc.ctx else None
    if root is None or root.invoked_subcommand is None:
        _configure_logging()  # refused before `cli` ran: logging is not configured yet
    names = []
    ctx = exc.ctx
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    log.warning(
        "cli_usage_error",
        command=" ".join(["relaydesk", *reversed(names)]),
        parameter=_parameter_name(getattr(exc, "param", None)),
        error=type(exc).__name__,
    )


def _parameter_name(param: click.Parameter | None) -> str | None:
    """The name a user types: an option's long form (`--limit`), an argument's metavar."""
    if param is None:
        return None
    if isinstance(param, click.Option):
        return next((o for o in param.opts if o.startswith("--")), param.opts[0])
    return param.human_readable_name


def _configure_logging() -> None:
    # Every command logs the same way: redacted lines on stderr, so that what a command
    # prints on stdout (an export, a report) stays machine-readable. Settings that do not
    # parse are reported by the command that needs them; logging falls back to the defaults.
    try:
        settings = load_settings(os.environ)
    except ConfigError:
        configure_logging()
    else:
        configure_logging(settings.log_level, settings.log_format)


@click.group(cls=_Commands)
@click.version_option(__version__, prog_name="relaydesk")
def cli() -> None:
    """Relaydesk: customer support on WhatsApp with an explainable escalation model.

    Settings come from RELAYDESK_* environment variables (see the README)."""
    _configure_logging()


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
    help=(
        "Start `relaydesk worker` (the decision stage, the outbox worker and the periodic "
        "jobs) as a child process, restarted with backoff if it exits and stopped with "
        "this one; --no-worker only receives and acknowledges, next to a separately run "
        "`relaydesk worker` [default: RELAYDESK_EMBEDDED_WORKER]."
    ),
)
def serve(host: str, port: int, run_worker: bool | None) -> None:
    """Serve webhooks, the API and (without WhatsApp credentials) the sandbox."""
    import uvicorn

    from relaydesk.app.http.main import create_app
    from relaydesk.app.runtime import settle_gc
    from relaydesk.app.worker_metrics import WorkerMetrics, free_loopback_port
    from relaydesk.app.worker_process import WorkerProcess, worker_argv
    from relaydesk.bootstrap import StartupError, build
    from relaydesk.services.intake import IntakeWriter

    settings = settings_for_cli()
    configure_logging(settings.log_level, settings.log_format, cache=True)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    base_url = settings.public_url or f"http://{shown_host}:{port}"
    try:
        container = build(settings, base_url=base_url)
    except StartupError as exc:
        fail(str(exc))
    alongside: list[Loop] = []
    worker_metrics = None
    if settings.embedded_worker if run_worker is None else run_worker:
        # the same settings, and this server's URL (the sandbox's Graph API, booking links)
        env = {**os.environ, "RELAYDESK_PUBLIC_URL": base_url}
        metrics_port = free_loopback_port()
        alongside.append(WorkerProcess(worker_argv(os.getpid(), metrics_port), env).run)
        worker_metrics = WorkerMetrics(f"http://127.0.0.1:{metrics_port}/metrics")
    try:
        intake = container.intake
        writer = None
        if intake is not None:  # SQLite: webhooks are acknowledged from a file of their own
            writer = IntakeWriter(intake, container.db, container.metrics)
            container.metrics.watch_intake(writer.depth)
        app = create_app(
            container,
            alongside=alongside,
            worker_metrics=worker_metrics,
            warm_insights=True,
            freeze_gc=True,
            intake=writer,
        )
    except StartupError as exc:
        fail(str(exc))
    # What start-up built (the brief, the app) lives as long as the process: keep it out of
    # the garbage collector's full scans, which stall requests (again after the warming).
    settle_gc()
    mode = "sandbox (no WhatsApp credentials)" if settings.sandbox else "WhatsApp Cloud API"
    database = container.db.engine.url.render_as_string(hide_password=True)
    click.echo(f"Relaydesk {__version__} — {mode}, database {database}")
    if settings.sandbox:
        click.echo(f"  Sandbox:  {base_url}/sandbox")
    click.echo(f"  Console:  {base_url}/console")
    click.echo(f"  API:      {base_url}/api/v1  (docs {base_url}/docs)")
    click.echo(f"  Webhook:  {base_url}/webhooks/whatsapp")
    click.echo(f"  Metrics:  {base_url}/metrics")
    click.echo(
        "  Worker:   a child process (`relaydesk worker`)"
        if alongside
        else "  Worker:   none here (--no-worker): run `relaydesk worker` beside it"
    )
    if settings.sandbox:
        _show_demo_accounts(container)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:  # the app unfreezes at shutdown; this covers a server that never started it
        gc.unfreeze()


def _show_demo_accounts(container: Container) -> None:
    """Create the sandbox's demo agent and supervisor once; print a password only when its
    account was just made (it is stored only as a hash)."""
    from datetime import UTC, datetime

    from relaydesk.services.demo import ensure_demo_accounts

    with container.db.write() as conn:
        demo = ensure_demo_accounts(conn, container.brief, datetime.now(UTC))
    if any(account.password for account in demo):
        click.echo("  Demo console sign-in (shown this once; sandbox only):")
    for account in demo:
        if account.password:
            click.echo(f"    {account.role:<10}  {account.email}  password {account.password}")
    if not all(account.password for account in demo):
        existing = ", ".join(a.email for a in demo if not a.password)
        click.echo(
            f"  Demo accounts: {existing} (password shown at first start; set a new one with "
            "`relaydesk users update EMAIL --password-stdin`)"
        )


@cli.command()
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    hidden=True,
    help="Set by `relaydesk serve` for its child: exit when that process ends, and yield "
    "the CPU to it.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    envvar="RELAYDESK_WORKER_METRICS_PORT",
    show_envvar=True,
    help="Serve this worker's Prometheus metrics (decisions, sends, Graph API errors, "
    "stage CPU) at http://HOST:PORT/metrics [default: not served].",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    envvar="RELAYDESK_WORKER_METRICS_HOST",
    show_envvar=True,
    help="The address --metrics-port listens on (0.0.0.0 for a Prometheus on another host).",
)
def worker(parent_pid: int | None, metrics_port: int | None, metrics_host: str) -> None:
    """Decide and send: the decision stage, the outbox worker and the periodic jobs
    (production: next to any number of `serve --no-worker`)."""
    from relaydesk.bootstrap import StartupError, build

    if parent_pid is not None:
        from relaydesk.app.worker_process import become_child_of

        become_child_of(parent_pid)
    elif metrics_port is not None:  # before the model is trained: a taken port fails at once
        _check_metrics_port(metrics_host, metrics_port)
    settings = settings_for_cli()
    configure_logging(settings.log_level, settings.log_format, cache=True)
    try:
        container = build(settings, base_url=settings.public_url or "http://127.0.0.1:8000")
        container.decisions  # noqa: B018 - trains the classifier now (or fails here); joins the runner
    except StartupError as exc:
        fail(str(exc))
    if metrics_port is not None:
        _serve_worker_metrics(container, metrics_host, metrics_port, child=parent_pid is not None)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await container.runner.run(stop)
        finally:
            await container.graph.aclose()
            container.dispose()

    from relaydesk.app.runtime import worker_runtime

    click.echo("Relaydesk worker running; Ctrl-C stops it.")
    with worker_runtime():
        asyncio.run(main())


def _metrics_port_error(host: str, port: int, exc: OSError) -> str:
    return (
        f"cannot serve the worker's metrics on {host}:{port}: {exc.strerror or exc}; "
        "choose another --metrics-port (or RELAYDESK_WORKER_METRICS_PORT)"
    )


def _check_metrics_port(host: str, port: int) -> None:
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        log.error("worker_metrics_not_served", host=host, port=port, error=str(exc))
        fail(_metrics_port_error(host, port, exc))


def _serve_worker_metrics(container: Container, host: str, port: int, *, child: bool) -> None:
    """Start the worker's metrics endpoint; a port already taken ends a worker run by hand
    (fix the flag), while serve's child logs it and keeps deciding (its parent's /metrics
    then shows relaydesk_worker_metrics_up 0)."""
    from prometheus_client import start_http_server

    if child:  # serve's /metrics shows its own reading of these (app.worker_metrics)
        container.metrics.drop_database_gauges()
    try:
        start_http_server(port, addr=host, registry=container.metrics.registry)
    except OSError as exc:
        log.error("worker_metrics_not_served", host=host, port=port, error=str(exc))
        if not child:
            fail(_metrics_port_error(host, port, exc))
        return
    click.echo(f"  Metrics:  http://{host}:{port}/metrics")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database at RELAYDESK_DATABASE_URL to the newest schema."""
    from relaydesk.adapters.storage.migrate import upgrade

    settings = settings_for_cli()
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
    except Exception as exc:
        fail(f"could not migrate {database.engine.url.render_as_string(hide_password=True)}: {exc}")
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


brief.add_command(brief_record)
brief.add_command(brief_log)
brief.add_command(brief_diff)
cli.add_command(users)
cli.add_command(tokens)
cli.add_command(rollout)
cli.add_command(report)
cli.add_command(demo)
cli.add_command(customers)
cli.add_command(integrations)
cli.add_command(kb)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
