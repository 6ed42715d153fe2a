"""`relaydesk report weekly` on a seeded history (`relaydesk demo seed`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import conversations, customers, users
from relaydesk.brief.loader import load_brief
from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.services.weekly import last_complete_week

ZONE = load_brief(EXAMPLE_BRIEF).timezone
MARTA, TOM, AISHA = (  # the example brief's owners
    "Marta Ruiz <marta@northwindgoods.example>",
    "Tom Becker <tom@northwindgoods.example>",
    "Aisha Khan <aisha@northwindgoods.example>",
)


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    env = {"RELAYDESK_DATABASE_URL": database_url}
    assert run(["db", "upgrade"], env)[0] == 0
    return env


def test_the_weekly_review_of_a_seeded_history(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    """The last complete week is inside the 2 seeded weeks whatever the day."""
    code, output = run(["demo", "seed", "--conversations", "400", "--weeks", "2"], env)
    assert code == 0, output
    assert output.startswith("added 400 conversations")

    code, output = run(["report", "weekly", "--out", str(tmp_path)], env)

    assert code == 0, output
    wk = last_complete_week(datetime.now(UTC), ZONE)
    db = Database(database_url)
    with db.read() as conn:
        started = conn.execute(
            select(func.count())
            .select_from(conversations)
            .where(conversations.c.created_at >= wk.start, conversations.c.created_at < wk.end)
        ).scalar_one()
    db.dispose()
    assert started > 100
    markdown = (tmp_path / f"weekly-{wk.label}.md").read_text(encoding="utf-8")
    assert f"{started} conversations started" in markdown
    assert f"{started} conversations in {wk.label}" in output
    for heading in (
        "## Scorecard",
        "### By source",
        "### By intent",
        "### By business number",
        "## Top failure intents",
        "## Content gaps",
        "## Conversations to calibrate",
        "## Change log",
    ):
        assert heading in markdown  # fmt: skip
    top = markdown[: markdown.index("## Scorecard")]
    assert (
        f"Owners: {MARTA} (brief, answers); {TOM} (routing, escalation); {AISHA} (reporting)."
        in top
    )
    for heading, owner in (
        ("## Scorecard", f"Owner: {AISHA} (reporting); SLA attainment: {TOM} (routing);"),
        ("## Cohorts", f"Owner: {AISHA} (reporting)."),
        ("## Top failure intents", f"Owner: {TOM} (escalation)."),
        ("## Content gaps", f"Owner: {MARTA} (answers)."),
        ("## Conversations to calibrate", f"Owner: {TOM} (escalation)."),
        ("## Change log", f"Owner: {MARTA} (brief)."),
    ):
        assert f"{heading}\n\n{owner}" in markdown
    assert "| First response p90 |" in markdown
    assert "| 2m | " in markdown  # the brief's kpi_targets.first_response_p90
    assert markdown.count("\n- #") == 10  # five and five conversations to calibrate
    gaps = markdown[markdown.index("## Content gaps") : markdown.index("## Conversations to")]
    assert "messages the bot could not answer, grouped by meaning" in gaps
    assert "| gap_" in gaps and "gift card" in gaps
    assert "Nothing changed this week." in markdown
    html = (tmp_path / f"weekly-{wk.label}.html").read_text(encoding="utf-8")
    assert 'id="daily-chart"' in html and "<rect" in html
    assert 'id="scorecard"' in html and 'id="gaps"' in html
    assert '<p id="owners">Owners: Marta Ruiz &lt;marta@northwindgoods.example&gt;' in html
    assert html.count('<p class="owner">Owner: ') == 6
    assert "http" not in html  # nothing to fetch


def test_the_weeks_change_log_is_in_its_review(env: dict[str, str], tmp_path: Path) -> None:
    code, output = run(["brief", "record", "--author", "Marta", "-m", "launch of the pilot"], env)
    assert code == 0, output
    now = datetime.now(UTC).astimezone(ZONE)
    label = f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"

    code, output = run(["report", "weekly", "--week", label, "--out", str(tmp_path)], env)

    assert code == 0, output
    markdown = (tmp_path / f"weekly-{label}.md").read_text(encoding="utf-8")
    assert "brief (Marta): launch of the pilot [brief " in markdown
    assert f"## Change log\n\nOwner: {MARTA} (brief).\n" in markdown
    html = (tmp_path / f"weekly-{label}.html").read_text(encoding="utf-8")
    assert "launch of the pilot" in html


BAD_WEEKS = [
    ("2026-48", "week '2026-48': write it as YYYY-Www, e.g. 2026-W48"),
    ("2026-W54", "week '2026-W54': 2026 has no ISO week 54"),
    ("2099-W01", "--week 2099-W01 has not started yet"),
    ("9999-W52", "week '9999-W52': the year 9999 is out of range (1970 to 9000)"),
    ("0001-W01", "week '0001-W01': the year 1 is out of range (1970 to 9000)"),
    ("", "--week '' is empty: give an ISO week such as 2026-W48, or leave --week out"),
]


def events(stderr: str) -> list[str]:
    return [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("week_arg", "message"), BAD_WEEKS)
def test_a_bad_week_is_refused_with_exit_2(
    env: dict[str, str], tmp_path: Path, week_arg: str, message: str
) -> None:
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        cli, ["report", "weekly", "--week", week_arg, "--out", str(out)], env=env
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "weekly_report_refused" in events(result.stderr)
    assert not out.exists()


@pytest.mark.parametrize(("week_arg", "message"), BAD_WEEKS)
def test_a_bad_week_of_the_gaps_is_refused_with_exit_2(
    env: dict[str, str], tmp_path: Path, week_arg: str, message: str
) -> None:
    out = tmp_path / "gaps.yaml"
    result = CliRunner().invoke(
        cli, ["report", "gaps", "--week", week_arg, "-o", str(out)], env=env
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "gaps_report_refused" in events(result.stderr)
    assert not out.exists()


def test_content_gaps_are_exported_as_candidate_intents(
    env: dict[str, str], tmp_path: Path
) -> None:
    from ruamel.yaml import YAML

    assert run(["demo", "seed", "--conversations", "300", "--weeks", "2"], env)[0] == 0
    out = tmp_path / "gaps.yaml"

    code, output = run(["report", "gaps", "-o", str(out)], env)

    assert code == 0, output
    candidates = YAML(typ="safe").load(out.read_text(encoding="utf-8"))["candidate_intents"]
    examples = {e for c in candidates.values() for e in c["examples"]}
    assert "do you sell gift cards" in examples
    assert all(c["messages"] >= 3 for c in candidates.values())
    assert f"wrote {out}" in output


def test_a_second_seed_adds_conversations_with_the_same_agents(
    env: dict[str, str], database_url: str
) -> None:
    code, output = run(["demo", "seed", "--conversations", "30", "--weeks", "1"], env)
    assert code == 0, output
    code, output = run(
        ["demo", "seed", "--conversations", "20", "--weeks", "1", "--seed", "2"], env
    )

    assert code == 0, output
    assert output.startswith("added 20 conversations")
    db = Database(database_url)
    with db.read() as conn:
        made = conn.execute(select(func.count()).select_from(conversations)).scalar_one()
        agents = set(
            conn.execute(select(users.c.id).where(users.c.email.like("%@seed.example"))).scalars()
        )
        assignees = set(conn.execute(select(conversations.c.assignee_id).distinct()).scalars())
        wa_ids = conn.execute(select(func.count(func.distinct(customers.c.wa_id)))).scalar_one()
        people = conn.execute(select(func.count()).select_from(customers)).scalar_one()
    db.dispose()
    assert made == 50
    assert len(agents) == 8  # the first seed's agents, not eight more
    assert assignees - {None} <= agents
    assert wa_ids == people
