"""`relaydesk brief check` warnings: printed, counted, never a failure; and the errors only
`brief check` reports, which fail it but stop neither the brief nor a start."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF, Settings

SPLIT = """    policy:
      question: answer     # "how long is the return window?", "can I return a sale item?"
      request: escalate    # "I want my money back", "it arrived broken"
"""


def test_brief_check_warns_about_an_escalate_only_intent_of_questions(tmp_path: Path) -> None:
    """Turning returns back into escalate-only makes its question examples go to people:
    brief check says so, with the line, and still exits 0."""
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    assert SPLIT in source
    edited = source.replace(SPLIT, "    policy: escalate\n", 1)
    first = "      - i want to return my order\n"
    start = edited.index(first)
    end = edited.index("    answers:", start)
    questions = [
        "how long do i have to return something?",
        "can i return a sale item?",
        "are returns free?",
        "do you refund the shipping cost?",
        "how long does a refund take?",
        "can i exchange a lamp for another colour?",
        "what is your return policy?",
        "is there a return window?",
        "how do returns work?",
        "can i return personalised items?",
        "do i need the original box to return something?",
    ]
    examples = [first.strip(" -\n"), "refund please", *questions]
    listed = "".join(f'      - "{example}"\n' for example in examples)
    edited = edited[:start] + listed + edited[end:]
    path = tmp_path / "brief.yaml"
    path.write_text(edited, encoding="utf-8")
    shutil.copytree(EXAMPLE_BRIEF.parent / "kb", tmp_path / "kb")  # its knowledge base
    result = CliRunner().invoke(cli, ["brief", "check", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert f"{path}:" in warning and "intents.returns_refund.policy: is escalate" in warning
    assert result.output.strip().endswith(": ok (1 warning(s))")


def test_brief_check_warns_that_reopen_within_has_no_effect(tmp_path: Path) -> None:
    """An older brief with policy.reopen_within still passes, with a warning at its line."""
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    anchor = "  reengagement_template: support_followup\n"
    assert anchor in source
    path = tmp_path / "brief.yaml"
    path.write_text(source.replace(anchor, anchor + "  reopen_within: 24h\n", 1), "utf-8")
    shutil.copytree(EXAMPLE_BRIEF.parent / "kb", tmp_path / "kb")
    result = CliRunner().invoke(cli, ["brief", "check", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert "policy.reopen_within: has no effect" in warning
    assert "Remove it from the brief." in warning


def test_a_start_logs_that_reopen_within_has_no_effect(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from structlog.testing import capture_logs

    from relaydesk.bootstrap import build

    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    anchor = "  reengagement_template: support_followup\n"
    path = tmp_path / "brief.yaml"
    path.write_text(source.replace(anchor, anchor + "  reopen_within: 24h\n", 1), "utf-8")
    shutil.copytree(EXAMPLE_BRIEF.parent / "kb", tmp_path / "kb")
    with capture_logs() as logs:
        container = build(
            make_settings(brief=str(path)), base_url="http://127.0.0.1:1", migrate=True
        )
    container.db.dispose()
    [ignored] = [e for e in logs if e["event"] == "brief_setting_ignored"]
    assert ignored["setting"] == "policy.reopen_within"
    assert ignored["log_level"] == "warning"


CSAT_CATEGORY = "  csat_request:\n    name: csat_request\n    language: en_US\n    category: "


def test_an_authentication_csat_template_fails_brief_check_but_not_a_start(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from structlog.testing import capture_logs

    from relaydesk.bootstrap import build

    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    assert CSAT_CATEGORY + "utility\n" in source
    path = tmp_path / "brief.yaml"
    path.write_text(
        source.replace(CSAT_CATEGORY + "utility\n", CSAT_CATEGORY + "authentication\n", 1),
        "utf-8",
    )
    shutil.copytree(EXAMPLE_BRIEF.parent / "kb", tmp_path / "kb")
    result = CliRunner().invoke(cli, ["brief", "check", str(path)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "templates.csat_request.category: is authentication" in result.output
    assert result.output.strip().endswith(f"1 problem(s) in {path}")

    with capture_logs() as logs:
        container = build(
            make_settings(brief=str(path)), base_url="http://127.0.0.1:1", migrate=True
        )
    container.db.dispose()
    [logged] = [e for e in logs if e["event"] == "brief_check_error"]  # said at every start
    assert logged["setting"] == "templates.csat_request.category"
    assert "is authentication" in logged["problem"]
    assert logged["log_level"] == "error"
