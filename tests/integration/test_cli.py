"""The `relaydesk` command through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"RELAYDESK_DATABASE_URL": database_url}


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_db_upgrade_then_users_and_tokens(env: dict[str, str]) -> None:
    code, output = run(["db", "upgrade"], env)
    assert code == 0, output
    code, output = run(
        ["users", "create", "--email", "Lead@Example.com", "--name", "Sam", "--role", "supervisor"],
        env,
    )
    assert code == 0, output
    assert "supervisor lead@example.com" in output
    code, output = run(["tokens", "create", "--email", "lead@example.com"], env)
    assert code == 0, output
    assert output.strip().startswith("rdk_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["users", "create", "--email", "nope", "--name", "A", "--role", "agent"],
            "not an address",
        ),
        (["users", "create", "--email", "a@b.co", "--name", "A", "--role", "boss"], "boss"),
        (["tokens", "create", "--email", "ghost@example.com"], "no user with email"),
    ],
)
def test_bad_arguments_say_what_to_fix(env: dict[str, str], args: list[str], message: str) -> None:
    assert run(["db", "upgrade"], env)[0] == 0
    code, output = run(args, env)
    assert code != 0
    assert message in output


def test_duplicate_user_is_refused(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    args = ["users", "create", "--email", "a@b.co", "--name", "A", "--role", "agent"]
    assert run(args, env)[0] == 0
    code, output = run(args, env)
    assert code == 1
    assert "already exists" in output


def test_brief_check_accepts_the_example() -> None:
    code, output = run(["brief", "check", str(EXAMPLE_BRIEF)], {})
    assert code == 0, output
    assert output.strip().endswith(": ok")


def test_brief_check_lists_problems_with_lines(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE_BRIEF.read_text().replace("default_priority: P3", "default_priority: P9")
    )
    code, output = run(["brief", "check", str(broken)], {})
    assert code == 1
    assert "broken.yaml:" in output
    assert "policy.default_priority" in output


def test_bad_settings_stop_the_command_with_the_variable_named() -> None:
    code, output = run(["db", "upgrade"], {"RELAYDESK_DATABSE_URL": "x"})
    assert code == 1
    assert "RELAYDESK_DATABASE_URL" in output
