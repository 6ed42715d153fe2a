"""A synthetic history for demos and benchmarks (`relaydesk demo seed`): customers,
agents, conversations over the last weeks with their messages, decisions, escalations,
agents' replies from drafts, resolutions, CSAT and feedback, written in bulk.

The mix is fixed (and stated in docs/insights.md): about 60% of conversations handled by
the bot alone (some come back within days), 40% escalated with a trigger, a priority, a
queue and an agent; most escalations are resolved, half of the resolved are rated. A seed
makes it repeatable. The text is placeholder text: the history is for figures, not for
reading."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import conversations, customers, decisions, messages, users
from relaydesk.brief.schema import Brief

TRIGGERS = (
    "human_request",
    "policy_matrix",
    "low_confidence",
    "negative_sentiment",
    "repeated_question",
    "clarification_limit",
    "unsupported_type",
)
NUMBERS = ("100000000000001", "100000000000002")
#: What customers ask that the example shop's brief has no intent for: the clarified and
#: not-understood turns of the history, so its content gaps have something to find.
UNANSWERED = (
    "do you sell gift cards",
    "can I buy a gift card for my sister",
    "gift card for 50 euros?",
    "do you have a shop in Madrid I can visit",
    "is there a physical store near Barcelona",
    "where is your store in Valencia",
    "can I pay with bitcoin",
    "do you take crypto payments",
    "do you ship to the Canary Islands",
    "can you deliver to Tenerife",
)
#: Every row of a bulk insert names the same columns.
_CONVERSATION_COLUMNS = tuple(
    c.name
    for c in conversations.columns
    if c.name not in ("dialogue", "sla_handled", "timer_at", "facts_rev", "live_seq")
)
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Seeded:
    conversations: int
    messages: int
    decisions: int
    customers: int


def seed(
    db: Database, brief: Brief, *, conversations_wanted: int, now: datetime, weeks: int = 4,
    random_seed: int = 1,
) -> Seeded:  # fmt: skip
    """Add `conversations_wanted` conversations that started in the `weeks` before `now`."""
    rng = random.Random(random_seed)  # noqa: S311 - a repeatable demo history, not a secret
    with db.write() as conn:
        ids = _Ids(conn)
        agents = _agents(conn, ids, now)
        rows = _Rows()
        made = 0
        while made < conversations_wanted:
            customer = ids.next("customers")
            rows.customers.append(_customer(customer, now, ids.run))
            start = now - timedelta(seconds=rng.uniform(0, weeks * 7 * 86400))
            resolved_at = _conversation(rng, brief, rows, ids, customer, agents, start, now)
            made += 1
            if made < conversations_wanted and resolved_at is not None and rng.random() < 0.15:
                back = resolved_at + timedelta(days=rng.uniform(0.5, 10))
                if back < now:  # the customer writes again: their next conversation
                    _conversation(rng, brief, rows, ids, customer, agents, back, now)
                    made += 1
            if len(rows.messages) >= _CHUNK * 4:
                rows.flush(conn)
        rows.flush(conn)
        if conn.dialect.name == "postgresql":
            for table in (customers, conversations, messages, decisions, users):
                name = table.name  # our own table names: nothing from outside
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    return Seeded(made, rows.total_messages, rows.total_decisions, rows.total_customers)


class _Ids:
    def __init__(self, conn: Connection) -> None:
        self.run = int(conn.execute(select(func.count()).select_from(customers)).scalar_one())
        self._next = {
            t.name: int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
            for t in (customers, conversations, messages, decisions, users)
        }

    def next(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]


class _Rows:
    def __init__(self) -> None:
        self.customers: list[dict[str, Any]] = []
        self.conversations: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.total_messages = self.total_decisions = self.total_customers = 0

    def flush(self, conn: Connection) -> None:
        for table, batch in (
            (customers, self.customers),
            (conversations, self.conversations),
            (messages, self.messages),
            (decisions, self.decisions),
        ):
            for chunk in _chunks(batch):
                conn.execute(table.insert(), chunk)
        self.total_messages += len(self.messages)
        self.total_decisions += len(self.decisions)
        self.total_customers += len(self.customers)
        self.customers, self.conversations, self.messages, self.decisions = [], [], [], []


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), _CHUNK):
        yield rows[i : i + _CHUNK]


def _agents(conn: Connection, ids: _Ids, now: datetime) -> list[int]:
    """The seed's agents: those an earlier seed made, else eight new ones."""
    seeded = select(users.c.id).where(users.c.email.like("%@seed.example")).order_by(users.c.id)
    existing = [int(i) for i in conn.execute(seeded).scalars()]
    if existing:
        return existing
    made = []
    for n in range(1, 9):
        agent = ids.next("users")
        conn.execute(
            users.insert(),
            {
                "id": agent,
                "email": f"agent{n}@seed.example",
                "name": f"Seed agent {n}",
                "role": "agent",
                "skills": [],
                "languages": ["en"],
                "created_at": now,
            },
        )
        made.append(agent)
    return made


def _customer(customer: int, now: datetime, run: int) -> dict[str, Any]:
    return {
        "id": customer,
        "wa_id": f"99{run:05d}{customer:09d}",
        "profile_name": f"Customer {customer}",
        "created_at": now,
        "updated_at": now,
    }


