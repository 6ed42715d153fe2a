"""`relaydesk replay` on the labelled shop history: exit codes for CI (0 ready, 1 not
ready, 2 bad input), the JSON and HTML reports, people's ratings, and `replay export`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "replay"
HISTORY = FIXTURES / "shop_history.jsonl"


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["replay", *map(str, args)], env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def shop_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("replay")
    result = run(HISTORY, "--json", out / "report.json", "--html", out / "report.html")
    return result, json.loads((out / "report.json").read_text()), out / "report.html"


def test_the_shop_history_is_not_ready_and_says_why(
    shop_report: tuple[Result, dict[str, Any], Path],
) -> None:
    result, report, html = shop_report
    assert result.exit_code == 1, result.output
    assert "Not ready to launch." in result.output
    assert report["ready"] is False
    assert report["conversations"] == 500 and report["customer_turns"] == 991
    intents = {i["intent"]: i for i in report["intents"]}
    # every labelled topic of the history is judged, with its sample count
    assert intents["order_status"]["samples"] >= 95
    assert intents["cancel_order"]["samples"] == 30
    assert "30 samples, fewer than the 50 needed" in intents["cancel_order"]["failures"]
    # the gift-wrapping questions the brief has no intent for come back as a candidate
    clusters = [r for r in report["remedies"] if "did not understand" in r["pattern"]]
    assert any("wrap" in " ".join(r["examples"]) for r in clusters), report["remedies"][:5]
    # every customer turn is in the JSON with its scores and reasons
    assert len(report["turns"]) == 991
    scored = [t for t in report["turns"] if t["accuracy"] is not None]
    assert len(scored) >= 900
    assert html.read_text().startswith("<!doctype html>")


def test_a_brief_that_passes_its_gates_exits_zero(tmp_path: Path) -> None:
    """Only the topics the example brief handles well, with the samples gate at what the
    history holds."""
    keep = {"cancel_order", "human_request"}
    rows = [json.loads(line) for line in HISTORY.read_text().splitlines()]
    wanted = {r["conversation_id"] for r in rows if r.get("intent") in keep}
    dropped = {
        r["conversation_id"]
        for r in rows
        if r["author"] == "customer"
        and r.get("intent") not in (*keep, "greeting", "thanks_goodbye")
    }
    chosen = wanted - dropped
    history = tmp_path / "easy.jsonl"
    history.write_text(
        "".join(json.dumps(r) + "\n" for r in rows if r["conversation_id"] in chosen)
    )
    brief = yaml.safe_load(EXAMPLE_BRIEF.read_text())
    brief["rollout"]["launch"]["min_samples"] = 10
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(brief, allow_unicode=True))
    result = run(history, "--brief", path, "--no-clusters", "--json", tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert result.exit_code == 0, (result.output, [i for i in report["intents"] if not i["ready"]])
    assert "Ready to launch." in result.output


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"conversation_id": "a", "time": "yesterday", "author": "customer", "text": "hi"}\n',
            "bad.jsonl:1:",
        ),
        (
            '{"conversation_id": "a", "time": "2026-11-02T10:00:00Z", '
            '"author": "robot", "text": "x"}\n',
            "bad.jsonl:1:",
        ),
        ("not json\n", "bad.jsonl:1:"),
    ],
)
def test_bad_input_exits_2_and_scores_nothing(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = run(bad, "--json", tmp_path / "out.json")
    assert result.exit_code == 2
    assert problem in result.output
    assert "nothing was scored" in result.output
    assert not (tmp_path / "out.json").exists()


def test_a_bad_timezone_or_brief_exits_2(tmp_path: Path) -> None:
    result = run(HISTORY, "--timezone", "Mars/Olympus")
    assert result.exit_code == 2 and "'Mars/Olympus' is not an IANA time zone" in result.output
    result = run(HISTORY, "--brief", tmp_path / "missing.yaml")
    assert result.exit_code == 2 and "missing.yaml" in result.output


def test_ratings_override_and_agreement_is_reported(
    tmp_path: Path, shop_report: tuple[Result, dict[str, Any], Path]
) -> None:
    _, report, _ = shop_report
    rated = [t for t in report["turns"] if t["tone"] is not None][:40]
    lines = ["conversation_id,turn,accuracy,tone,actionability"]
    for n, t in enumerate(rated):
        tone = t["tone"]["score"] if n % 4 else 0  # a person disagrees on every fourth
        lines.append(f"{t['conversation_id']},{t['turn']},,{tone},")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("\n".join(lines) + "\n")
    result = run(HISTORY, "--ratings", ratings, "--no-clusters", "--json", tmp_path / "r.json")
    assert result.exit_code == 1, result.output
    out = json.loads((tmp_path / "r.json").read_text())
    (tone,) = [a for a in out["agreement"] if a["dimension"] == "tone"]
    assert tone["rated"] == 40
    expected_same = sum(1 for n, t in enumerate(rated) if n % 4 or t["tone"]["score"] == 0) / 40
    assert tone["same"] == pytest.approx(expected_same)
    overridden = {(t["conversation_id"], t["turn"]): t for t in out["turns"]}
    first = overridden[(rated[0]["conversation_id"], rated[0]["turn"])]
    assert first["rated_by_person"] is True and first["tone"]["score"] == 0


def test_bad_ratings_exit_2(tmp_path: Path) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("conversation_id,turn,tone\nshop-0001,1,5\nshop-0001,x,1\n")
    result = run(HISTORY, "--ratings", ratings)
    assert result.exit_code == 2
    assert f"{ratings}:2: tone '5' must be 0, 1 or 2 (or empty)" in result.output
    assert f"{ratings}:3: turn 'x' is not a customer turn number" in result.output


def test_export_writes_a_history_replay_reads(
    tmp_path: Path, make_settings: Callable[..., Any], database_url: str
) -> None:
    from relaydesk.adapters.history import read_history
    from relaydesk.adapters.storage.db import Database
    from relaydesk.adapters.storage.migrate import upgrade
    from tests.integration.replay_rows import seed_escalated_conversation

    db = Database(database_url)
    upgrade(db.engine)
    now = datetime.now(UTC)
    seed_escalated_conversation(db, now - timedelta(days=2), feedback="needed", queue="billing")
    seed_escalated_conversation(db, now - timedelta(days=40), feedback="needed", queue="billing")
    db.dispose()
    out = tmp_path / "export.jsonl"
    result = CliRunner().invoke(
        cli,
        ["replay", "export", "--since", "30d", "--output", str(out)],
        env={"RELAYDESK_DATABASE_URL": database_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 conversations (4 messages)")
    history = read_history([out])
    (conversation,) = history.conversations
    authors = [t.author for t in conversation.turns]
    assert authors == ["customer", "bot", "customer", "agent"]
    escalated = conversation.turns[2]
    assert escalated.labels is not None
    assert (escalated.labels.needs_human, escalated.labels.queue) == (True, "billing")


def test_export_rejects_a_bad_since() -> None:
    result = CliRunner().invoke(cli, ["replay", "export", "--since", "lately", "-o", "x.jsonl"])
    assert result.exit_code == 2
    assert "--since 'lately' is not a duration or a date: use e.g. 30d" in result.output
