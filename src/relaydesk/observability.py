"""Prometheus metrics and structured logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO, cast

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from relaydesk.redaction import redact_event


class Metrics:
    """The service's metrics, on a registry of their own (one per app, so tests stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._database_gauges: list[Collector] = []
        self._database_gauges_dropped = False
        self.webhook_requests = Counter(
            "relaydesk_webhook_requests",
            "Webhook POSTs by outcome (ok, bad_signature, too_large, bad_payload, unavailable).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            "relaydesk_webhook_seconds",
            "Time from request to acknowledgement of webhook POSTs.",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.messages = Counter(
            "relaydesk_messages",
            "Messages stored, by direction (in, out) and outcome (new, duplicate, sent, failed).",
            ["direction", "outcome"],
            registry=self.registry,
        )
        self.statuses = Counter(
            "relaydesk_statuses",
            "Delivery status webhooks by status and outcome (applied, duplicate).",
            ["status", "outcome"],
            registry=self.registry,
        )
        self.send_errors = Counter(
            "relaydesk_send_errors",
            "Graph API send errors by WhatsApp error code ('transport' for network errors).",
            ["code"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "relaydesk_decisions",
            "Decisions by action.",
            ["action"],
            registry=self.registry,
        )

        self.stage_cpu = Counter(
            "relaydesk_stage_cpu_seconds",
            "CPU time (of the thread doing it) spent per stage of the message path: receive "
            "(signature, parsing), store (the acknowledging transaction), decide "
            "(understanding, policy and its transaction).",
            ["stage"],
            registry=self.registry,
        )

    def watch_database(self, collector: Collector) -> None:
        """Register a collector of gauges read from the database at scrape time (outbox
        depth, pending decisions, the scorecard, the integration outbox): unless this
        process's gauges were dropped (`drop_database_gauges`)."""
        if self._database_gauges_dropped:
            return
        self.registry.register(collector)
        self._database_gauges.append(collector)

    def drop_database_gauges(self) -> None:
        """Stop reading the database-read gauges, now and for collectors watched later: for
        serve's worker child, whose metrics serve's /metrics merges with its own and where
        serve's own reading of these gauges is the one shown (`app.worker_metrics`), so the
        child's would be computed at every scrape and thrown away."""
        self._database_gauges_dropped = True
        for collector in self._database_gauges:
            self.registry.unregister(collector)
        self._database_gauges.clear()

    def watch_outbox(self, read: Callable[[], tuple[int, float]]) -> None:
        """Report outbox depth and oldest age, read from the database at scrape time."""
        self.watch_database(
            _DepthCollector(
                read,
                ("relaydesk_outbox_depth", "Outbound messages not yet accepted."),
                (
                    "relaydesk_outbox_oldest_seconds",
                    "Age of the oldest outbound message not yet accepted.",
                ),
            )
        )

    def watch_pending(self, read: Callable[[], tuple[int, float]]) -> None:
        """Report the messages acknowledged but not yet decided on, and the oldest's age."""
        self.watch_database(
            _DepthCollector(
                read,
                ("relaydesk_pending_decisions", "Messages acknowledged, not yet decided on."),
                (
                    "relaydesk_pending_oldest_seconds",
                    "Age of the oldest message waiting for a decision.",
                ),
            )
        )

    def watch_intake(self, read: Callable[[], tuple[int, float]]) -> None:
        """Report the webhooks acknowledged into the intake file (SQLite) and not yet moved
        into the database by the worker, and the oldest's age."""
        self.watch_database(
            _DepthCollector(
                read,
                (
                    "relaydesk_intake_waiting",
                    "Webhooks acknowledged into the intake file, not yet moved into the database.",
                ),
                (
                    "relaydesk_intake_oldest_seconds",
                    "Age of the oldest webhook waiting in the intake file.",
                ),
            )
        )

    def watch_scorecard(self, read: Callable[[], Sequence[tuple[str, float]]]) -> None:
        """Report the scorecard's figures (`services.insights.ScorecardGauges`)."""
        self.watch_database(_ScorecardCollector(read))


class _ScorecardCollector(Collector):
    def __init__(self, read: Callable[[], Sequence[tuple[str, float]]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception:  # the database may be down; /readyz says so, metrics stay up
            return []
        family = GaugeMetricFamily(
            "relaydesk_scorecard",
            "The scorecard over the conversations that started in the last 7 days, by figure "
            "(seconds for times, 0-1 for rates, 1-5 for CSAT; docs/insights.md); recomputed "
            "at most every 5 minutes.",
            labels=["figure"],
        )
        for figure, value in values:
            family.add_metric([figure], value)
        return [family]


class _DepthCollector(Collector):
    def __init__(
        self,
        read: Callable[[], tuple[int, float]],
        depth: tuple[str, str],
        oldest: tuple[str, str],
    ) -> None:
        self._read = read
        self._names = (depth, oldest)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            values = self._read()
        except Exception:  # the database may be down; /readyz says so, metrics stay up
            return []
        return [
            GaugeMetricFamily(name, help_text, value=value)
            for (name, help_text), value in zip(self._names, values, strict=True)
        ]


def log_processors(fmt: str = "json") -> list[structlog.typing.Processor]:
    """The processor chain of every log line: context, level, time, exception text, the
    personal-data redaction (`redaction`), then JSON lines or plain text."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_event,
        renderer,
    ]


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured:
    loggers are cached on first use, and a command run inside another (click's test
    runner, an embedded CLI call) swaps the stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = cast("TextIO", _CurrentStderr())  # PrintLogger only calls write and flush


def configure_logging(level: str = "info", fmt: str = "json", *, cache: bool = False) -> None:
    """JSON lines on stderr, personal data redacted from every field (`redaction`).

    `cache` keeps each logger's processor chain after its first use: for the long-lived
    processes (serve, worker), where it saves work on every line; a one-shot command leaves
    it off so that logging can be configured again in the same interpreter."""
    structlog.configure(
        processors=log_processors(fmt),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(_STDERR),
        cache_logger_on_first_use=cache,
    )
