"""Helpers for the desk tests: people with tokens, escalated conversations, and snapshots
of what a refused action must leave unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from relaydesk.adapters.storage.tables import conversations, events, messages, notes
from relaydesk.services import accounts
from tests.conftest import SECRET_KEY, Harness, text_webhook


def person(
    harness: Harness,
    email: str,
    *,
    role: str = "agent",
    skills: tuple[str, ...] = ("orders",),
    languages: tuple[str, ...] = ("en", "es"),
    capacity: int = 2,
    password: str | None = None,
) -> tuple[int, dict[str, str]]:
    """A user and the headers that authenticate as them."""
    now = datetime.now(UTC)
    with harness.container.db.write() as conn:
        user = accounts.create_user(
            conn,
            email=email,
            name=email.split("@")[0].capitalize(),
            role=role,
            password=password,
            now=now,
            skills=skills,
            languages=languages,
            capacity=capacity,
        )
        token = accounts.create_token(conn, email=email, label="tests", now=now, key=SECRET_KEY)
    return user.id, {"Authorization": f"Bearer {token}"}


def lead(harness: Harness) -> dict[str, str]:
    """The harness's supervisor."""
    return {"Authorization": f"Bearer {harness.token}"}


async def escalated(
    harness: Harness,
    wa_id: str,
    body: str = "I want to talk to a real person",
    *,
    name: str = "Ana",
    before: tuple[str, ...] = (),
) -> int:
    """A conversation the customer escalated through the webhook (after `before`)."""
    for text in before:
        await harness.post_webhook(text_webhook(body=text, wa_id=wa_id, name=name))
    await harness.post_webhook(text_webhook(body=body, wa_id=wa_id, name=name))
    found = await harness.client.get(
        "/api/v1/conversations", params={"customer": wa_id}, headers=lead(harness)
    )
    conversation = found.json()["conversations"][0]
    assert conversation["status"] == "queued", conversation
    return int(conversation["id"])


def snapshot(harness: Harness, conversation_id: int) -> dict[str, Any]:
    """Everything an action may change about a conversation."""
    with harness.container.db.read() as conn:
        row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).one()

        def count(table: Any) -> int:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.conversation_id == conversation_id)
                ).scalar_one()
            )

        return {
            **{k: v for k, v in row._mapping.items() if k != "updated_at"},
            "messages": count(messages),
            "notes": count(notes),
            "events": count(events),
        }


def event_kinds(harness: Harness, conversation_id: int | None = None) -> list[str]:
    with harness.container.db.read() as conn:
        query = select(events.c.kind).order_by(events.c.id)
        if conversation_id is not None:
            query = query.where(events.c.conversation_id == conversation_id)
        return list(conn.execute(query).scalars())


def last_event(harness: Harness, kind: str) -> Any:
    with harness.container.db.read() as conn:
        return conn.execute(
            select(events).where(events.c.kind == kind).order_by(events.c.id.desc()).limit(1)
        ).one()
