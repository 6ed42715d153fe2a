"""The one permission table: every action has a row, and the rows say what the product
promises (agents work conversations, supervisors also oversee, admins also govern)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relaydesk.domain.permissions import PERMISSIONS, Action, Role, can, roles_for


def test_every_action_has_a_row_naming_known_roles() -> None:
    assert set(PERMISSIONS) == set(Action)
    for action, roles in PERMISSIONS.items():
        assert roles, action
        assert roles <= set(Role), action


def test_admins_may_do_everything_and_supervisors_everything_agents_may() -> None:
    for action in Action:
        assert can(Role.ADMIN, action), action
        if can(Role.AGENT, action):
            assert can(Role.SUPERVISOR, action), action


@pytest.mark.parametrize(
    ("action", "roles"),
    [
        (Action.CONVERSATIONS_REPLY, ("agent", "supervisor", "admin")),
        (Action.CONVERSATIONS_READ_ANY, ("supervisor", "admin")),
        (Action.CONVERSATIONS_WORK_ANY, ("supervisor", "admin")),
        (Action.SUPERVISION_READ, ("supervisor", "admin")),
        (Action.ROLLOUT_MANAGE, ("supervisor", "admin")),
        (Action.REPLAY_RUN, ("supervisor", "admin")),
        (Action.TOKENS_MANAGE, ("agent", "supervisor", "admin")),
        (Action.TOKENS_MANAGE_ANY, ("admin",)),
        (Action.USERS_MANAGE, ("admin",)),
        (Action.AUDIT_READ, ("admin",)),
        (Action.CUSTOMERS_ERASE, ("admin",)),
    ],
)
def test_the_table_rows(action: Action, roles: tuple[str, ...]) -> None:
    assert roles_for(action) == roles
    for role in Role:
        assert can(role, action) is (role in roles)


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(can("owner", action) for action in Action)
    assert not can("", Action.CONVERSATIONS_READ)


def test_the_table_in_the_governance_doc_is_the_table_in_the_code() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "governance.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| (yes|—) \| (yes|—) \| (yes|—) \|$", doc, re.M)
    documented = {
        Action(name): frozenset(
            role for role, mark in zip(Role, marks, strict=True) if mark == "yes"
        )
        for name, *marks in rows
    }
    assert documented == dict(PERMISSIONS)
