"""`relaydesk customers`: a customer's personal data, exported or erased on request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from relaydesk.cli_support import bad_input, database_for_cli


@click.group()
def customers() -> None:
    """Customers' personal data (export and erasure requests)."""


@customers.command("export")
@click.argument("customer_id", type=click.IntRange(min=1))
def customers_export(customer_id: int) -> None:
    """Print everything stored about customer CUSTOMER_ID as JSON (audited)."""
    from relaydesk.services.privacy import UnknownCustomerError, export_customer

    database = database_for_cli()
    try:
        data = export_customer(database, customer_id, datetime.now(UTC))
    except UnknownCustomerError as exc:
        bad_input(str(exc), "customer_export_refused")
    finally:
        database.dispose()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@customers.command("erase")
@click.argument("customer_id", type=click.IntRange(min=1))
@click.option("--yes", is_flag=True, help="Confirm: erasure cannot be undone.")
def customers_erase(customer_id: int, yes: bool) -> None:
    """Erase customer CUSTOMER_ID's personal data: identities, name, attributes, message
    text, decisions' text, notes and the raw webhooks naming them; the conversations'
    skeleton stays for metrics; an audit entry is written."""
    from relaydesk.services.privacy import UnknownCustomerError, erase_customer

    if not yes:
        bad_input(
            f"erasing customer {customer_id} cannot be undone; run it again with --yes "
            f"(`relaydesk customers export {customer_id}` first keeps a copy)",
            "customer_erase_unconfirmed",
        )
    database = database_for_cli()
    try:
        counts = erase_customer(database, customer_id, datetime.now(UTC))
    except UnknownCustomerError as exc:
        bad_input(str(exc), "customer_erase_refused")
    finally:
        database.dispose()
    summary = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())
    click.echo(f"erased customer {customer_id}: {summary}")