def _conversation(
    rng: random.Random, brief: Brief, rows: _Rows, ids: _Ids, customer: int,
    agents: list[int], start: datetime, now: datetime,
) -> datetime | None:  # fmt: skip
    """One conversation; returns when people resolved it (None: the bot kept it or it is
    still open, so the customer cannot start another)."""
    cid = ids.next("conversations")
    intent = rng.choice(list(brief.intents))
    examples = brief.intents[intent].examples or [intent.replace("_", " ")]
    referral = {"referral": {"source_type": "ad", "source_id": "seed"}}
    first_payload = referral if rng.random() < 0.2 else {}
    escalate = rng.random() < 0.4
    values: dict[str, Any] = dict.fromkeys(_CONVERSATION_COLUMNS) | {
        "id": cid,
        "customer_id": customer,
        "phone_number_id": rng.choice(NUMBERS),
        "status": "bot",
        "created_at": start,
        "updated_at": start,
        "last_inbound_at": start,
    }

    def message(direction: str, when: datetime, author: int | None = None,
                draft: str | None = None, body: str = "...") -> int:  # fmt: skip
        first = not values.get("_messages")
        values["_messages"] = True
        message_id = ids.next("messages")
        rows.messages.append(
            {
                "id": message_id,
                "conversation_id": cid,
                "direction": direction,
                "type": "text",
                "text": body,
                "payload": first_payload if first else {},
                "sent_at": when,
                "created_at": when,
                "author_id": author,
                "draft": draft,
            }
        )
        return message_id

    def decide(message_id: int, when: datetime, action: str, trigger: str | None = None) -> None:
        understood = action == "answer" or trigger not in ("low_confidence", None)
        rows.decisions.append(
            {
                "id": ids.next("decisions"),
                "conversation_id": cid,
                "message_id": message_id,
                "action": action,
                "intent": intent if understood else None,
                "confidence": round(rng.uniform(0.3, 0.99), 3),
                "triggers": (
                    [{"type": trigger, "detail": "", "score": 1.0, "threshold": 0.5}]
                    if trigger
                    else []
                ),
                "policy_version": brief.version,
                "detail": {},
                "created_at": when,
            }
        )

    at = start
    bot_turns = rng.randint(0, 6) if escalate else rng.randint(1, 9)
    for _ in range(bot_turns):
        at = min(at, now - timedelta(seconds=2))
        if rng.random() < 0.8:
            decide(message("in", at, body=rng.choice(examples)), at, "answer")
        else:
            decide(message("in", at, body=rng.choice(UNANSWERED)), at, "clarify")
        message("out", at + timedelta(seconds=1))
        at += timedelta(seconds=rng.uniform(20, 600))
    if not escalate and rng.random() < 0.1:  # came back days later; the bot answered again
        back = at + timedelta(days=rng.uniform(1.5, 6))
        if back < now - timedelta(seconds=2):
            decide(message("in", back, body=rng.choice(examples)), back, "answer")
            message("out", back + timedelta(seconds=1))
    resolved: datetime | None = None
    if escalate:
        if rng.random() < 0.3:  # back after a quiet spell
            at += timedelta(hours=rng.uniform(1, 20))
        at = min(at, now - timedelta(seconds=2))
        trigger = rng.choice(TRIGGERS)
        unclear = trigger in ("low_confidence", "clarification_limit")
        asked = message("in", at, body=rng.choice(UNANSWERED if unclear else examples))
        decide(asked, at, "escalate", trigger)
        agent = rng.choice(agents)
        values |= {
            "status": "assigned",
            "queue": rng.choice(list(brief.queues)),
            "tier": 2,
            "priority": rng.choice(("P1", "P2", "P3", "P3", "P4")),
            "assignee_id": agent,
            "escalated_at": at,
            "queued_at": at,
            "assigned_at": at,
            "last_inbound_at": at,
        }
        reply = at + timedelta(seconds=rng.expovariate(1 / 900))
        if reply < now:
            draft = "Hi, thanks for waiting. How can I help?"
            body = draft if rng.random() < 0.6 else draft + " Let me check your order."
            message("out", reply, author=agent, draft=draft, body=body)
            done = reply + timedelta(seconds=rng.expovariate(1 / 7200))
            if rng.random() < 0.85 and done < now:
                resolved = done
                values |= {"status": "resolved", "resolved_at": done, "updated_at": done}
                _csat_and_feedback(rng, values, done, agent)
    values.pop("_messages", None)
    rows.conversations.append(values)
    return resolved


def _csat_and_feedback(
    rng: random.Random, values: dict[str, Any], resolved: datetime, agent: int
) -> None:
    answer = rng.random()
    if answer < 0.5:
        values |= {
            "csat_state": "answered",
            "csat_rating": rng.choice((5, 5, 4, 4, 3, 2, 1)),
            "csat_at": resolved + timedelta(minutes=3),
        }
    elif answer < 0.8:
        values["csat_state"] = "sent"
    else:
        values["csat_state"] = "skipped"
    if rng.random() < 0.4:
        values |= {
            "feedback": rng.choice(("needed",) * 7 + ("not_needed",) * 2 + ("too_late",)),
            "failure_tags": ["weak_follow_up"] if rng.random() < 0.25 else [],
            "feedback_by": agent,
            "feedback_at": resolved,
        }
