"""`relaydesk customers export|erase` through click's runner on SQLite: the JSON, the
confirmation, an unknown id (exit 2, nothing changed) and the audit entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from relaydesk.adapters.storage import repository as repo
from relaydesk.adapters.storage.db import Database
from relaydesk.cli import cli
from relaydesk.domain.channel import Sender
from relaydesk.services import audit

PHONE = "34655444333"


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The exit code and stdout; errors (stderr) are appended for a refusal."""
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_export_erase_and_their_refusals(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    env = {"RELAYDESK_DATABASE_URL": url}
    assert run(["db", "upgrade"], env)[0] == 0
    db = Database(url)
    try:
        now = datetime.now(UTC)
        with db.write() as conn:
            customer_id = repo.upsert_customer(conn, Sender(wa_id=PHONE, profile_name="Ines"), now)
            repo.set_customer_attributes(conn, customer_id, {"plan": "pro"}, now)

        code, output = run(["customers", "export", str(customer_id)], env)
        assert code == 0
        exported = json.loads(output)
        assert exported["tables"]["customers"][0]["wa_id"] == PHONE
        assert exported["tables"]["customers"][0]["attributes"] == {"plan": "pro"}

        code, output = run(["customers", "erase", str(customer_id)], env)
        assert code == 2 and "cannot be undone; run it again with --yes" in output
        code, output = run(["customers", "erase", "999", "--yes"], env)
        assert code == 2 and "no customer with id 999" in output
        code, output = run(["customers", "export", "0"], env)
        assert code == 2
        code, output = run(["customers", "export", "x"], env)
        assert code == 2
        _, output = run(["customers", "export", str(customer_id)], env)
        assert json.loads(output)["tables"]["customers"][0]["wa_id"] == PHONE  # unchanged

        code, output = run(["customers", "erase", str(customer_id), "--yes"], env)
        assert code == 0 and output.startswith(f"erased customer {customer_id}: 0 conversations")
        _, output = run(["customers", "export", str(customer_id)], env)
        row = json.loads(output)["tables"]["customers"][0]
        assert (row["wa_id"], row["profile_name"], row["attributes"]) == (None, None, None)
        with db.read() as conn:
            entries = audit.entries(conn, audit.AuditFilter(target=f"customer:{customer_id}"))
        assert [(e.action, e.actor) for e in entries] == [
            ("customer.exported", None),
            ("customer.erased", None),
            ("customer.exported", None),
            ("customer.exported", None),
        ]
    finally:
        db.dispose()


def test_the_export_on_stdout_is_only_json_and_the_log_line_goes_to_stderr(
    tmp_path: Path,
) -> None:
    """A redirected export (`> customer.json`) must be a valid file: the audit's log line
    is written on stderr, redacted, never interleaved with the JSON."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    env = {"RELAYDESK_DATABASE_URL": url, "RELAYDESK_LOG_FORMAT": "json"}
    assert run(["db", "upgrade"], env)[0] == 0
    db = Database(url)
    try:
        with db.write() as conn:
            customer_id = repo.upsert_customer(conn, Sender(wa_id=PHONE), datetime.now(UTC))
    finally:
        db.dispose()
    result = CliRunner().invoke(cli, ["customers", "export", str(customer_id)], env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["customer_id"] == customer_id
    assert "customer_exported" in result.stderr
    assert PHONE not in result.stderr
