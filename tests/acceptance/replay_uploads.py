"""History files for the replay job tests: a slice of the labelled shop history, a file
with bad rows, a WhatsApp export; and the worker's step, run as the worker would."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread

from relaydesk.bootstrap import Container

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHOP_HISTORY = FIXTURES / "replay" / "shop_history.jsonl"
EXPORT = FIXTURES / "history" / "android_en.txt"
#: customer turns in the first 60 conversations of the shop history
SLICE = 60


def history_slice(conversations: int = SLICE) -> bytes:
    """The first `conversations` conversations of the shop history, as JSON Lines."""
    rows = SHOP_HISTORY.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    seen: set[str] = set()
    for row in rows:
        conversation = json.loads(row)["conversation_id"]
        if conversation not in seen and len(seen) == conversations:
            continue
        seen.add(conversation)
        kept.append(row)
    return ("\n".join(kept) + "\n").encode("utf-8")


def customer_turns(history: bytes) -> int:
    return sum(json.loads(r)["author"] == "customer" for r in history.decode().splitlines())


BAD_HISTORY = (
    b'{"conversation_id": "c1", "time": "2026-03-02T10:00:00Z", "author": "customer", '
    b'"text": "hello"}\n'
    b'{"conversation_id": "c1", "time": "yesterday", "author": "customer", "text": "hi"}\n'
    b'{"conversation_id": "c1", "time": "2026-03-02T10:01:00Z", "author": "robot", '
    b'"text": "beep"}\n'
)


async def work(container: Container) -> bool:
    """The worker's step, in a thread as the worker runs it: one job to its end."""
    return await anyio.to_thread.run_sync(container.replays.run_one)
