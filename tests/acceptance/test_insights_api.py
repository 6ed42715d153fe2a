"""`/api/v1/metrics` over HTTP on a seeded history: the scorecard and every table as JSON
and as equal CSV, the drill-down from a figure to its conversations, who may read them,
and bad queries refused with 422 naming the value."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from relaydesk.services.demo_seed import seed
from tests.acceptance.desk import lead, person
from tests.conftest import Harness


def seeded(harness: Harness) -> str:
    """200 conversations over the last 2 weeks; the query string of those 2 weeks."""
    now = harness.container.worker._clock()
    seed(harness.container.db, harness.container.brief, conversations_wanted=200, now=now,
         weeks=2)  # fmt: skip
    start = (now - timedelta(days=14, minutes=1)).isoformat()
    end = (now + timedelta(minutes=1)).isoformat()
    return f"start={start}&end={end}".replace("+", "%2B")


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


QUERIES = ("scorecard?", "cohorts?by=intent&", "sla?by=agent&", "failures?",
           "conversations?figure=deflection&")  # fmt: skip


async def test_every_table_as_json_and_the_same_rows_as_csv(harness: Harness) -> None:
    period = seeded(harness)
    for query in QUERIES:
        path, _, params = query.partition("?")
        json_response = await harness.client.get(
            f"/api/v1/metrics/{path}?{params}{period}", headers=lead(harness)
        )
        assert json_response.status_code == 200, json_response.text
        body = json_response.json()
        assert body["rows"], f"the seeded history fills {path}"
        csv_response = await harness.client.get(
            f"/api/v1/metrics/{path}.csv?{params}{period}", headers=lead(harness)
        )
        assert csv_response.status_code == 200, csv_response.text
        assert csv_response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(csv_response.text)))
        assert rows[0] == body["columns"]
        assert rows[1:] == [[as_text(r[c]) for c in body["columns"]] for r in body["rows"]]


async def test_a_figure_drills_down_to_the_conversations_it_counted(harness: Harness) -> None:
    period = seeded(harness)
    card = await harness.client.get(f"/api/v1/metrics/scorecard?{period}", headers=lead(harness))
    lines = {line["key"]: line for line in card.json()["rows"]}
    everything = await harness.client.get(
        f"/api/v1/metrics/conversations?{period}", headers=lead(harness)
    )
    total = everything.json()["rows"]
    assert lines["deflection"]["count"] == len(total)
    behind = await harness.client.get(
        f"/api/v1/metrics/conversations?figure=deflection&{period}", headers=lead(harness)
    )
    bot_only = behind.json()["rows"]
    assert bot_only and all(not row["escalated"] for row in bot_only)
    assert round(len(bot_only) / len(total), 4) == lines["deflection"]["value"]
    ad = await harness.client.get(
        f"/api/v1/metrics/conversations?source=ad&{period}", headers=lead(harness)
    )
    assert {row["source"] for row in ad.json()["rows"]} == {"ad"}
    kept = await harness.client.get(
        f"/api/v1/metrics/conversations?status=bot&{period}", headers=lead(harness)
    )
    assert kept.json()["rows"]
    assert {row["status"] for row in kept.json()["rows"]} == {"bot"}  # bot-only ones listed


async def test_agents_may_not_read_the_metrics(harness: Harness) -> None:
    _, agent = person(harness, "agent@example.com")
    response = await harness.client.get("/api/v1/metrics/scorecard", headers=agent)
    assert response.status_code == 403
    assert (await harness.client.get("/api/v1/metrics/scorecard")).status_code == 401


BAD_QUERIES = [
        ("nonsense", "table 'nonsense'; expected one of: scorecard, cohorts"),
        ("conversations?status=closed", "status 'closed'; expected one of: bot, queued"),
        ("cohorts?by=campaign", "by='campaign' for cohorts; expected one of: source, intent"),
        ("sla?by=team", "by='team' for sla; expected one of: priority, queue, agent"),
        ("conversations?figure=nps", "figure 'nps'; expected one of: first_response_p50"),
        ("scorecard?start=2026-11-30T00:00:00Z&end=2026-11-23T00:00:00Z",
         "end 2026-11-23T00:00:00+00:00 is not after start 2026-11-30T00:00:00+00:00"),
        ("scorecard?start=2024-01-01T00:00:00Z&end=2026-01-01T00:00:00Z",
         "the period is longer than 366 days"),
        ("scorecard?start=2026-11-23T00:00:00", "start and end need a time zone"),
        ("scorecard?end=0001-01-02T00:00:00Z", "end 0001-01-02T00:00:00+00:00 is out of range"),
    ]  # fmt: skip


async def test_bad_queries_are_refused_naming_the_value(harness: Harness) -> None:
    for query, message in BAD_QUERIES:
        response = await harness.client.get(f"/api/v1/metrics/{query}", headers=lead(harness))
        assert response.status_code == 422, (query, response.text)
        assert message in response.text


async def test_prometheus_reports_the_scorecard(harness: Harness) -> None:
    seeded(harness)
    body = (await harness.client.get("/metrics")).text
    figures = dict(
        line.removeprefix('relaydesk_scorecard{figure="').split('"} ')
        for line in body.splitlines()
        if line.startswith("relaydesk_scorecard{")
    )
    assert 0 < float(figures["deflection"]) < 1
    assert float(figures["first_response_p90"]) > 0
