"""Every action a service records in the audit log is one the console's and the API's
filter offers (`services.audit.ACTIONS`), so an admin can select each kind of entry."""

from __future__ import annotations

import ast
from pathlib import Path

import relaydesk
from relaydesk.services import audit

SOURCE = Path(relaydesk.__file__).parent


def recorded_actions() -> dict[str, str]:
    """Each string constant passed as the action (second argument) of `audit.record` or a
    `record` imported from it, with where it is."""
    found: dict[str, str] = {}
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            named = (isinstance(func, ast.Attribute) and func.attr == "record") or (
                isinstance(func, ast.Name) and func.id == "record"
            )
            action = node.args[1]
            if named and isinstance(action, ast.Constant) and isinstance(action.value, str):
                if "." in action.value or "_" in action.value:
                    found[action.value] = f"{path.relative_to(SOURCE)}:{node.lineno}"
    return found


def test_every_recorded_action_can_be_filtered() -> None:
    found = recorded_actions()
    assert "customer.erased" in found  # the walk sees the services' calls
    missing = {action: where for action, where in found.items() if action not in audit.ACTIONS}
    assert not missing, f"add these to services.audit.ACTIONS: {missing}"
