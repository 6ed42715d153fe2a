"""The pre-launch replay's HTML report opens in Chromium with no network: the verdict, the
chart of scores per intent against the gates, the intents table and what to fix first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from relaydesk.cli import cli
from tests.browser.conftest import SCREENSHOTS

HISTORY = Path(__file__).resolve().parents[1] / "fixtures" / "replay" / "shop_history.jsonl"


def test_the_report_opens_offline_with_its_chart(chromium: Any, tmp_path: Path) -> None:
    rows = HISTORY.read_text().splitlines()
    history = tmp_path / "history.jsonl"
    first = {json.loads(r)["conversation_id"] for r in rows[:400]}
    history.write_text("\n".join(r for r in rows if json.loads(r)["conversation_id"] in first))
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["replay", str(history), "--no-clusters", "--html", str(report)]
    )
    assert result.exit_code == 1, result.output  # not ready: too few samples in a slice

    page = chromium.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri())
    assert page.locator("#verdict").inner_text() == "Not ready"
    intents = page.locator("#intents tr")
    assert intents.count() > 3
    assert "greeting" in page.locator("#intents").inner_text()
    bars = page.locator("#intent-chart rect")
    assert bars.count() >= 3 * (intents.count() - 1)  # a track per score, and the bars
    gate_lines = page.locator("#intent-chart line")
    assert gate_lines.count() == 3 * (intents.count() - 1)
    assert page.locator("#remedies tr").count() > 1
    box = page.locator("#intent-chart").bounding_box()
    assert box is not None and box["height"] > 100
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "replay-report.png"), full_page=True)
    page.close()
    assert requested == [report.as_uri()], requested  # nothing but the file itself
