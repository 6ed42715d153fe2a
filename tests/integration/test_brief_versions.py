"""Brief versions and the change log: every brief a process loads is stored, across a
restart with a changed brief, and `relaydesk brief log|diff|record` read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from relaydesk.adapters.storage import brief_versions as store
from relaydesk.bootstrap import build
from relaydesk.cli import cli
from relaydesk.config import EXAMPLE_BRIEF, Settings
from relaydesk.services import change_log

ORIGINAL = "  first_response_p90: 2m\n"
CHANGED = "  first_response_p90: 3m\n"


def start(settings: Settings) -> str:
    """Start a process's container and stop it; the brief version it ran."""
    container = build(settings, base_url="http://127.0.0.1:1", migrate=True)
    version = container.brief.version
    container.db.dispose()
    return version


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_a_changed_brief_is_stored_across_a_restart_and_diffed(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    brief = tmp_path / "brief.yaml"
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    assert ORIGINAL in source
    brief.write_text(source, encoding="utf-8")
    first = start(make_settings(brief=str(brief), brief_author="Marta"))
    brief.write_text(source.replace(ORIGINAL, CHANGED), encoding="utf-8")
    settings = make_settings(
        brief=str(brief), brief_author="Tom", brief_message="slower first response target"
    )
    second = start(settings)
    assert start(settings) == second  # the same content again: nothing new

    db = build(settings, base_url="http://127.0.0.1:1").db
    with db.read() as conn:
        versions = store.history(conn, 10)
        logged = store.changes(
            conn, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
        )
    db.dispose()
    assert [(v.version, v.author, v.previous_version) for v in versions] == [
        (second, "Tom", first),
        (first, "Marta", None),
    ]
    assert "-  first_response_p90: 2m\n+  first_response_p90: 3m\n" in versions[0].diff
    assert versions[1].diff == ""
    assert [(e.kind, e.brief_version, e.author) for e in logged] == [
        ("brief", first, "Marta"),
        ("brief", second, "Tom"),
    ]
    assert logged[1].summary == "slower first response target"

    env = {"RELAYDESK_DATABASE_URL": database_url, "RELAYDESK_BRIEF": str(brief)}
    code, output = run(["brief", "log"], env)
    assert code == 0, output
    assert output.index(second) < output.index(first)
    assert "+1 -1" in output and "Tom" in output and "slower first response target" in output
    code, output = run(["brief", "diff", first[:6], second], env)
    assert code == 0, output
    assert f"--- brief {first}" in output
    assert "+  first_response_p90: 3m" in output


def test_brief_record_stores_with_the_flags_and_diff_refuses_unknown_versions(
    database_url: str, tmp_path: Path
) -> None:
    env = {"RELAYDESK_DATABASE_URL": database_url}
    assert run(["db", "upgrade"], env)[0] == 0
    code, output = run(["brief", "record", "--author", "Aisha", "-m", "launch"], env)
    assert code == 0, output
    assert "stored brief version" in output
    code, output = run(["brief", "record", "--author", "Someone else"], env)
    assert "was stored already; nothing changed" in output
    code, output = run(["brief", "log"], env)
    assert "Aisha" in output and "launch" in output and "Someone else" not in output
    code, output = run(["brief", "diff", "ffffff", "000000"], env)
    assert code == 2
    assert "brief version 'ffffff' is not stored; `relaydesk brief log` lists" in output
    brief = tmp_path / "brief.yaml"
    brief.write_text(EXAMPLE_BRIEF.read_text(encoding="utf-8").replace(ORIGINAL, CHANGED))
    named = env | {
        "RELAYDESK_BRIEF": str(brief),
        "RELAYDESK_BRIEF_AUTHOR": "Marta",
        "RELAYDESK_BRIEF_MESSAGE": "slower first response target",
    }
    code, output = run(["brief", "record"], named)
    assert code == 0, output
    code, output = run(["brief", "log"], env)
    assert "Marta" in output and "slower first response target" in output


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        ("a" * 50_000, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... (50000 characters)"),
        ("f" * 13, "'fffffffffffff'"),
        ("zz%_", "'zz%_'"),
        ("", "''"),
    ],
)
def test_diff_refuses_a_version_that_is_not_a_hash_prefix_before_any_query(
    database_url: str, version: str, shown: str
) -> None:
    """A hash is 12 hex characters: anything longer or not hex is refused by name and
    never reaches the LIKE (SQLite: "LIKE or GLOB pattern too complex")."""
    env = {"RELAYDESK_DATABASE_URL": database_url, "RELAYDESK_LOG_FORMAT": "json"}
    assert run(["db", "upgrade"], env)[0] == 0
    assert run(["brief", "record"], env)[0] == 0
    stored = run(["brief", "log"], env)[1].splitlines()[1].split()[0]

    result = CliRunner().invoke(cli, ["brief", "diff", stored, version], env=env)

    assert result.exit_code == 2, result.output
    assert (
        f"brief version {shown} is not a version hash: give 4 to 12 of its hex characters "
        "(0-9, a-f) as `relaydesk brief log` shows them"
    ) in result.stderr
    assert "brief_diff_refused" in result.stderr
    assert len(result.output) < 2000  # the value is named, not echoed whole


def test_other_changes_join_the_same_log(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    version = start(settings)
    db = build(settings, base_url="http://127.0.0.1:1").db
    now = datetime.now(UTC)
    with db.write() as conn:
        change_log.append(
            conn, "rollout", "expand: the gates passed", now=now, author="Tom",
            detail={"phase": "expand"}, brief_version=version,
        )  # fmt: skip
        with pytest.raises(ValueError, match="change summary is empty"):
            change_log.append(conn, "rollout", "  ", now=now)
        with pytest.raises(ValueError, match="change kind ''"):
            change_log.append(conn, "", "x", now=now)
    with db.read() as conn:
        logged = store.changes(conn, now - timedelta(hours=1), now + timedelta(hours=1))
    db.dispose()
    assert [(e.kind, e.summary, e.detail) for e in logged][-1] == (
        "rollout",
        "expand: the gates passed",
        {"phase": "expand"},
    )


def test_an_author_too_long_is_refused_naming_the_setting_and_the_flag(
    database_url: str,
) -> None:
    from relaydesk.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="RELAYDESK_BRIEF_AUTHOR"):
        load_settings({"RELAYDESK_BRIEF_AUTHOR": "x" * 201})
    env = {"RELAYDESK_DATABASE_URL": database_url}
    assert run(["db", "upgrade"], env)[0] == 0
    code, output = run(["brief", "record", "--author", "x" * 201], env)
    assert code == 2
    assert "--author is 201 characters; give at most 200" in output
    code, output = run(["brief", "log"], env)
    assert "no brief version is stored yet" in output
