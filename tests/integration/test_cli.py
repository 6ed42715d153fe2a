"""The `relaydesk` command through click's runner."""

from __future__ import annotations

import json
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


def _with_two_users(env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], env)[0] == 0
    create = ["users", "create", "--name", "Ana", "--role", "agent", "--skills", "orders"]
    assert run([*create, "--email", "ana@example.com", "--languages", "en"], env)[0] == 0
    assert run(["users", "create", "--email", "root@example.com", "--name", "Root", "--role",
                "admin"], env)[0] == 0  # fmt: skip


def test_users_list_shows_every_account(env: dict[str, str]) -> None:
    _with_two_users(env)
    code, output = run(["users", "list"], env)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split() == [
        "ID", "EMAIL", "NAME", "ROLE", "SKILLS", "LANGUAGES", "CAPACITY", "PRESENCE", "STATUS",
    ]  # fmt: skip
    assert lines[1].split() == ["1", "ana@example.com", "Ana", "agent", "orders", "en", "5",
                                "offline", "active"]  # fmt: skip


def test_users_list_when_there_are_none(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    code, output = run(["users", "list"], env)
    assert code == 0
    assert "relaydesk users create" in output


def test_users_update_changes_only_what_is_given(env: dict[str, str]) -> None:
    _with_two_users(env)
    code, output = run(
        ["users", "update", "Ana@Example.com", "--skills", "orders,refunds", "--capacity", "3",
         "--inactive"],
        env,
    )  # fmt: skip
    assert code == 0, output
    assert "inactive, capacity 3, skills orders,refunds, languages en" in output
    code, output = run(["users", "update", "ana@example.com", "--active", "--role", "supervisor"],
                       env)  # fmt: skip
    assert code == 0, output
    assert "updated supervisor ana@example.com (id 1): active, capacity 3" in output


def test_users_update_reads_the_password_from_stdin(env: dict[str, str]) -> None:
    from datetime import UTC, datetime

    from relaydesk.adapters.storage.db import Database
    from relaydesk.services.accounts import verify_password

    _with_two_users(env)
    result = CliRunner().invoke(
        cli,
        ["users", "update", "ana@example.com", "--password-stdin"],
        env=env,
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    database = Database(env["RELAYDESK_DATABASE_URL"])
    try:
        with database.write() as conn:
            user = verify_password(conn, "ana@example.com", "a long enough password",
                                   datetime.now(UTC))  # fmt: skip
    finally:
        database.dispose()
    assert user is not None
    assert user.email == "ana@example.com"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "update", "ghost@example.com", "--capacity", "1"], "no user with email"),
        (["users", "update", "ana@example.com"], "nothing to change"),
        (["users", "update", "ana@example.com", "--capacity", "101"], "101"),
        (["users", "update", "ana@example.com", "--role", "boss"], "boss"),
        (["users", "update", "root@example.com", "--inactive"], "last active admin"),
        (["users", "update", "ana@example.com", "--name", " "], "name is empty"),
    ],
)
def test_users_update_refusals_say_what_to_fix(
    env: dict[str, str], args: list[str], message: str
) -> None:
    _with_two_users(env)
    code, output = run(args, env)
    assert code != 0
    assert message in output


def test_users_update_refuses_a_short_password(env: dict[str, str]) -> None:
    _with_two_users(env)
    result = CliRunner().invoke(
        cli, ["users", "update", "ana@example.com", "--password-stdin"], env=env, input="short\n"
    )
    assert result.exit_code == 1
    assert "shorter than 12 characters" in result.output


def test_worker_metrics_port_taken_fails_at_once_naming_it() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["worker", "--metrics-port", str(port)], env={})
    assert result.exit_code == 1, result.output
    assert f"127.0.0.1:{port}" in result.output
    assert "choose another --metrics-port" in result.output


@pytest.mark.parametrize(
    ("args", "command", "parameter", "message"),
    [
        (["brief", "log", "--limit", "-987654"], "relaydesk brief log", "--limit",
         "Invalid value for '--limit': -987654 is not in the range 1<=x<=1000."),
        (["demo", "seed", "--conversations", "0"], "relaydesk demo seed", "--conversations",
         "Invalid value for '--conversations': 0 is not in the range 1<=x<=10000000."),
        (["brief", "diff", "abcd"], "relaydesk brief diff", "B", "Missing argument 'B'."),
        (["brief", "lgo"], "relaydesk brief", None, "No such command 'lgo'."),
        (["lgo"], "relaydesk", None, "No such command 'lgo'."),
        (["--no-such-flag"], "relaydesk", None, "No such option '--no-such-flag'."),
    ],
)  # fmt: skip
def test_clicks_usage_errors_exit_2_and_are_logged_without_the_value(
    args: list[str], command: str, parameter: str | None, message: str
) -> None:
    result = CliRunner().invoke(cli, args, env={"RELAYDESK_LOG_FORMAT": "json"})

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    (line,) = [x for x in result.stderr.splitlines() if "cli_usage_error" in x]
    logged = json.loads(line)
    assert (logged["event"], logged["command"], logged["parameter"]) == (
        "cli_usage_error",
        command,
        parameter,
    )
    assert logged["level"] == "warning"
    assert "-987654" not in line and "lgo" not in line and "no-such-flag" not in line


@pytest.mark.parametrize("args", [[], ["brief"]])
def test_a_group_without_a_command_shows_its_help_and_logs_no_error(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, env={"RELAYDESK_LOG_FORMAT": "json"})
    assert "Commands:" in result.output
    assert "cli_usage_error" not in result.output


def test_the_worker_runs_with_start_up_frozen_and_leaves_nothing_frozen(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection of a trained worker stalled it for 60 to 170 ms, inside a
    write on SQLite (the webhooks' acknowledgement waits for it): the worker runs with
    what start-up built frozen out of the collector's way, and unfreezes when it ends."""
    import gc

    from relaydesk.services.runner import Runner

    frozen: list[int] = []

    async def one_round(self: Runner, stop: object) -> None:
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(Runner, "run", one_round)
    assert run(["db", "upgrade"], env)[0] == 0
    code, output = run(["worker"], env)
    assert code == 0, output
    assert frozen and frozen[0] > 10_000  # the modules, the brief and the trained model
    assert gc.get_freeze_count() == 0
