"""Customers' personal data: export and erasure on request, and message retention.

- `export_customer`: everything stored about a customer, as one JSON-ready dict.
- `erase_customer`: identities, name, attributes (the CRM mirror), message text and
  payloads, decisions' text, notes, delivery records and every raw webhook body naming the
  customer are removed or blanked; the conversation skeleton stays for metrics; open
  conversations are closed; an audit entry (`customer.erased`, counts only) is written in
  the same transaction. A later message from the same number or user id finds no customer
  and starts a new one.
- `MessageRetention`: the worker's periodic job that blanks message text, payloads, drafts
  and decisions' text older than the brief's `privacy.message_retention_days`, and deletes
  raw webhook bodies older than that too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from relaydesk.adapters.storage import personal_data as store
from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.services import audit

log = structlog.get_logger(__name__)


class UnknownCustomerError(LookupError):
    """There is no customer with that id."""


def _missing(customer_id: int) -> UnknownCustomerError:
    return UnknownCustomerError(
        f"no customer with id {customer_id}; GET /api/v1/conversations?customer=WA_ID shows a "
        "customer's id"
    )


def export_customer(
    db: Database, customer_id: int, now: datetime, *, actor: audit.Actor | None = None
) -> dict[str, Any]:
    """Everything stored about the customer, by table (audited as `customer.exported`)."""
    with db.write() as conn:
        found = store.customer_data(conn, customer_id)
        if found is None:
            raise _missing(customer_id)
        audit.record(
            conn,
            "customer.exported",
            now=now,
            actor=actor,
            target=f"customer:{customer_id}",
            after={name: len(rows) for name, rows in found.tables.items()},
        )
    log.info("customer_exported", customer_id=customer_id)
    return {"customer_id": customer_id, "exported_at": now.isoformat(), "tables": found.tables}


def erase_customer(
    db: Database, customer_id: int, now: datetime, *, actor: audit.Actor | None = None
) -> dict[str, int]:
    """Erase the customer's personal data (see the module); what was changed, by kind."""
    with db.write() as conn:
        erased = store.erase_customer(conn, customer_id, now)
        if erased is None:
            raise _missing(customer_id)
        audit.record(
            conn,
            "customer.erased",
            now=now,
            actor=actor,
            target=f"customer:{customer_id}",
            after=erased.as_dict(),
        )
    log.info("customer_erased", customer_id=customer_id, **erased.as_dict())
    return erased.as_dict()


class MessageRetention:
    """The periodic job: message content older than `days` blanked, raw bodies deleted."""

    def __init__(self, db: Database, days: int) -> None:
        if days < 1:
            raise ValueError(f"message retention is {days} days; give at least 1")
        self._db = db
        self._keep = timedelta(days=days)

    def __call__(self, now: datetime) -> tuple[int, int, int]:
        cutoff = now - self._keep
        with self._db.write() as conn:
            messages, decisions = store.expire_message_text(conn, cutoff)
            raw = repo.purge_raw_webhooks(conn, cutoff)
        if messages or raw:
            log.info("messages_expired", messages=messages, decisions=decisions, raw_webhooks=raw)
        return messages, decisions, raw
