"""`relaydesk integrations check`: are the brief's integrations reachable and allowed?"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from relaydesk.cli_support import bad_input, settings_for_cli


@click.group()
def integrations() -> None:
    """The CRMs and webhooks of the brief's `integrations` section."""


@integrations.command("check")
@click.option(
    "--brief",
    "brief_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The brief to check (default: RELAYDESK_BRIEF, else the example).",
)
def integrations_check(brief_path: Path | None) -> None:
    """Call each configured integration with its credentials from the environment and
    say exactly what is missing: an unset variable, rejected credentials, a permission.
    Exits 1 when something is missing, 2 when the brief cannot be read."""
    from relaydesk.brief.loader import load_brief
    from relaydesk.services.integrations import IntegrationConfigError, build_one

    path = brief_path or settings_for_cli().brief
    try:
        brief = load_brief(path)
    except Exception as exc:
        bad_input(f"the brief {path} is invalid:\n{exc}", "integrations_check_bad_brief")
    if not brief.integrations:
        click.echo(f"{path} configures no integrations.")
        return
    problems = 0
    for name, spec in brief.integrations.items():
        if not spec.enabled:
            click.echo(f"{name} ({spec.kind}): disabled, not checked")
            continue
        try:
            integration = build_one(name, spec, os.environ)
        except IntegrationConfigError as exc:
            click.echo(f"{name} ({spec.kind}): MISSING: {exc}")
            problems += 1
            continue
        try:
            found = integration.check()
        finally:
            integration.close()
        if found:
            problems += len(found)
            for problem in found:
                click.echo(f"{name} ({spec.kind}): MISSING: {problem}")
        else:
            click.echo(f"{name} ({spec.kind}): ok ({spec.base_url})")
    if problems:
        sys.exit(1)
