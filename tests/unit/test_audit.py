"""What the account rules write to the audit log (over the in-memory store), and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from relaydesk.adapters.storage.audit import AuditEntry
from relaydesk.services import accounts, audit
from relaydesk.services.accounts import User
from tests.conftest import SECRET_KEY
from tests.unit.fake_accounts import NO_DB, FakeAccountStore

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ADMIN = User(1, "root@example.com", "Root", "admin")


def test_user_changes_are_audited_with_before_and_after_and_never_the_password() -> None:
    store = FakeAccountStore()
    made = accounts.create_user(
        NO_DB,
        email="ana@example.com",
        name="Ana",
        role="agent",
        password="a long enough secret",
        now=NOW,
        store=store,
        actor=ADMIN,
        audit_log=store,
    )
    accounts.update_user(
        NO_DB,
        made.id,
        role="supervisor",
        password="another long secret",
        now=NOW,
        store=store,
        sessions=store,
        actor=ADMIN,
        audit_log=store,
    )
    accounts.update_user(
        NO_DB, made.id, capacity=5, now=NOW, store=store, sessions=store, audit_log=store
    )  # the capacity it has: nothing changed, nothing recorded
    token = accounts.create_token(
        NO_DB,
        email="ana@example.com",
        label="ci",
        now=NOW,
        store=store,
        audit_log=store,
        key=SECRET_KEY,
    )
    created, changed, issued = store.audit
    assert created["action"] == "user.created" and created["actor"] == "root@example.com"
    assert created["after"] == {"email": "ana@example.com", "role": "agent", "has_password": True}
    assert changed["action"] == "user.role_changed"
    assert changed["target"] == f"user:{made.id}"
    assert changed["before"] == {"role": "agent"}
    assert changed["after"] == {"role": "supervisor", "password": "changed"}
    assert issued["action"] == "token.created" and issued["actor_id"] is None
    assert issued["after"]["label"] == "ci"
    everything = repr(store.audit)
    for secret in ("a long enough secret", "another long secret", token):
        assert secret not in everything


def test_the_csv_has_a_header_json_cells_and_no_formulas() -> None:
    entry = AuditEntry(
        id=7,
        at=NOW,
        actor_id=None,
        actor=None,
        action="user.updated",
        target="user:3",
        before={"name": "=HYPERLINK(1)"},
        after={"name": "Bo"},
    )
    rows = list(csv.reader(io.StringIO(audit.to_csv([entry]))))
    assert rows[0] == list(audit.CSV_HEADER)
    assert rows[1][:6] == ["7", NOW.isoformat(), "", "", "user.updated", "user:3"]
    assert rows[1][7] == '{"name": "Bo"}'
    assert rows[1][6] == '{"name": "=HYPERLINK(1)"}'  # a JSON cell starts with '{'
    named = AuditEntry(7, NOW, 1, "=cmd@example.com", "sign_in", None, None, None)
    assert list(csv.reader(io.StringIO(audit.to_csv([named]))))[1][3] == "'=cmd@example.com"
