"""Rows of a past conversation for the replay export's tests: a customer asked, the bot
answered, the customer asked for a refund, the bot escalated, an agent replied."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert

from relaydesk.adapters.storage.db import Database
from relaydesk.adapters.storage.tables import conversations, customers, decisions, messages, users


def seed_escalated_conversation(
    db: Database, at: datetime, *, feedback: str | None, queue: str
) -> int:
    """The conversation's id; it was opened at `at`."""
    with db.write() as conn:
        tag = uuid.uuid4().hex[:8]
        agent = conn.execute(
            insert(users)
            .values(email=f"{tag}@example.com", name="Marta", role="agent", created_at=at)
            .returning(users.c.id)
        ).scalar_one()
        customer = conn.execute(
            insert(customers)
            .values(wa_id=f"346{uuid.uuid4().int % 10**8:08d}", created_at=at, updated_at=at)
            .returning(customers.c.id)
        ).scalar_one()
        conversation = conn.execute(
            insert(conversations)
            .values(
                customer_id=customer,
                phone_number_id="106540352242922",
                status="resolved",
                queue=queue,
                priority="P3",
                assignee_id=agent,
                assigned_at=at + timedelta(minutes=5),
                feedback=feedback,
                created_at=at,
                updated_at=at,
            )
            .returning(conversations.c.id)
        ).scalar_one()
        script = [
            ("in", "where is my order", None, "answer"),
            ("out", "Follow it here: https://x.test/track", None, None),
            ("in", "it came broken, i want a refund", None, "escalate"),
            ("out", "Hi, Marta here, I'm on it.", agent, None),
        ]
        for n, (direction, text, author, action) in enumerate(script):
            message = conn.execute(
                insert(messages)
                .values(
                    conversation_id=conversation,
                    direction=direction,
                    type="text",
                    text=text,
                    payload={},
                    sent_at=at + timedelta(minutes=n),
                    author_id=author,
                    created_at=at + timedelta(minutes=n),
                )
                .returning(messages.c.id)
            ).scalar_one()
            if action:
                conn.execute(
                    insert(decisions).values(
                        conversation_id=conversation,
                        message_id=message,
                        action=action,
                        triggers=[],
                        policy_version="v1",
                        detail={},
                        created_at=at + timedelta(minutes=n),
                    )
                )
        return int(conversation)
