"""`/api/v1/metrics` over HTTP on a seeded history: the scorecard and every table as JSON
and as equal CSV, the drill-down from a figure to its conversations, who may read them,
and bad queries refused with 422 naming the value."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from relaydesk.adapters.storage.tables import conversation_summaries, conversations, decisions
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


def refused(logs: list[dict[str, Any]]) -> list[str]:
    """The problems of the refused Insights queries logged."""
    return [e["problem"] for e in logs if e["event"] == "metrics_query_refused"]


async def test_a_period_near_1970_is_answered_in_the_terms_given(harness: Harness) -> None:
    api, headers = harness.client, lead(harness)
    # the period before (1969-12-28 to 1970-01-01) is out of range: no comparison, no 422
    first_days = await api.get(
        "/api/v1/metrics/scorecard?start=1970-01-01T00:00:00Z&end=1970-01-05T00:00:00Z",
        headers=headers,
    )
    assert first_days.status_code == 200, first_days.text
    assert all(row["previous"] is None for row in first_days.json()["rows"])
    # the period before is kept from 1970-01-01; the default start too
    for query, start in (
        ("start=1970-01-03T00:00:00Z&end=1970-01-05T00:00:00Z", "1970-01-03T00:00:00+00:00"),
        ("end=1970-01-03T00:00:00Z", "1970-01-01T00:00:00+00:00"),
        ("end=1970-01-03T00:00:00%2B05:00", "1970-01-01T00:00:00+05:00"),
        ("start=9000-12-24T00:00:00Z&end=9000-12-31T23:00:00-05:00", "9000-12-24T00:00:00+00:00"),
    ):
        response = await api.get(f"/api/v1/metrics/scorecard?{query}", headers=headers)
        assert response.status_code == 200, (query, response.text)
        assert response.json()["start"] == start
    with capture_logs() as logs:
        nothing = await api.get(
            "/api/v1/metrics/scorecard?end=1970-01-01T00:00:00Z", headers=headers
        )
    assert nothing.status_code == 422
    problem = nothing.json()["detail"]
    assert problem.startswith("end 1970-01-01T00:00:00+00:00 leaves no time after")
    assert "1969" not in problem and "give a later end" in problem
    assert refused(logs) == [problem]


NOT_TAKEN = [
    ("scorecard?by=bogus", "by='bogus' does not apply to the scorecard table; scorecard takes "
     "start, end, queue, intent, source, number and status"),
    ("scorecard?figure=bogus", "figure='bogus' does not apply to the scorecard table"),
    ("failures?by=bogus", "by='bogus' does not apply to the failures table; failures takes start"),
    ("conversations?by=bogus", "by='bogus' does not apply to the conversations table; "
     "conversations takes figure, start, end"),
    ("cohorts?figure=csat", "figure='csat' does not apply to the cohorts table; cohorts takes "
     "by, start"),
    ("sla.csv?figure=csat", "figure='csat' does not apply to the sla table"),
]  # fmt: skip


async def test_a_parameter_the_table_does_not_take_is_refused_naming_it(
    harness: Harness,
) -> None:
    for query, message in NOT_TAKEN:
        with capture_logs() as logs:
            response = await harness.client.get(f"/api/v1/metrics/{query}", headers=lead(harness))
        assert response.status_code == 422, (query, response.text)
        assert message in response.json()["detail"], query
        assert refused(logs) == [response.json()["detail"]]


def history_of_an_older_brief(harness: Harness) -> int:
    """A few seeded conversations, one of them in a queue and with an intent the running
    brief no longer has; its id."""
    container = harness.container
    seed(container.db, container.brief, conversations_wanted=12, now=container.worker._clock(),
         weeks=1)  # fmt: skip
    with container.db.write() as conn:
        cid = conn.execute(select(func.max(conversations.c.id))).scalar_one()
        conn.execute(update(conversations).where(conversations.c.id == cid).values(queue="legacy"))
        conn.execute(
            update(decisions).where(decisions.c.conversation_id == cid).values(intent="old_intent")
        )
    return int(cid)


async def test_an_unknown_queue_intent_or_source_is_refused_listing_the_valid_ones(
    harness: Harness,
) -> None:
    cid = history_of_an_older_brief(harness)
    brief = harness.container.brief
    week = "start=" + (harness.container.worker._clock() - timedelta(days=8)).isoformat()
    week = week.replace("+", "%2B")
    for query, message in (
        ("queue=nosuchqueue", f"queue 'nosuchqueue' is neither a queue of the brief nor one a "
         f"stored conversation is in; expected one of: {', '.join(sorted(brief.queues))}"),
        ("intent=nosuch", f"intent 'nosuch' is neither an intent of the brief nor one a stored "
         f"conversation has; expected one of: {', '.join(sorted(brief.intents))}, (none)"),
        ("source=nosuch", "source 'nosuch'; expected one of: organic, ad, campaign"),
    ):  # fmt: skip
        for path in ("conversations", "scorecard.csv"):
            with capture_logs() as logs:
                response = await harness.client.get(
                    f"/api/v1/metrics/{path}?{query}&{week}", headers=lead(harness)
                )
            assert response.status_code == 422, (query, response.text)
            assert response.json()["detail"] == message
            assert refused(logs) == [message]
    for query in ("queue=legacy", "intent=old_intent"):  # a history under an older brief
        response = await harness.client.get(
            f"/api/v1/metrics/conversations?{query}&{week}", headers=lead(harness)
        )
        assert response.status_code == 200, (query, response.text)
        assert [row["id"] for row in response.json()["rows"]] == [cid]
    for query in ("intent=(none)", f"queue={next(iter(brief.queues))}", "number=12345"):
        response = await harness.client.get(
            f"/api/v1/metrics/conversations?{query}&{week}", headers=lead(harness)
        )
        assert response.status_code == 200, (query, response.text)


async def test_a_refused_query_writes_nothing(harness: Harness) -> None:
    history_of_an_older_brief(harness)
    db = harness.container.db
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(conversation_summaries)).scalar() == 0
    week = "start=" + (harness.container.worker._clock() - timedelta(days=8)).isoformat()
    week = week.replace("+", "%2B")
    for query in ("conversations?figure=bogus", "scorecard?by=bogus", "cohorts?by=team",
                  "conversations?queue=nosuchqueue", "scorecard?intent=nosuch",
                  "failures?source=nosuch", "sla?status=closed"):  # fmt: skip
        response = await harness.client.get(
            f"/api/v1/metrics/{query}&{week}", headers=lead(harness)
        )
        assert response.status_code == 422, (query, response.text)
        with db.read() as conn:
            written = conn.execute(select(func.count()).select_from(conversation_summaries))
            assert written.scalar() == 0, query
    fine = await harness.client.get(f"/api/v1/metrics/conversations?{week}", headers=lead(harness))
    assert fine.status_code == 200 and fine.json()["rows"]
    with db.read() as conn:  # a page that answers stores what it summarised
        assert conn.execute(select(func.count()).select_from(conversation_summaries)).scalar()
