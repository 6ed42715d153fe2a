"""Multi-turn conversation scripts through the whole app, against the bundled brief.

Each script in `conversations/*.yaml` is a customer's turns, sent as signed webhooks, with the
decision expected after each: action, and where it matters intent, queue and priority.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from relaydesk.adapters.storage.tables import conversations, customers, decisions
from tests.conftest import Harness, message_webhook

SCRIPTS = (
    Path(__file__).resolve().parents[2] / "src" / "relaydesk" / "brief" / "examples" / "scripts"
)
KINDS = {"say", "tap", "send"}


def load_scripts() -> list[Any]:
    scripts = []
    for path in sorted(SCRIPTS.glob("*.yaml")):
        for script in YAML(typ="safe").load(path.read_text()):
            scripts.append(pytest.param(script, id=f"{path.stem}: {script['name']}"))
    return scripts


def webhook(wa_id: str, turn: dict[str, Any]) -> bytes:
    wamid = f"wamid.{uuid.uuid4().hex}"
    message: dict[str, Any] = {"id": wamid, "timestamp": str(int(time.time()))}
    if "say" in turn:
        message |= {"type": "text", "text": {"body": turn["say"]}}
    elif "tap" in turn:
        message |= {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": turn["tap"], "title": turn.get("title", turn["tap"])},
            },
        }
    else:
        message |= {"type": turn["send"], turn["send"]: {"id": "MEDIA1", "mime_type": "x/y"}}
    return message_webhook(message, wa_id=wa_id, name="Script")


def last_decision(harness: Harness, wa_id: str) -> dict[str, Any]:
    with harness.container.db.read() as conn:
        row = conn.execute(
            select(decisions)
            .join(conversations, conversations.c.id == decisions.c.conversation_id)
            .join(customers, customers.c.id == conversations.c.customer_id)
            .where(customers.c.wa_id == wa_id)
            .order_by(decisions.c.id.desc())
            .limit(1)
        ).one()
    return dict(row._mapping)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the scripts check decisions, replies and routing through the whole app,
    not storage, which the storage and other acceptance tests run on both databases. (Each
    PostgreSQL app costs a migrated schema; 105 scripts twice made up minutes of CI.)"""
    return f"sqlite:///{tmp_path / 'relaydesk.sqlite'}"


@pytest.mark.parametrize("script", load_scripts())
async def test_conversation(harness: Harness, script: dict[str, Any]) -> None:
    wa_id = f"34{uuid.uuid4().int % 10**9:09d}"
    if script.get("attributes"):
        harness.set_attributes(wa_id, script["attributes"])
    for number, turn in enumerate(script["turns"], 1):
        response = await harness.post_webhook(webhook(wa_id, turn))
        assert response.status_code == 200, response.text
        decision = last_decision(harness, wa_id)
        expected = turn["expect"]
        said = turn.get("say") or turn.get("tap") or turn.get("send")
        where = f"turn {number} ({said!r}): {json.dumps(decision, default=str)}"
        assert decision["action"] == expected["action"], where
        for key in ("intent",):
            if key in expected:
                assert decision[key] == expected[key], where
        if "trigger" in expected:
            assert expected["trigger"] in [t["type"] for t in decision["triggers"]], where
        if "queue" in expected or "priority" in expected:
            conversation = await harness.client.get(
                f"/api/v1/conversations/{decision['conversation_id']}",
                headers={"Authorization": f"Bearer {harness.token}"},
            )
            got = conversation.json()
            for key in ("queue", "priority"):
                if key in expected:
                    assert got[key] == expected[key], where
