"""The rollout's storage on both databases, and `relaydesk rollout` through click's runner:
the state is written from the brief once and then only by changes, each logged; a customer's
bucket is taken once and survives a changed number; the commands' refusals exit 1 or 2."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from relaydesk.adapters.storage import rollout as store
from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.migrate import upgrade
from relaydesk.adapters.storage.tables import customers
from relaydesk.brief import EXAMPLE_BRIEF, load_brief
from relaydesk.cli import cli
from relaydesk.domain import rollout
from relaydesk.domain.rollout import SEGMENT, Change, Segment

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def test_the_state_is_written_once_and_changed_only_by_changes(db: Database) -> None:
    brief = load_brief(EXAMPLE_BRIEF)
    first = rollout.initial_state(brief, NOW)
    with db.write() as conn:
        assert store.load(conn) is None
        assert store.initialise(conn, first, NOW) is True
        other = rollout.RolloutState("scale", Segment(100), NOW, {"pricing": "live"})
        assert store.initialise(conn, other, NOW) is False  # another process was first
    later = NOW + timedelta(hours=1)
    change = Change(SEGMENT, "100", "50", "test", {"send_errors": {"n": 60}})
    with db.write() as conn:
        loaded = store.load(conn)
        assert loaded == first
        after = rollout.apply(loaded, change, later)
        store.save(conn, after, change, actor="gate", actor_id=None, now=later)
        mode = Change("pricing", "draft", "live", "gates hold")
        after = rollout.apply(after, mode, later)
        store.save(conn, after, mode, actor="sam@example.com", actor_id=None, now=later)
    with db.read() as conn:
        loaded = store.load(conn)
        history = store.changes(conn)
    assert loaded is not None
    assert loaded.segment.percent == 50 and loaded.segment_since == later
    assert loaded.mode("pricing") == "live" and loaded.mode_since["pricing"] == later
    assert loaded.mode("shipping") == "live" and loaded.mode_since["shipping"] == NOW
    assert [(c.actor, c.subject, c.before, c.after) for c in history] == [
        ("sam@example.com", "pricing", "draft", "live"),
        ("gate", SEGMENT, "100", "50"),
        ("brief", "rollout", None, "initialised"),
    ]
    assert history[1].figures == {"send_errors": {"n": 60}}


def test_a_customers_bucket_is_taken_once_and_survives_a_new_number(db: Database) -> None:
    from relaydesk.adapters.storage import repository as repo
    from relaydesk.domain.channel import Sender

    with db.write() as conn:
        customer_id = repo.upsert_customer(conn, Sender(wa_id="34600000001"), NOW)
        conversation = repo.open_conversation(conn, customer_id, "pn", NOW)
        arriving = store.arriving(conn, conversation.id)
        assert (arriving.cohort, arriving.bucket) == (None, None)
        bucket = rollout.bucket_of(arriving.user_id, arriving.wa_id)
        store.place(conn, conversation.id, customer_id, "pilot", bucket)
        # the customer changes number (an identity change rewrites wa_id)
        conn.execute(
            update(customers).where(customers.c.id == customer_id).values(wa_id="34699999999")
        )
        store.place(conn, conversation.id, customer_id, "pilot", bucket + 1)
    with db.read() as conn:
        kept = conn.execute(
            select(customers.c.rollout_bucket).where(customers.c.id == customer_id)
        ).scalar_one()
        assert store.arriving(conn, conversation.id).cohort == "pilot"
    assert kept == bucket


# -- the command ---------------------------------------------------------------------------------


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The exit code, and stdout when it succeeds, else everything it wrote."""
    result = CliRunner().invoke(cli, ["rollout", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_rollout_commands(database_url: str) -> None:
    env = {"RELAYDESK_DATABASE_URL": database_url}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0

    code, output = run(["status"], env)
    assert code == 0, output
    assert "phase: pilot (of simulation, pilot, expand, scale)" in output
    assert re.search(
        r"acceptance\s+pricing\s+-\s+0\s+-\s+>= 0.80 over >= 30 drafts\s+too few", output
    )
    assert "no P1/P2 past its SLA" in output

    assert run(["phase", "expand"], env) == (0, "phase: pilot -> expand\n")
    code, output = run(["promote", "pricing"], env)
    assert code == 1 and "gates do not hold for pricing: acceptance:pricing no data" in output
    code, output = run(["rollback", "shipping", "--reason", "tone"], env)
    assert (code, output) == (0, "shipping: live -> draft (tone)\n")
    code, output = run(["promote", "nope"], env)
    assert code == 2 and "no intent 'nope' in the rollout" in output
    code, output = run(["promote"], env)
    assert code == 2 and "name an INTENT or pass --segment" in output
    code, output = run(["phase", "beta"], env)
    assert code == 2 and "phase 'beta' is not one of the brief's phases" in output

    code, output = run(["status", "--json"], env)
    assert code == 0
    found = json.loads(output)
    assert found["phase"] == "expand" and found["modes"]["shipping"]["mode"] == "draft"
    assert [c["actor"][:4] for c in found["changes"]] == ["cli:", "cli:", "brie"]
