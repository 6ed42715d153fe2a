"""The console's Insights page in Chromium on a seeded history: the scorecard chart drawn
(server-side SVG, nothing fetched from elsewhere), the tables filled, and a figure's bar
leading to the conversations behind it. Screenshot: artifacts/screenshots/insights.png."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from relaydesk.bootstrap import build
from relaydesk.config import load_settings
from relaydesk.services import accounts
from relaydesk.services.demo_seed import seed
from tests.browser.conftest import PASSWORD, SCREENSHOTS, free_port, wait_for


@pytest.fixture
def seeded_server(tmp_path: Path) -> Iterator[str]:
    """The app (no worker: nothing to decide) on a loopback port, over 600 seeded
    conversations and a supervisor."""
    from relaydesk.app.http.main import create_app

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {
            "RELAYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'insights.sqlite'}",
            "RELAYDESK_LOG_LEVEL": "warning",
        }
    )
    container = build(settings, base_url=base_url, migrate=True)
    now = datetime.now(UTC)
    seed(container.db, container.brief, conversations_wanted=600, now=now, weeks=2)
    with container.db.write() as conn:
        accounts.create_user(conn, email="lead@example.com", name="Lead", role="supervisor",
                             password=PASSWORD, now=now)  # fmt: skip
    app = create_app(container, run_worker=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "uvicorn to start", timeout=60)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_insights_draw_their_charts_and_drill_down(chromium: Any, seeded_server: str) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{seeded_server}/console/login")
    page.get_by_label("Email").fill("lead@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console")

    page.get_by_role("link", name="Insights").click()
    page.wait_for_url("**/console/insights")

    chart = page.locator("#scorecard-chart")
    box = chart.bounding_box()
    assert box is not None and box["height"] > 200
    assert page.locator("#scorecard-chart rect").count() > 10  # tracks and bars
    assert page.locator("#scorecard tbody tr").count() == 18  # with qualified, conversions
    assert page.locator("#cohorts-intent tbody tr").count() > 5
    assert "Seed agent" in page.locator("#sla-agent").inner_text()  # names, not ids
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "insights.png"), full_page=True)
    assert all(url.startswith(seeded_server) for url in requested), requested

    page.locator('#scorecard tr[data-figure="deflection"] a').click()
    page.wait_for_url("**/console/insights/conversations?**figure=deflection**")
    assert page.locator("#conversations tbody tr").count() > 10
    page.close()
