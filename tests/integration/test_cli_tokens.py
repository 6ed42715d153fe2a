"""`relaydesk tokens create|list|revoke` and `relaydesk users update` ending credentials,
through click's runner on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from relaydesk.adapters.storage.db import Database
from relaydesk.cli import cli
from relaydesk.services import accounts, sessions
from tests.conftest import SECRET_KEY

PASSWORD = "correct horse battery"


@pytest.fixture
def env(database_url: str) -> Iterator[dict[str, str]]:
    # the key the tokens are hashed with, as the tests' own checks use it
    env = {
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_SANDBOX": "true",
        "RELAYDESK_SECRET_KEY": SECRET_KEY,
    }
    assert run(["db", "upgrade"], env)[0] == 0
    assert (
        run(
            [
                "users",
                "create",
                "--email",
                "ana@example.com",
                "--name",
                "Ana",
                "--role",
                "agent",
                "--password",
                PASSWORD,
            ],
            env,
        )[0]
        == 0
    )
    yield env


@pytest.fixture
def db(database_url: str, env: dict[str, str]) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


def create(env: dict[str, str], *extra: str) -> tuple[str, int]:
    code, output = run(["tokens", "create", "--email", "ana@example.com", *extra], env)
    assert code == 0, output
    token = output.splitlines()[0]
    found = re.search(r"token (\d+) for ana@example.com", output)
    assert token.startswith("rdk_") and found, output
    return token, int(found[1])


def acts_as(db: Database, token: str, now: datetime | None = None) -> str | None:
    with db.write() as conn:
        user = accounts.authenticate_token(conn, token, now or datetime.now(UTC), key=SECRET_KEY)
    return None if user is None else user.email


def test_create_with_expiry_list_and_revoke(env: dict[str, str], db: Database) -> None:
    token, token_id = create(env, "--label", "reports", "--expires-in", "30d")
    kept, kept_id = create(env)
    code, output = run(["tokens", "list"], env)
    assert code == 0, output
    listed = {line.split()[0]: line for line in output.splitlines()[1:]}
    assert listed[str(token_id)].endswith("active")
    assert "reports" in listed[str(token_id)]
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert expires in listed[str(token_id)]
    assert " - " in listed[str(kept_id)]  # never expires
    assert token not in output and kept not in output

    assert acts_as(db, token) == "ana@example.com"
    assert acts_as(db, token, datetime.now(UTC) + timedelta(days=31)) is None  # expired

    code, output = run(["tokens", "revoke", str(token_id)], env)
    assert (code, output.strip()) == (0, f"revoked token {token_id} of ana@example.com")
    assert acts_as(db, token) is None
    assert acts_as(db, kept) == "ana@example.com"
    code, output = run(["tokens", "revoke", str(token_id)], env)
    assert code == 0 and "was already revoked" in output
    code, output = run(["tokens", "list", "--email", "ANA@example.com"], env)
    assert re.search(rf"^{token_id} .* revoked$", output, re.MULTILINE), output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tokens", "create", "--email", "ana@example.com", "--expires-in", "3x"],
            "--expires-in: expiry '3x' is not a duration like 90m, 12h, 30d or 8w",
        ),
        (["tokens", "create", "--email", "ana@example.com", "--expires-in", "0d"], "is zero"),
        (
            ["tokens", "create", "--email", "ana@example.com", "--expires-in", "9999999w"],
            "longer than 3650 days",
        ),
        (
            ["tokens", "create", "--email", "ana@example.com", "--label", "x" * 201],
            "label is 201 characters; keep it to 200",
        ),
        (
            ["tokens", "create", "--email", "ana@example.com", "--label", "bad \udcff byte"],
            "a broken character (a lone surrogate)",
        ),
        (["tokens", "create", "--email", "ghost@example.com"], "no user with email"),
        (["tokens", "list", "--email", "ghost@example.com"], "no user with email"),
        (["tokens", "revoke", "999"], "no token with id 999; `relaydesk tokens list`"),
        (["tokens", "revoke", "abc"], "'abc' is not a valid integer"),
        (["tokens", "revoke", str(2**64)], "is not in the range"),
        (["tokens", "revoke", "0"], "is not in the range"),
    ],
)
def test_bad_arguments_say_what_to_fix_and_change_nothing(
    env: dict[str, str], db: Database, args: list[str], message: str
) -> None:
    code, output = run(args, env)
    assert code != 0
    assert message in output
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM api_tokens").scalar_one() == 0


def sign_in(db: Database) -> str:
    with db.write() as conn:
        new = sessions.login(conn, "ana@example.com", PASSWORD, datetime.now(UTC), key=SECRET_KEY)
    assert new is not None
    return new.token


def session_alive(db: Database, token: str) -> bool:
    with db.read() as conn:
        return isinstance(
            sessions.lookup(conn, token, datetime.now(UTC), key=SECRET_KEY), sessions.ConsoleSession
        )


def test_a_new_password_ends_console_sessions_but_keeps_tokens(
    env: dict[str, str], db: Database
) -> None:
    cookie = sign_in(db)
    token, _ = create(env)
    code, output = run(
        ["users", "update", "ana@example.com", "--password-stdin"],
        env,
        stdin="another long secret\n",
    )
    assert code == 0, output
    assert not session_alive(db, cookie)
    assert acts_as(db, token) == "ana@example.com"


def test_deactivation_ends_sessions_and_revokes_tokens_for_good(
    env: dict[str, str], db: Database
) -> None:
    cookie = sign_in(db)
    token, token_id = create(env)
    assert run(["users", "update", "ana@example.com", "--inactive"], env)[0] == 0
    assert run(["users", "update", "ana@example.com", "--active"], env)[0] == 0
    assert not session_alive(db, cookie)
    assert acts_as(db, token) is None  # reactivation revives nothing
    output = run(["tokens", "list"], env)[1]
    assert re.search(rf"^{token_id} .* revoked$", output, re.MULTILINE), output
