"""The brief's `triggers` section: what hands a conversation to people, or routes it when it
is handed over (a request for a person, keywords, CRM attributes, sentiment, a repeated
question, low confidence, a bot loop, unsupported message types, a cancellation)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from relaydesk.brief._model import _Model
from relaydesk.brief._types import Language, MessageType, Name, Priority, Probability, Text

Phrases = dict[Language, list[Text]]


class HumanRequestTrigger(_Model):
    enabled: bool = True
    phrases: Phrases = Field(default_factory=dict)
    queue: Name | None = None
    priority: Priority = "P3"


class KeywordRule(_Model):
    keywords: list[Text] = Field(min_length=1)
    queue: Name
    priority: Priority | None = None
    escalate: bool | Literal["request"] = Field(
        default=False,
        description="true: escalate at once; request: escalate at once unless the message "
        "only asks about the topic; false: only route if the conversation escalates",
    )


def _as_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


class AttributeRule(_Model):
    """A customer attribute from the CRM that changes routing (e.g. VIPs skip tier 2)."""

    attribute: Name
    equals: Annotated[str, BeforeValidator(_as_text)]
    queue: Name | None = None
    priority: Priority | None = None
    min_tier: Literal[2, 3, 4] | None = None


class SentimentTrigger(_Model):
    enabled: bool = True
    negative_below: Annotated[float, Field(ge=-1.0, le=1.0)] = -0.6
    frustration_above: Probability = Field(
        default=0.6, description="escalate one message this frustrated (0..1)"
    )
    trend_turns: Annotated[int, Field(ge=2, le=20)] = 3
    trend_drop: Annotated[float, Field(gt=0.0, le=2.0)] = 0.5
    priority: Priority = "P2"


class RepeatedQuestionTrigger(_Model):
    enabled: bool = True
    similarity: Probability = 0.85
    within_turns: Annotated[int, Field(ge=1, le=20)] = 4


class LowConfidenceTrigger(_Model):
    enabled: bool = True
    consecutive: Annotated[int, Field(ge=1, le=10)] = 2


class BotLoopTrigger(_Model):
    enabled: bool = True
    repeats: Annotated[int, Field(ge=2, le=10)] = 2


def _default_unsupported_types() -> list[MessageType]:
    return ["audio", "image", "video", "document", "sticker"]


class UnsupportedTypesTrigger(_Model):
    enabled: bool = True
    types: list[MessageType] = Field(default_factory=_default_unsupported_types)
    queue: Name | None = None
    priority: Priority | None = None


class CancelTrigger(_Model):
    enabled: bool = True
    phrases: Phrases = Field(default_factory=dict)


class Triggers(_Model):
    human_request: HumanRequestTrigger = Field(default_factory=HumanRequestTrigger)
    keywords: list[KeywordRule] = Field(default_factory=list)
    attributes: list[AttributeRule] = Field(default_factory=list)
    sentiment: SentimentTrigger = Field(default_factory=SentimentTrigger)
    repeated_question: RepeatedQuestionTrigger = Field(default_factory=RepeatedQuestionTrigger)
    low_confidence: LowConfidenceTrigger = Field(default_factory=LowConfidenceTrigger)
    bot_loop: BotLoopTrigger = Field(default_factory=BotLoopTrigger)
    unsupported_types: UnsupportedTypesTrigger = Field(default_factory=UnsupportedTypesTrigger)
    cancel: CancelTrigger = Field(default_factory=CancelTrigger)
