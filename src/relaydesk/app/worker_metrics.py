"""The worker's Prometheus metrics on the web process's `/metrics`.

`relaydesk serve` decides and sends in a child process (`app.worker_process`), so the
counters of those stages (decisions, messages sent and failed, Graph API errors, the
decide stage's CPU, the integrations' deliveries) live in the child. The child serves them
on a loopback port (`relaydesk worker --metrics-port`) and the web process's `/metrics`
reads them at scrape time and merges them with its own, so one scrape target shows both:

- a counter or histogram series both processes have (the same labels) is the sum of the
  two (the child's `_created` times are left out);
- a gauge read from the database (outbox depth, pending decisions, the scorecard, the
  integration outbox) is the web process's own reading: the child does not compute them
  at all (`Metrics.drop_database_gauges`), and a gauge both have is the web process's;
- a family only the child has is shown as the child serves it;
- `relaydesk_worker_metrics_up` is 1 when the child answered, 0 when it did not (the
  child is starting, restarting, or its port was taken), so a dashboard can tell missing
  counters from idle ones.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import httpx
import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

#: How long a scrape waits for the child's metrics before showing the web process's alone.
TIMEOUT_SECONDS = 1.0
_SUMMED = frozenset({"counter", "histogram", "summary"})


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def merge(own: Iterable[Metric], other: Iterable[Metric]) -> list[Metric]:
    """`own` families with `other`'s merged in (the rules in the module's docstring)."""
    families = list(own)
    by_name = {family.name: family for family in families}
    other = list(other)
    # The text format's `<counter>_created` lines parse as gauges of their own: the web
    # process's counters already carry theirs, and a second family of that name would make
    # the exposition invalid.
    created = {f"{family.name}_created" for family in other if family.type in _SUMMED}
    for family in other:
        if family.name in created:
            continue
        mine = by_name.get(family.name)
        if mine is None:
            families.append(family)
            by_name[family.name] = family
        elif mine.type == family.type and mine.type in _SUMMED:
            _add(mine, family)
    return families


def _add(mine: Metric, other: Metric) -> None:
    at = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(mine.samples)}
    for sample in other.samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        index = at.get(key)
        if index is None:
            at[key] = len(mine.samples)
            mine.samples.append(sample)
        elif not sample.name.endswith("_created"):
            mine.samples[index] = mine.samples[index]._replace(
                value=mine.samples[index].value + sample.value
            )


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class WorkerMetrics:
    """Reads the child's metrics at `url` and renders them merged with `registry`'s."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout)

    def read(self) -> list[Metric] | None:
        """The child's families, or None when it did not answer."""
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
            return list(text_string_to_metric_families(response.text))
        except (httpx.HTTPError, ValueError) as exc:
            log.info("worker_metrics_unavailable", url=self.url, error=type(exc).__name__)
            return None

    def exposition(self, registry: CollectorRegistry) -> bytes:
        child = self.read()
        up = GaugeMetricFamily(
            "relaydesk_worker_metrics_up",
            "1 when serve's worker child answered this scrape with its metrics, else 0.",
            value=0 if child is None else 1,
        )
        merged = CollectorRegistry()
        merged.register(_Families([*merge(registry.collect(), child or ()), up]))
        return generate_latest(merged)

    def close(self) -> None:
        self._client.close()
