"""What the `relaydesk` commands share: settings, the database, failing with a message,
and plain-text tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

import click

from relaydesk.adapters.storage.db import Database
from relaydesk.config import ConfigError, Settings, load_settings


def settings_for_cli() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


#: the exit code of a check command (replay, test) given input it cannot use, as CI reads it
BAD_INPUT = 2


def bad_input(message: str, event: str) -> NoReturn:
    """Log `event` with the problem's first line, print `message`, exit 2: nothing ran."""
    import structlog

    structlog.get_logger(__name__).warning(event, problem=message.splitlines()[0])
    click.echo(f"error: {message}", err=True)
    sys.exit(BAD_INPUT)


def database_for_cli() -> Database:
    from relaydesk.bootstrap import StartupError, prepare_database

    settings = settings_for_cli()
    database = Database(settings.database_url)
    try:
        prepare_database(settings, database, migrate=False)
    except StartupError as exc:
        fail(str(exc))
    return database


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
