"""Customer lookup in the CRMs, before the bot decides: the brief's attribute mapping turns
the CRM's record into the customer attributes that the policy and routing read
(`triggers.attributes`, e.g. VIPs) and the handoff card shows.

A round of decisions waits for the answers at most the integration's `lookup_budget_ms`
(300 ms by default); past it, the bot decides with what the customer already has, and the
answer, when it comes, is stored for the next message and the card. Answers (and
failures, for a shorter while) are cached per customer for `cache_ttl`. A CRM that fails
or answers garbage leaves the attributes as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from relaydesk.adapters.integrations.base import Integration, IntegrationError, field_at
from relaydesk.adapters.storage import customers as customers_store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.schema import Brief

log = structlog.get_logger(__name__)

#: How long a failed lookup is not tried again for that customer.
FAILURE_TTL = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Wanted:
    customer_id: int
    wa_id: str


class CrmLookup:
    def __init__(
        self,
        db: Database,
        brief: Brief,
        integrations: Mapping[str, Integration],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        threads: int = 4,
    ) -> None:
        self._db = db
        self._specs = {
            name: spec
            for name, spec in brief.integrations.items()
            if spec.looks_up and name in integrations
        }
        self._integrations = {name: integrations[name] for name in self._specs}
        self._clock = clock
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="crm-lookup")
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], datetime] = {}  #: fresh until
        self._running: dict[tuple[str, str], Future[None]] = {}

    @property
    def active(self) -> bool:
        return bool(self._specs)

    def enrich(self, wanted: Sequence[Wanted]) -> int:
        """Look up the customers not cached, waiting at most the budget; returns how many
        lookups finished in time (the others store their answer when it comes)."""
        futures: list[Future[None]] = []
        budget = 0.0
        now = self._clock()
        with self._lock:
            for item in {w.customer_id: w for w in wanted}.values():
                for name, spec in self._specs.items():
                    key = (name, item.wa_id)
                    if key in self._running:
                        futures.append(self._running[key])
                    elif self._cache.get(key, now) <= now:
                        future = self._pool.submit(self._lookup, name, item)
                        self._running[key] = future
                        futures.append(future)
                    else:
                        continue
                    budget = max(budget, spec.lookup_budget_ms / 1000)
        if not futures:
            return 0
        done, late = wait(futures, timeout=budget)
        if late:
            log.info("crm_lookup_late", waiting=len(late), budget_ms=int(budget * 1000))
        return len(done)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _lookup(self, name: str, item: Wanted) -> None:
        key = (name, item.wa_id)
        spec = self._specs[name]
        fresh_for = spec.cache_ttl
        try:
            record = self._integrations[name].lookup(item.wa_id)
            values = attributes_of(record, spec.attributes) if record is not None else {}
            if values:
                with self._db.write() as conn:
                    customers_store.merge_attributes(conn, item.customer_id, values, self._clock())
            log.info("crm_lookup", integration=name, found=record is not None, mapped=len(values))
        except IntegrationError as exc:
            fresh_for = FAILURE_TTL
            log.warning("crm_lookup_failed", integration=name, error=str(exc))
        except Exception as exc:  # a CRM's garbage never reaches the chat
            fresh_for = FAILURE_TTL
            log.warning("crm_lookup_failed", integration=name, error=type(exc).__name__)
        finally:
            with self._lock:
                self._running.pop(key, None)
                self._cache[key] = self._clock() + fresh_for


def attributes_of(record: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, str]:
    """The customer attributes the brief maps from this CRM record (absent fields skipped)."""
    values = {attribute: field_at(record, path) for attribute, path in mapping.items()}
    return {attribute: value for attribute, value in values.items() if value is not None}
