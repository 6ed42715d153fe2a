"""The console's Insights pages on a seeded history: charts and tables, the drill-down
from a figure to its conversations, CSV equal to the API's, supervisors only."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

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
