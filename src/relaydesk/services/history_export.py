"""`relaydesk replay export`: Relaydesk's own conversations as a replay history (JSONL),
labelled with what people did.

Labels, on the customer turn the bot escalated:
- `needs_human`: the agent's verdict on the escalation (needed, too late: true; not
  needed: false);
- `queue`: the queue a person finally worked the conversation in;
- with the verdict "too late", the customer turn before the escalation is labelled
  `needs_human: true` too (the person should have come in then).
Other turns carry no labels: the replay compares them with what the business did (the
bot's own replies and the agents' are both in the history).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.history import StoredConversation, conversations_since


def export(
    db: Database,
    since: datetime,
    out: IO[str],
    progress: Callable[[int], None] = lambda done: None,
) -> tuple[int, int]:
    """Write the conversations opened since `since` to `out`, one JSON object a line.
    Returns (conversations, messages) written."""
    conversations = lines = 0
    with db.read() as conn:
        for stored in conversations_since(conn, since):
            rows = list(rows_of(stored))
            if not any(r["author"] == "customer" for r in rows):
                continue
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            conversations += 1
            lines += len(rows)
            progress(conversations)
    return conversations, lines


def rows_of(stored: StoredConversation) -> Iterator[dict[str, Any]]:
    needed = {"needed": True, "too_late": True, "not_needed": False}.get(stored.feedback or "")
    customer = [i for i, m in enumerate(stored.messages) if m.direction == "in"]
    escalated = next((i for i in customer if stored.messages[i].action == "escalate"), None)
    labelled: dict[int, dict[str, Any]] = {}
    if escalated is not None and needed is not None:
        labelled[escalated] = {"needs_human": needed}
        if needed and stored.worked_by_person and stored.queue:
            labelled[escalated]["queue"] = stored.queue
        if stored.feedback == "too_late":
            earlier = [i for i in customer if i < escalated]
            if earlier:
                labelled[earlier[-1]] = {"needs_human": True}
    for index, message in enumerate(stored.messages):
        if message.direction == "in":
            author = "customer"
        else:
            author = "agent" if message.by_person else "bot"
        row: dict[str, Any] = {
            "conversation_id": f"rd-{stored.id}",
            "time": _iso(message.sent_at),
            "author": author,
            "text": message.text or "",
        }
        row.update(labelled.get(index, {}))
        yield row


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
