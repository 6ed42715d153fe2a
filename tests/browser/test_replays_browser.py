"""The Replays page in real Chromium against the live server (whose embedded worker runs
the replay jobs): a supervisor uploads a history, the list follows the job to done without
a reload, and the report opens in the console, self-contained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.acceptance.replay_uploads import customer_turns, history_slice
from tests.browser.conftest import SCREENSHOTS, LiveServer, new_context, screenshot
from tests.browser.test_console_browser import sign_in

CONVERSATIONS = 60


def test_a_supervisor_replays_a_history_and_opens_the_report(
    chromium: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    server = live_server
    server.user("rita@example.com", "supervisor", name="Rita Lead")
    history = tmp_path / "shop-history.jsonl"
    history.write_bytes(history_slice(CONVERSATIONS))
    turns = customer_turns(history.read_bytes())

    context = new_context(chromium)
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        sign_in(page, server.base_url, "rita@example.com")
        page.get_by_role("link", name="Replays").click()
        page.wait_for_url(f"{server.base_url}/console/replays")
        page.get_by_label("History file").set_input_files(str(history))
        page.get_by_role("button", name="Replay").click()

        page.wait_for_url(f"{server.base_url}/console/replays?done=replay_queued")
        assert page.get_by_text("History uploaded; the worker replays it next.").is_visible()
        page.evaluate("window.__notReloaded = true")
        row = page.locator("tr[data-replay]").first
        assert row.get_attribute("data-state") in ("queued", "running", "done")
        # The embedded worker replays it; the list follows by itself, without a reload.
        page.locator('tr[data-replay][data-state="done"]').wait_for(timeout=180_000)
        assert page.evaluate("window.__notReloaded") is True
        done = page.locator('tr[data-replay][data-state="done"]')
        assert f"{turns} / {turns} turns, {CONVERSATIONS} conversations" in done.inner_text()
        assert "Not ready" in done.inner_text()  # a slice holds too few samples per intent
        screenshot(page, "replay-console-list")

        done.get_by_role("link", name="Open report").click()
        page.wait_for_url(f"{server.base_url}/console/replays/*/report")
        assert page.locator("#verdict").inner_text() == "Not ready"
        assert page.locator("#intents tr").count() > 3
        assert page.locator("#intent-chart rect").count() > 3
        assert page.locator("#remedies tr").count() > 1
        box = page.locator("#intent-chart").bounding_box()
        assert box is not None and box["height"] > 100
        # What the supervisor sees as it opens: the verdict and the chart of scores.
        path = SCREENSHOTS / "replay-console.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        elsewhere = [url for url in requested if not url.startswith(server.base_url)]
        assert elsewhere == [], elsewhere
    finally:
        context.close()
