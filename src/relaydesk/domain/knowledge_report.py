"""Articles that keep failing: answers from the knowledge base that were followed by an
escalation in the same conversation, or whose conversation got a thumbs-down (a CSAT
rating of 2 or less). Pure: it reads the decisions it is given."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

THUMBS_DOWN = 2  #: CSAT ratings up to this one count as a thumbs-down


@dataclass(frozen=True, slots=True)
class DecisionRow:
    conversation_id: int
    action: str
    detail: Mapping[str, Any]
    created_at: datetime


@dataclass
class ArticleRecord:
    article: str
    title: str
    answers: int = 0
    escalated: int = 0  #: answers followed by an escalation in the same conversation
    thumbs_down: int = 0  #: answers in a conversation rated 2 or less
    conversations: list[int] = field(default_factory=list)  #: the failed ones, newest last

    @property
    def failures(self) -> int:
        return len(self.conversations)

    @property
    def failure_rate(self) -> float:
        return self.failures / self.answers if self.answers else 0.0


def article_records(
    rows: Iterable[DecisionRow], ratings: Mapping[int, int | None]
) -> list[ArticleRecord]:
    """Every article that answered in `rows` (ordered by conversation, then time), with
    its failures; most failures first."""
    records: dict[str, ArticleRecord] = {}
    by_conversation: dict[int, list[DecisionRow]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(row)
    for conversation_id, decided in by_conversation.items():
        rating = ratings.get(conversation_id)
        for position, row in enumerate(decided):
            used = row.detail.get("knowledge") if row.action == "answer" else None
            if not isinstance(used, Mapping) or "article" not in used:
                continue
            record = records.setdefault(
                str(used["article"]), ArticleRecord(str(used["article"]), str(used.get("title")))
            )
            record.answers += 1
            escalated = any(later.action == "escalate" for later in decided[position + 1 :])
            rated_down = rating is not None and rating <= THUMBS_DOWN
            record.escalated += escalated
            record.thumbs_down += rated_down
            if escalated or rated_down:
                record.conversations.append(conversation_id)
    return sorted(records.values(), key=lambda r: (-r.failures, -r.failure_rate, r.article))


def failing(
    records: Iterable[ArticleRecord], min_failures: int, min_rate: float
) -> list[ArticleRecord]:
    """The articles that keep failing: at least `min_failures` failed answers, and at
    least `min_rate` of their answers."""
    return [r for r in records if r.failures >= min_failures and r.failure_rate >= min_rate]
