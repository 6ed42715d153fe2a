"""The decision every inbound message gets, and why (explainable by construction)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.outbound import OutboundContent


class Action(enum.StrEnum):
    ANSWER = "answer"  #: send approved copy
    CLARIFY = "clarify"  #: ask one question
    ESCALATE = "escalate"  #: hand over to a human queue
    SILENT = "silent"  #: a human owns the conversation; the bot says nothing
    DEFER = "defer"  #: stored but not answered (e.g. a backlog message delivered late)
    IGNORE = "ignore"  #: nothing to answer (a reaction, a deleted message)


@dataclass(frozen=True, slots=True)
class Trigger:
    """One reason that fired: {type, detail, score, threshold}."""

    type: str
    detail: str
    score: float
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "detail": self.detail,
            "score": self.score,
            "threshold": self.threshold,
        }


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the NLU made of a message."""

    intent: str | None
    confidence: float
    example: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    queue: str
    tier: int
    priority: str


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    policy_version: str
    intent: str | None = None
    confidence: float | None = None
    triggers: tuple[Trigger, ...] = ()
    replies: tuple[OutboundContent, ...] = ()
    route: Route | None = None  #: set when escalating
    status_after: ConversationStatus | None = None  #: None: unchanged
    detail: dict[str, Any] = field(default_factory=dict)
