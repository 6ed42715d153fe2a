"""The console's Insights pages on a seeded history: charts and tables, the drill-down
from a figure to its conversations, CSV equal to the API's, supervisors only."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from relaydesk.adapters.storage.tables import conversations, decisions
from relaydesk.services.demo_seed import seed
from tests.acceptance.desk import lead
from tests.acceptance.test_console import Console, console, signed_in

__all__ = ["console"]  # the fixture


def seeded(console: Console) -> tuple[str, str]:
    """200 conversations over 2 weeks; the console's and the API's query for those days."""
    container = console.harness.container
    now = console.clock()
    seed(container.db, container.brief, conversations_wanted=200, now=now, weeks=2)
    zone = container.brief.timezone
    last = now.astimezone(zone).date()
    first = last - timedelta(days=14)
    start = datetime.combine(first, time(), zone).isoformat()
    end = datetime.combine(last + timedelta(days=1), time(), zone).isoformat()
    api = f"start={start}&end={end}".replace("+", "%2B")
    return f"start={first}&end={last}", api


async def test_insights_show_charts_drill_down_and_export_the_apis_csv(console: Console) -> None:
    page_query, api_query = seeded(console)
    browser = await signed_in(console, "lead2@example.com", "supervisor")
    api = console.harness.client
    headers = lead(console.harness)

    page = await browser.get(f"/console/insights?{page_query}")

    assert page.status_code == 200, page.text
    assert 'id="scorecard-chart"' in page.text and "<rect" in page.text
    assert 'data-figure="deflection"' in page.text
    assert 'href="/console/insights" aria-current="page"' in page.text
    for name, extra in (("scorecard", ""), ("cohorts", "&by=intent"), ("sla", "&by=queue"),
                        ("failures", "")):  # fmt: skip
        mine = await browser.get(f"/console/insights/{name}.csv?{page_query}{extra}")
        theirs = await api.get(f"/api/v1/metrics/{name}.csv?{api_query}{extra}", headers=headers)
        assert mine.status_code == theirs.status_code == 200, mine.text
        assert mine.text == theirs.text
        assert f"/console/insights/{name}.csv?" in page.text

    drill = await browser.get(f"/console/insights/conversations?{page_query}&figure=deflection")
    assert drill.status_code == 200
    listed = re.findall(r'href="/console/conversations/(\d+)"', drill.text)
    expected = await api.get(
        f"/api/v1/metrics/conversations?{api_query}&figure=deflection", headers=headers
    )
    assert [int(i) for i in listed] == [row["id"] for row in expected.json()["rows"]]
    assert listed


async def test_insights_are_for_supervisors_and_refuse_a_bad_date(console: Console) -> None:
    agent = await signed_in(console, "agent7@example.com", "agent")
    assert (await agent.get("/console/insights")).status_code == 403
    assert (await agent.get("/console/insights/scorecard.csv")).status_code == 403
    lead_browser = await signed_in(console, "lead3@example.com", "supervisor")
    page = await lead_browser.get("/console/insights?start=23/11/2026")
    assert page.status_code == 422
    assert "start &#39;23/11/2026&#39; is not a date; write YYYY-MM-DD" in page.text
    csv = await lead_browser.get("/console/insights/nonsense.csv")
    assert csv.status_code == 422
    assert "table 'nonsense'; expected one of" in csv.text


async def test_the_change_log_page_lists_brief_versions_and_other_changes(
    console: Console,
) -> None:
    from relaydesk.services import change_log

    container = console.harness.container
    with container.db.write() as conn:
        change_log.append(conn, "rollout", "expand to 50% of traffic", now=console.clock(),
                          author="Tom")  # fmt: skip
    browser = await signed_in(console, "lead4@example.com", "supervisor")

    page = await browser.get("/console/insights/changes")

    assert page.status_code == 200, page.text
    assert f"this service runs brief version {container.brief.version}" in page.text
    assert page.text.index("expand to 50% of traffic") < page.text.index(
        f"loaded from {container.settings.brief}"
    )  # newest first: the brief was stored when the process started
    agent = await signed_in(console, "agent8@example.com", "agent")
    assert (await agent.get("/console/insights/changes")).status_code == 403


def refused(logs: list[dict[str, Any]]) -> list[str]:
    """The problems of the refused Insights pages logged."""
    return [e["problem"] for e in logs if e["event"] == "insights_query_refused"]


def error_of(page: httpx.Response) -> str:
    found = re.search(r'data-testid="form-error">([^<]*)<', page.text)
    assert found, page.text[:500]
    return html.unescape(found.group(1))


async def test_days_near_the_supported_range_are_answered_in_the_terms_given(
    console: Console,
) -> None:
    browser = await signed_in(console, "lead5@example.com", "supervisor")
    for query in ("start=1970-01-01&end=1970-01-05", "end=1970-01-01", "end=1970-01-03",
                  "start=9000-12-30&end=9000-12-31"):  # fmt: skip
        page = await browser.get(f"/console/insights?{query}")
        assert page.status_code == 200, (query, page.text[:300])
        assert 'data-testid="form-error"' not in page.text
        csv = await browser.get(f"/console/insights/scorecard.csv?{query}")
        assert csv.status_code == 200, (query, csv.text)
    today = console.clock().astimezone(console.harness.container.brief.timezone).date()
    for query, message in (
        ("end=0001-01-07", "end 0001-01-07 is out of range (1970 to 9000); give a end from "),
        ("start=9001-01-01", "start 9001-01-01 is out of range (1970 to 9000)"),
        ("start=2026-11-30&end=2026-11-23", "start 2026-11-30 is after end 2026-11-23; give a "
         "start on or before the end"),
        ("start=9000-01-01", f"start 9000-01-01 is after end {today} (today, the default)"),
        ("start=2024-01-01&end=2026-01-01", "start 2024-01-01 to end 2026-01-01: the period is "
         "732 days, longer than 366 days; shorten it"),
    ):  # fmt: skip
        with capture_logs() as logs:
            page = await browser.get(f"/console/insights?{query}")
        assert page.status_code == 422, (query, page.text[:300])
        assert error_of(page).startswith(message), (query, error_of(page))
        assert refused(logs) == [error_of(page)]


async def test_a_parameter_a_page_does_not_take_is_refused_naming_it(console: Console) -> None:
    browser = await signed_in(console, "lead6@example.com", "supervisor")
    for path, message in (
        ("scorecard.csv?by=nonsense", "by='nonsense' does not apply to the scorecard table; "
         "scorecard takes start, end, queue, intent, source, number and status"),
        ("failures.csv?figure=csat", "figure='csat' does not apply to the failures table"),
        ("conversations.csv?by=intent", "by='intent' does not apply to the conversations table; "
         "conversations takes figure, start"),
    ):  # fmt: skip
        with capture_logs() as logs:
            csv = await browser.get(f"/console/insights/{path}")
        assert csv.status_code == 422, (path, csv.text)
        assert csv.text.startswith(message), csv.text
        assert refused(logs) == [csv.text]
    for path, message in (
        ("?figure=csat", "figure='csat' does not apply to the Insights page; it takes start, "
         "end, queue, intent, source, number and status (figure is for "
         "/console/insights/conversations)"),
        ("?by=intent", "by='intent' does not apply to the Insights page"),
        ("/conversations?by=intent", "by='intent' does not apply to the conversations table"),
    ):  # fmt: skip
        with capture_logs() as logs:
            page = await browser.get(f"/console/insights{path}")
        assert page.status_code == 422, (path, page.text[:300])
        assert error_of(page).startswith(message), error_of(page)
        assert refused(logs) == [error_of(page)]


async def test_an_unknown_queue_intent_or_source_is_refused_on_the_page(console: Console) -> None:
    browser = await signed_in(console, "lead7@example.com", "supervisor")
    brief = console.harness.container.brief
    queues, intents = ", ".join(sorted(brief.queues)), ", ".join(sorted(brief.intents))
    for query, message in (
        ("queue=nosuch", f"queue 'nosuch' is neither a queue of the brief nor one a stored "
         f"conversation is in; expected one of: {queues}"),
        ("intent=nosuch", f"intent 'nosuch' is neither an intent of the brief nor one a stored "
         f"conversation has; expected one of: {intents}, (none)"),
        ("source=nosuch", "source 'nosuch'; expected one of: organic, ad, campaign"),
    ):  # fmt: skip
        for path in ("", "/conversations"):
            with capture_logs() as logs:
                page = await browser.get(f"/console/insights{path}?{query}")
            assert page.status_code == 422, (path, query, page.text[:300])
            assert error_of(page) == message
            assert refused(logs) == [message]
        csv = await browser.get(f"/console/insights/sla.csv?{query}")
        assert (csv.status_code, csv.text) == (422, message)


async def test_every_link_of_the_page_works_with_a_history_of_an_older_brief(
    console: Console,
) -> None:
    container = console.harness.container
    seed(container.db, container.brief, conversations_wanted=60, now=console.clock(), weeks=1)
    with container.db.write() as conn:  # queue and intent of an older brief
        cid = conn.execute(select(func.max(conversations.c.id))).scalar_one()
        conn.execute(update(conversations).where(conversations.c.id == cid).values(queue="legacy"))
        conn.execute(
            update(decisions).where(decisions.c.conversation_id == cid).values(intent="old_intent")
        )
    browser = await signed_in(console, "lead8@example.com", "supervisor")
    page = await browser.get("/console/insights")
    assert page.status_code == 200
    links = {html.unescape(h) for h in re.findall(r'href="(/console/insights[^"]*)"', page.text)}
    assert any("intent=old_intent" in link for link in links)
    assert any("intent=%28none%29" in link for link in links)
    drills = [link for link in links if link.startswith("/console/insights/conversations?")]
    for link in sorted(links):
        response = await browser.get(link)
        assert response.status_code == 200, (link, response.text[:300])
    for link in drills:  # and back: the Insights page takes no figure
        drill = await browser.get(link)
        back = re.search(r'href="(/console/insights\?[^"]*)">Back to Insights', drill.text)
        assert back, drill.text[:300]
        assert "figure=" not in back.group(1)
        assert (await browser.get(html.unescape(back.group(1)))).status_code == 200
    older = await browser.get("/console/insights?intent=old_intent&queue=legacy")
    assert older.status_code == 200
    assert "<option selected>old_intent</option>" in older.text  # the form keeps the filter
    assert "<option selected>legacy</option>" in older.text
