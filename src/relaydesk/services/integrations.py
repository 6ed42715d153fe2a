"""Write-back to CRMs and webhooks through the integration outbox.

`events.record` enqueues each escalation, assignment, resolution and CSAT answer in the
transaction of the change. This worker fans those rows out to the brief's integrations,
sends each (integration, conversation)'s rows in order, and records the outcome: done;
retried with exponential backoff and jitter, or after the `Retry-After` the API asked for;
or, for a request the API refuses (a 4xx) or one still failing `give_up_after` after its
event, dead-lettered for a person to retry from the console or the API. It runs in its
own loop, apart from the WhatsApp outbox: a CRM that is down or slow delays no reply.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from relaydesk.adapters.integrations.base import Integration, IntegrationError, Writeback
from relaydesk.adapters.integrations.hubspot import HubSpotIntegration
from relaydesk.adapters.integrations.salesforce import SalesforceIntegration
from relaydesk.adapters.integrations.webhooks import WebhookIntegration
from relaydesk.adapters.integrations.zendesk import ZendeskIntegration
from relaydesk.adapters.storage import integration_outbox as store
from relaydesk.adapters.storage.db import Database
from relaydesk.brief.integrations import Integration as IntegrationSpec
from relaydesk.brief.schema import Brief
from relaydesk.observability import Metrics
from relaydesk.services import audit
from relaydesk.services.conversations import handoff_card
from relaydesk.services.runner import run_in_thread

log = structlog.get_logger(__name__)

BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=10)
LEASE = timedelta(minutes=2)


class IntegrationConfigError(ValueError):
    """A configured integration cannot be built; the message names the variable to set."""


def credentials(name: str, spec: IntegrationSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """The integration's secrets from the environment, by role; names what is missing."""
    missing = [var for var in spec.secrets.values() if not environ.get(var)]
    if missing:
        raise IntegrationConfigError(
            f"integration {name}: set the environment variable(s) {', '.join(missing)} "
            f"(the brief's integrations.{name}.secrets names them)"
        )
    return {role: environ[var] for role, var in spec.secrets.items()}


def build_integrations(
    brief: Brief, environ: Mapping[str, str] | None = None
) -> dict[str, Integration]:
    """The brief's enabled integrations, with their secrets read from `environ`."""
    env = os.environ if environ is None else environ
    built: dict[str, Integration] = {}
    for name, spec in brief.integrations.items():
        if spec.enabled:
            built[name] = build_one(name, spec, env)
    return built


