"""What the knowledge-base report reads: a period's decisions in the conversations where
an article answered, and those conversations' CSAT ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from relaydesk.adapters.storage.tables import conversations, decisions
from relaydesk.domain.knowledge_report import DecisionRow


def decisions_between(
    conn: Connection, start: datetime, end: datetime
) -> tuple[list[DecisionRow], dict[int, int | None]]:
    """Every decision of `[start, end)` in conversations that had an answer or a list
    from the knowledge base, by conversation and time, and each such conversation's CSAT
    rating (None: not rated)."""
    rows = conn.execute(
        select(
            decisions.c.conversation_id,
            decisions.c.action,
            decisions.c.detail,
            decisions.c.created_at,
            conversations.c.csat_rating,
        )
        .join(conversations, conversations.c.id == decisions.c.conversation_id)
        .where(decisions.c.created_at >= start, decisions.c.created_at < end)
        .order_by(decisions.c.conversation_id, decisions.c.created_at, decisions.c.id)
    ).all()
    used = {
        row.conversation_id
        for row in rows
        if isinstance(row.detail, dict) and ("knowledge" in row.detail or "articles" in row.detail)
    }
    found = [
        DecisionRow(int(row.conversation_id), str(row.action), row.detail or {}, row.created_at)
        for row in rows
        if row.conversation_id in used
    ]
    ratings = {
        int(row.conversation_id): row.csat_rating for row in rows if row.conversation_id in used
    }
    return found, ratings
