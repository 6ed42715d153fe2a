"""serve's `/metrics` with its worker child's metrics merged in (`app.worker_metrics`):
counters and histograms summed per series, gauges the web process's own, a child that does
not answer shown as `relaydesk_worker_metrics_up 0`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from relaydesk.app.worker_metrics import WorkerMetrics, free_loopback_port


def instruments(registry: CollectorRegistry) -> tuple[Counter, Histogram, Gauge]:
    return (
        Counter("t_messages", "messages", ["direction"], registry=registry),
        Histogram("t_seconds", "seconds", buckets=(1, 2), registry=registry),
        Gauge("t_depth", "depth read from the database", registry=registry),
    )


def series(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):  # raises on an invalid exposition
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in found, f"{key} twice"
            found[key] = s.value
    return found


@pytest.fixture
def child() -> Iterator[tuple[CollectorRegistry, str]]:
    registry = CollectorRegistry()
    port = free_loopback_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield registry, f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_counters_and_histograms_are_summed_and_gauges_are_the_web_processs(
    child: tuple[CollectorRegistry, str],
) -> None:
    web = CollectorRegistry()
    messages, seconds, depth = instruments(web)
    messages.labels("in").inc(3)
    seconds.observe(0.5)
    depth.set(7)
    child_registry, url = child
    c_messages, c_seconds, c_depth = instruments(child_registry)
    c_messages.labels("in").inc(1)
    c_messages.labels("out").inc(2)
    c_seconds.observe(1.5)
    c_depth.set(7)  # the same database read by the child: not added twice
    Counter("t_child_only", "only the child counts this", registry=child_registry).inc(4)

    reader = WorkerMetrics(url)
    try:
        got = series(reader.exposition(web).decode())
    finally:
        reader.close()
    assert got[("t_messages_total", (("direction", "in"),))] == 4
    assert got[("t_messages_total", (("direction", "out"),))] == 2
    assert got[("t_seconds_count", ())] == 2
    assert got[("t_seconds_sum", ())] == 2.0
    assert got[("t_seconds_bucket", (("le", "1.0"),))] == 1
    assert got[("t_seconds_bucket", (("le", "2.0"),))] == 2
    assert got[("t_depth", ())] == 7
    assert got[("t_child_only_total", ())] == 4
    assert got[("relaydesk_worker_metrics_up", ())] == 1


def test_a_child_that_does_not_answer_leaves_the_web_processs_metrics_and_says_so() -> None:
    web = CollectorRegistry()
    messages, _, _ = instruments(web)
    messages.labels("in").inc(3)
    reader = WorkerMetrics(f"http://127.0.0.1:{free_loopback_port()}/metrics", timeout=0.5)
    try:
        got = series(reader.exposition(web).decode())
    finally:
        reader.close()
    assert got[("t_messages_total", (("direction", "in"),))] == 3
    assert got[("relaydesk_worker_metrics_up", ())] == 0


def test_a_child_with_its_database_gauges_dropped_never_reads_them() -> None:
    """serve's child drops the gauges serve's /metrics reads itself: not computed at a
    scrape, not registered when watched later, and its counters still served."""
    from prometheus_client import generate_latest

    from relaydesk.observability import Metrics

    reads: list[str] = []

    def outbox() -> tuple[int, float]:
        reads.append("outbox")
        return 2, 5.0

    def scorecard() -> list[tuple[str, float]]:
        reads.append("scorecard")
        return [("csat", 4.5)]

    metrics = Metrics()
    metrics.watch_outbox(outbox)
    metrics.watch_scorecard(scorecard)
    metrics.decisions.labels("answer").inc()
    before = series(generate_latest(metrics.registry).decode())
    assert before[("relaydesk_outbox_depth", ())] == 2
    assert before[("relaydesk_scorecard", (("figure", "csat"),))] == 4.5
    reads.clear()

    metrics.drop_database_gauges()
    metrics.watch_pending(outbox)  # watched after the drop: never registered
    after = series(generate_latest(metrics.registry).decode())

    assert reads == []
    dropped = ("relaydesk_outbox", "relaydesk_scorecard", "relaydesk_pending")
    assert [name for name, _ in after if name.startswith(dropped)] == []
    assert after[("relaydesk_decisions_total", (("action", "answer"),))] == 1