def build_one(name: str, spec: IntegrationSpec, environ: Mapping[str, str]) -> Integration:
    secrets = credentials(name, spec, environ)
    timeout = spec.timeout.total_seconds()
    if spec.kind == "zendesk":
        return ZendeskIntegration(
            name,
            spec.base_url,
            email=secrets["email"],
            api_token=secrets["api_token"],
            timeout=timeout,
        )
    if spec.kind == "hubspot":
        requested = tuple(
            path.removeprefix("properties.")
            for path in spec.attributes.values()
            if path.startswith("properties.")
        )
        return HubSpotIntegration(
            name,
            spec.base_url,
            access_token=secrets["access_token"],
            properties=requested,
            timeout=timeout,
        )
    try:
        if spec.kind == "salesforce":
            return SalesforceIntegration(
                name,
                spec.base_url,
                client_id=secrets["client_id"],
                client_secret=secrets["client_secret"],
                fields=tuple(spec.attributes.values()),
                timeout=timeout,
            )
        return WebhookIntegration(name, spec.base_url, secrets["secret"], timeout=timeout)
    except ValueError as exc:
        raise IntegrationConfigError(str(exc)) from None


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failure: doubling from 2 s up to 10 min, with the
    upper half jittered so that many stalled rows do not all come back at once."""
    ceiling: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 30)))
    return ceiling * (0.5 + rng.random() / 2)


class IntegrationWorker:
    def __init__(
        self,
        db: Database,
        brief: Brief,
        integrations: Mapping[str, Integration],
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        batch_size: int = 50,
    ) -> None:
        self._db = db
        self._brief = brief
        self._integrations = dict(integrations)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not cryptography
        self._batch_size = batch_size
        self._targets = {
            name: spec.event_types
            for name, spec in brief.integrations.items()
            if name in self._integrations
        }
        self.sent = Counter(
            "relaydesk_integration_writes",
            "Write-backs to integrations, by integration and result (done, retry, dead)",
            ["integration", "result"],
            registry=metrics.registry,
        )
        metrics.watch_database(_Depth(self._depth))

    def _depth(self) -> dict[tuple[str, str], int]:
        with self._db.read() as conn:
            return store.depth(conn)

    def run_once(self) -> int:
        """Fan out new events, then send what is due; returns how many sends were tried."""
        now = self._clock()
        with self._db.read() as conn:
            fresh = store.has_new(conn)
        if not fresh and not self._integrations:
            return 0
        with self._db.write() as conn:
            if fresh:
                store.fan_out(conn, self._targets, now)
            if not self._integrations:
                return 0
            rows = store.claim(
                conn,
                now,
                lease_until=now + LEASE,
                integrations=list(self._integrations),
                limit=self._batch_size,
            )
        for row in rows:
            self._send(row)
        return len(rows)

    def close(self) -> None:
        for integration in self._integrations.values():
            integration.close()

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            if not done:
                return total
            total += done
        return total

    def run(self, stop: threading.Event, idle_poll: float = 1.0) -> None:
        log.info("integration_worker_started", integrations=sorted(self._integrations))
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception as error:
                log.exception("integration_worker_error", error=type(error).__name__)
            stop.wait(idle_poll)

    async def run_async(self, stop: asyncio.Event) -> None:
        """`run` in a thread of its own (HTTP calls block) until `stop`."""
        try:
            await run_in_thread(self.run, stop, "integrations")
        finally:
            self.close()

    # -- one send -----------------------------------------------------------------------

    def _send(self, row: store.Row) -> None:
        integration = self._integrations[row.integration]
        spec = self._brief.integrations[row.integration]
        try:
            item = self._writeback(row)
            integration.write(item)
        except IntegrationError as exc:
            self._failed(row, exc, spec.give_up_after)
            return
        except Exception as exc:  # an adapter's bug or an odd answer: retried, then dead
            log.exception("integration_write_error", integration=row.integration)
            unexpected = IntegrationError(
                f"{row.integration}: {type(exc).__name__}", retryable=True
            )
            self._failed(row, unexpected, spec.give_up_after)
            return
        with self._db.write() as conn:
            store.done(conn, row.id, self._clock())
        self.sent.labels(row.integration, "done").inc()
        log.info(
            "integration_written",
            integration=row.integration,
            event_type=row.event_type,
            conversation_id=row.conversation_id,
            attempt=row.attempts + 1,
        )

    def _failed(self, row: store.Row, exc: IntegrationError, give_up_after: timedelta) -> None:
        now = self._clock()
        attempt = row.attempts + 1
        if not exc.retryable or now - row.created_at >= give_up_after:
            with self._db.write() as conn:
                store.dead(conn, row.id, now, str(exc))
            self.sent.labels(row.integration, "dead").inc()
            log.warning(
                "integration_dead_letter",
                integration=row.integration,
                event_type=row.event_type,
                conversation_id=row.conversation_id,
                attempt=attempt,
                error=str(exc),
            )
            return
        wait = backoff(attempt, self._rng)
        if exc.retry_after is not None:
            wait = timedelta(seconds=exc.retry_after)
        with self._db.write() as conn:
            store.retry(conn, row.id, now + wait, str(exc))
        self.sent.labels(row.integration, "retry").inc()
        log.warning(
            "integration_retry",
            integration=row.integration,
            event_type=row.event_type,
            conversation_id=row.conversation_id,
            attempt=attempt,
            retry_in=round(wait.total_seconds(), 1),
            error=str(exc),
        )

    def _writeback(self, row: store.Row) -> Writeback:
        payload = dict(row.payload)
        conversation_id = int(payload.pop("conversation_id", row.conversation_id or 0))
        occurred_at = str(payload.pop("occurred_at", row.created_at.isoformat()))
        with self._db.read() as conn:
            card = handoff_card(conn, conversation_id, self._brief, self._clock())
        card = card or {}
        customer = card.get("customer") or {}
        tags = [
            "relaydesk",
            *(f"{k}_{card[k]}".lower() for k in ("queue", "priority") if card.get(k)),
        ]
        if row.event_type == "csat.received" and "rating" in payload:
            tags.append(f"csat_{payload['rating']}")
        return Writeback(
            key=f"relaydesk-{row.integration}-{row.seq}",
            event_type=row.event_type,
            conversation_id=conversation_id,
            occurred_at=occurred_at,
            data=payload,
            customer_phone=customer.get("wa_id"),
            customer_name=customer.get("name"),
            subject=f"WhatsApp conversation {conversation_id}: {card.get('reason') or 'support'}"[
                :150
            ],
            body=note_text(row.event_type, payload, card),
            tags=tuple(tags),
        )


class _Depth:
    """`relaydesk_integration_outbox{integration, status}`: rows waiting (pending) and
    dead letters, read from the table when scraped."""

    def __init__(self, read: Callable[[], dict[tuple[str, str], int]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "relaydesk_integration_outbox",
            "Integration outbox rows by integration and status (pending, dead)",
            labels=["integration", "status"],
        )
        for (integration, status), count in sorted(self._read().items()):
            if integration != store.ANY and status != store.DONE:
                family.add_metric([integration, status], count)
        yield family


def note_text(event_type: str, data: Mapping[str, Any], card: Mapping[str, Any]) -> str:
    """The ticket note: the event, then the handoff card and transcript (escalation)."""
    lines = [f"{key}: {value}" for key, value in data.items() if value not in (None, "", [])]
    if event_type == "conversation.escalated":
        intent = card.get("intent") or {}
        lines += [
            f"reason: {card.get('reason') or '-'}",
            f"intent: {intent.get('title') or '-'}",
            f"next step: {card.get('next_step') or '-'}",
            f"bot tried: {', '.join(card.get('bot_tried') or []) or '-'}",
            "",
            "Transcript:",
        ]
        for message in card.get("transcript") or []:
            lines.append(f"[{message.get('author_role')}] {message.get('text') or ''}")
    return "\n".join(lines)


# -- dead letters (the console's Integrations page and /api/v1/integrations) ---------------


class NotADeadLetter(LookupError):
    """The id names no dead letter (never one, or already retried)."""


def dead_letters(db: Database, limit: int = 200) -> list[store.Row]:
    """The dead letters, newest first."""
    with db.read() as conn:
        return store.dead_letters(conn, limit=limit)


def retry_dead_letter(db: Database, row_id: int, actor: audit.Actor, now: datetime) -> None:
    """Put a dead letter back in line (due now, attempts from zero), audited."""
    with db.write() as conn:
        row = store.get(conn, row_id)
        if row is None or not store.revive(conn, row_id, now):
            raise NotADeadLetter(
                f"{row_id} is not a dead letter"
                + (f" (it is {row.status})" if row is not None else "")
                + "; list them with GET /api/v1/integrations/dead-letters"
            )
        audit.record(
            conn,
            "integration.retried",
            now=now,
            actor=actor,
            target=f"integration_outbox:{row_id}",
            before={"status": row.status, "error": row.last_error},
            after={"status": store.PENDING},
        )
    log.info("integration_dead_letter_retried", integration=row.integration, row_id=row_id)
