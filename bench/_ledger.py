"""What a Relaydesk target did with one step's messages, read from its own database.

"Fully processed" for the everyday mix cannot be counted as replies at the Graph server: a
message in a conversation that is queued for a person, a "thanks, bye" or an emoji gets no
reply by design. So a message counts as fully processed when

- it has a decision row (`decisions.message_id`), and
- every outbox row that decision produced has been delivered (`outbox.state = 'done'`):
  the rows of its conversation created from that decision's time until the conversation's
  next decision. Its time is the later of the decision and those deliveries.

The exactly-once check: every acknowledged wamid is stored once and has exactly one
decision; no stored wamid went unacknowledged; no outbox row is left pending or sending;
and the Graph server received exactly as many sends per customer as the outbox marked done.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, column, create_engine, text
from sqlalchemy.pool import NullPool

OPEN_STATES = ("pending", "sending")


def _utc(value: datetime | None) -> float | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.timestamp()


@dataclass
class Account:
    stored: int = 0
    decided: int = 0
    processed: int = 0
    missing: list[str] = field(default_factory=list)  #: acknowledged, no decision
    doubled: list[str] = field(default_factory=list)  #: more than one decision
    unexpected: list[str] = field(default_factory=list)  #: stored, never acknowledged
    open_outbox: int = 0  #: outbox rows of this step's conversations still pending/sending
    processed_at: list[float] = field(default_factory=list)  #: wall-clock seconds, sorted

    def processed_between(self, start: float, end: float) -> int:
        return bisect.bisect_right(self.processed_at, end) - bisect.bisect_left(
            self.processed_at, start
        )


class Ledger:
    """Read-only queries on the target's database (SQLite or PostgreSQL URL)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)

    def close(self) -> None:
        self.engine.dispose()

    def progress(self, prefix: str) -> tuple[int, int]:
        """(messages of the step with a decision, outbox rows pending or sending anywhere)."""
        with self.engine.connect() as conn:
            decided = conn.execute(
                text(
                    "SELECT count(DISTINCT d.message_id) FROM decisions d "
                    "JOIN messages m ON m.id = d.message_id WHERE m.wamid LIKE :p"
                ),
                {"p": prefix + "%"},
            ).scalar_one()
            pending = conn.execute(
                text("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
            ).scalar_one()
        return int(decided), int(pending)

    def delivered_by_recipient(self) -> dict[str, int]:
        """Outbox rows marked done, per recipient wa_id (the whole run so far)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT recipient_wa_id, count(*) FROM outbox WHERE state = 'done' "
                    "GROUP BY recipient_wa_id"
                )
            ).all()
        return {str(wa_id): int(n) for wa_id, n in rows if wa_id is not None}

    def account(self, prefix: str, acked: Iterable[str]) -> Account:
        acked_set = set(acked)
        params = {"p": prefix + "%"}
        with self.engine.connect() as conn:
            messages = conn.execute(
                text("SELECT id, wamid FROM messages WHERE direction = 'in' AND wamid LIKE :p"),
                params,
            ).all()
            decisions = conn.execute(
                text(
                    "SELECT message_id, conversation_id, created_at FROM decisions "
                    "WHERE conversation_id IN "
                    "(SELECT conversation_id FROM messages WHERE wamid LIKE :p)"
                ).columns(
                    column("message_id", Integer()),
                    column("conversation_id", Integer()),
                    column("created_at", DateTime()),
                ),
                params,
            ).all()
            outbox = conn.execute(
                text(
                    "SELECT conversation_id, created_at, done_at, state FROM outbox "
                    "WHERE conversation_id IN "
                    "(SELECT conversation_id FROM messages WHERE wamid LIKE :p)"
                ).columns(
                    column("conversation_id", Integer()),
                    column("created_at", DateTime()),
                    column("done_at", DateTime()),
                    column("state", String()),
                ),
                params,
            ).all()
        return _account(messages, decisions, outbox, acked_set)


def _account(
    messages: Iterable[Any], decisions: Iterable[Any], outbox: Iterable[Any], acked: set[str]
) -> Account:
    ids = {int(m.id): str(m.wamid) for m in messages}
    result = Account(stored=len(ids))
    per_conversation: dict[int, list[float]] = defaultdict(list)
    by_message: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for d in decisions:
        at = _utc(d.created_at)
        assert at is not None
        per_conversation[int(d.conversation_id)].append(at)
        if d.message_id is not None:
            by_message[int(d.message_id)].append((int(d.conversation_id), at))
    for times in per_conversation.values():
        times.sort()
    # each outbox row belongs to the latest decision of its conversation at or before it
    finished: dict[tuple[int, float], float | None] = {}
    for row in outbox:
        conversation = int(row.conversation_id)
        times = per_conversation.get(conversation, [])
        created = _utc(row.created_at)
        assert created is not None
        i = bisect.bisect_right(times, created + 1e-6) - 1
        if i < 0:
            continue
        key = (conversation, times[i])
        if row.state in OPEN_STATES:
            result.open_outbox += 1
            finished[key] = None
        elif key not in finished or finished[key] is not None:
            done = _utc(row.done_at) or created
            finished[key] = max(done, finished.get(key) or 0.0)
    processed = []
    for message_id, wamid in ids.items():
        made = by_message.get(message_id, [])
        if len(made) > 1:
            result.doubled.append(wamid)
        if wamid not in acked:
            result.unexpected.append(wamid)
        if not made:
            continue
        result.decided += 1
        conversation, at = made[0]
        key = (conversation, at)
        if key in finished and finished[key] is None:
            continue  # a reply still to deliver
        processed.append(max(at, finished.get(key) or at))
    stored = set(ids.values())
    decided = {ids[m] for m in by_message if m in ids}
    result.missing = sorted(w for w in acked if w not in stored or w not in decided)
    result.processed = len(processed)
    result.processed_at = sorted(processed)
    return result
