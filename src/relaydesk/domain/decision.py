"""The decision every inbound message gets, and why (explainable by construction)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from relaydesk.domain.conversation import ConversationStatus
from relaydesk.domain.knowledge import Hit
from relaydesk.domain.language import Guess
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
    """One reason that fired: {type, detail, score, threshold}, plus where it routes."""

    type: str
    detail: str
    score: float
    threshold: float
    queue: str | None = None  #: a queue this trigger asks for
    priority: str | None = None  #: a priority this trigger asks for (the most urgent wins)
    min_tier: int | None = None
    escalates: bool = True  #: False: only routes if something else escalates

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": self.type,
            "detail": self.detail,
            "score": round(self.score, 4),
            "threshold": self.threshold,
        }
        for key in ("queue", "priority", "min_tier"):
            if (value := getattr(self, key)) is not None:
                record[key] = value
        if not self.escalates:
            record["escalates"] = False
        return record


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the NLU made of a message: intent with calibrated confidence, and signals."""

    intent: str | None
    confidence: float
    example: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()  #: likeliest intents, best first
    out_of_scope: bool = False
    human_request: float = 0.0  #: score of an explicit request for a person
    human_request_phrase: str | None = None
    cancel: float = 0.0  #: score of "never mind" (cancelling a pending handoff)
    sentiment: float = 0.0  #: -1 angry .. +1 happy
    frustration: float = 0.0  #: 0 .. 1
    #: the customer's language: set by the decision stage from `language_guess` and the
    #: language kept on the customer (`domain.language.settle`); before that, the language
    #: of a human-request or cancel phrase, if the message had one
    language: str | None = None
    language_guess: Guess | None = None  #: what this message alone suggests (`nlu.language`)
    entities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: "question" (asks about the topic) or "request" (asks us to act); None: not text
    mode: str | None = None
    mode_cue: str = ""  #: what showed the mode ("can i", "i want", "?")
    #: knowledge-base passages, best first, for a message no intent answers confidently
    #: (a tapped list row: that passage, probability 1)
    knowledge: tuple[Hit, ...] = ()
    knowledge_version: str = ""  #: the knowledge base's version they were found in


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
