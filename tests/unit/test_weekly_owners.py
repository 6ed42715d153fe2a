"""The weekly review names the brief's `owners`: all of them near the top, and beside each
section the one who acts on it; an owner left empty is left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relaydesk.brief import EXAMPLE_BRIEF, load_brief
from relaydesk.reports.weekly import render_html, render_markdown
from relaydesk.services.weekly import WeeklyReview, named_owners, week

MARTA, TOM, AISHA = (
    "Marta Ruiz <marta@northwindgoods.example>",
    "Tom Becker <tom@northwindgoods.example>",
    "Aisha Khan <aisha@northwindgoods.example>",
)
EXAMPLE_OWNERS = {  # as in the example brief
    "brief": MARTA,
    "answers": MARTA,
    "routing": TOM,
    "escalation": TOM,
    "reporting": AISHA,
}


def empty_week(owners: dict[str, str]) -> WeeklyReview:
    return WeeklyReview(
        business="Northwind Goods",
        owners=owners,
        week=week("2026-W48", ZoneInfo("Europe/Madrid")),
        now=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        brief_version="0123456789ab",
        conversations=0,
        previous_conversations=0,
        scorecard=[],
        cohorts={},
        failures=[],
        escalated=[],
        bot_only=[],
        changes=[],
        daily=[],
    )


def section(markdown: str, heading: str) -> str:
    start = markdown.index(f"## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


def test_the_owners_line_and_each_sections_owner() -> None:
    markdown = render_markdown(empty_week(EXAMPLE_OWNERS))
    top = markdown[: markdown.index("## Scorecard")]
    assert (
        f"Owners: {MARTA} (brief, answers); {TOM} (routing, escalation); {AISHA} (reporting)."
        in top
    )
    assert (
        f"Owner: {AISHA} (reporting); SLA attainment: {TOM} (routing); escalation precision "
        f"and recall: {TOM} (escalation)."
    ) in section(markdown, "Scorecard")
    expected = {
        "Cohorts": f"Owner: {AISHA} (reporting).",
        "Top failure intents": f"Owner: {TOM} (escalation).",
        "Content gaps": f"Owner: {MARTA} (answers).",
        "Conversations to calibrate": f"Owner: {TOM} (escalation).",
        "Change log": f"Owner: {MARTA} (brief).",
    }
    for heading, line in expected.items():
        assert f"## {heading}\n\n{line}\n" in section(markdown, heading)


def test_the_html_names_them_too() -> None:
    html = render_html(empty_week(EXAMPLE_OWNERS))
    assert '<p id="owners">Owners: Marta Ruiz &lt;marta@northwindgoods.example&gt; (brief, ' in html
    assert html.count('<p class="owner">') == 6
    assert (
        '<h2>Content gaps</h2>\n<p class="owner">Owner: Marta Ruiz '
        "&lt;marta@northwindgoods.example&gt; (answers).</p>"
    ) in html


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_an_empty_owner_is_left_out(render: Callable[[WeeklyReview], str]) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    brief = brief.model_copy(
        update={"owners": brief.owners.model_copy(update={"answers": "", "routing": "  "})}
    )
    owners = named_owners(brief)
    assert owners == {"brief": MARTA, "escalation": TOM, "reporting": AISHA}
    shown = render(empty_week(owners))
    assert "(answers)" not in shown and "(routing)" not in shown
    assert "SLA attainment:" not in shown
    assert "(escalation)" in shown.replace("&lt;", "<").replace("&gt;", ">")
