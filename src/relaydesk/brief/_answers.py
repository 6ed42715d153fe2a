"""The brief's sections on what the bot answers and how it decides: intents (their copy,
next action and policy), the policy defaults, the playbooks, the classifier's settings and
the knowledge base."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag, model_validator
from pydantic_core import PydanticCustomError

from relaydesk.brief._model import ButtonTitle, _Model
from relaydesk.brief._types import (
    ANSWER_LENGTHS,
    LOCALIZED,
    MAX_BUTTONS,
    URL_PATTERN,
    AnswerLength,
    Duration,
    Name,
    PolicyAction,
    Priority,
    Probability,
    Text,
    brief_error,
)

# -- intents ----------------------------------------------------------------------------


class Answers(_Model):
    """Approved copy in three lengths; medium and detailed fall back to a shorter one."""

    short: Annotated[Text, LOCALIZED]
    medium: Annotated[Text, LOCALIZED] | None = None
    detailed: Annotated[Text, LOCALIZED] | None = None

    def get(self, length: AnswerLength) -> str:
        """The copy for `length`, or the nearest shorter one that exists."""
        texts = {"short": self.short, "medium": self.medium, "detailed": self.detailed}
        for name in reversed(ANSWER_LENGTHS[: ANSWER_LENGTHS.index(length) + 1]):
            if text := texts[name]:
                return text
        return self.short

    def items(self) -> list[tuple[AnswerLength, str]]:
        return [(name, text) for name in ANSWER_LENGTHS if (text := getattr(self, name))]


class Button(_Model):
    title: ButtonTitle
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    intent: Name | None = Field(
        default=None, description="an intent a tap on this button goes straight to"
    )

    @property
    def reply_id(self) -> str:
        """The id a tap sends back: the same in every language (the default title)."""
        return self.id or self.intent or str(getattr(self.title, "default", self.title))


class Link(_Model):
    label: ButtonTitle
    url: Annotated[str, StringConstraints(pattern=URL_PATTERN)]


class NextAction(_Model):
    """The one clear next step offered with an answer: reply buttons or a link."""

    buttons: list[Button] = Field(default_factory=list, max_length=MAX_BUTTONS)
    link: Link | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> NextAction:
        if bool(self.buttons) == (self.link is not None):
            raise brief_error(
                "next_action",
                "needs exactly one of `buttons` (up to 3) or `link`; an answer offers one "
                "clear next action.",
            )
        return self


class ModePolicy(_Model):
    """What to do when a customer asks *about* the topic (`question`: "can I return a sale
    item?") and when they ask us to act (`request`: "I want my money back")."""

    question: PolicyAction = Field(description="a question about the topic: usually answer")
    request: PolicyAction = Field(description="a request to act on it: usually escalate")


def _policy_kind(value: object) -> str:
    return "<by mode>" if isinstance(value, Mapping | ModePolicy) else "<action>"


#: One action, or one per mode. The tags ("<...>") are dropped from error locations.
IntentPolicy = Annotated[
    Annotated[PolicyAction, Tag("<action>")] | Annotated[ModePolicy, Tag("<by mode>")],
    Discriminator(_policy_kind),
]


class Intent(_Model):
    description: str = ""
    title: ButtonTitle | None = Field(
        default=None, description="button title when the bot offers this intent"
    )
    examples: list[Text] = Field(
        min_length=1, description="a list of real customer phrasings of this intent"
    )
    answers: Answers | None = None
    article: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None,
        description="answer from this knowledge-base article (its file name without .md, in "
        "any language folder) instead of `answers`: its passage that best matches the "
        "message, with the article's link; `answers` is the fallback when the article is gone",
    )
    next_action: NextAction | None = None
    policy: IntentPolicy = Field(
        default="answer",
        description="answer, clarify or escalate; or {question: ..., request: ...} to treat "
        "asking about the topic apart from asking us to act",
    )
    confidence_threshold: Probability | None = None
    queue: Name | None = None
    priority: Priority | None = None
    repeatable: bool = Field(
        default=False,
        description="the same answer again is natural (greetings, thanks), never a bot loop",
    )

    def action(self, mode: str | None) -> PolicyAction:
        """The policy for a message in `mode` ("question" or "request"; None counts as a
        request: a tap on a button for this intent chooses to act)."""
        if isinstance(self.policy, str):
            return self.policy
        return self.policy.question if mode == "question" else self.policy.request

    @property
    def actions(self) -> frozenset[PolicyAction]:
        """Every action this intent's policy can take."""
        if isinstance(self.policy, str):
            return frozenset((self.policy,))
        return frozenset((self.policy.question, self.policy.request))


# -- policy defaults --------------------------------------------------------------------


class PolicyDefaults(_Model):
    confidence_threshold: Probability = 0.6
    clarify_threshold: Probability = 0.35
    clarification_limit: Annotated[int, Field(ge=0, le=5)] = 1
    default_queue: Name = Field(description="the queue for escalations no rule routes")
    default_priority: Priority = "P3"
    answer_length: AnswerLength = "medium"
    reengagement_template: Name = Field(
        description="the template (a key under templates) sent outside the 24-hour window"
    )
    #: deprecated, no effect: a message after a resolution always starts a new conversation
    #: (`brief check` and every start warn while it is set; `IGNORED_SETTINGS`)
    reopen_within: Duration | None = None
    #: a queue is flagged as a backlog on the supervisors' dashboard and in /api/v1/queues
    #: when more than this many wait (`domain.desk.backlog`)
    backlog_alert_depth: Annotated[int, Field(ge=1)] = 25
    #: ... or when its oldest conversation has waited longer than this
    backlog_alert_wait: Duration = timedelta(minutes=30)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> PolicyDefaults:
        if self.clarify_threshold > self.confidence_threshold:
            raise brief_error(
                "thresholds",
                f"clarify_threshold ({self.clarify_threshold}) is above confidence_threshold "
                f"({self.confidence_threshold}); the bot clarifies between the two, so "
                "clarify_threshold must be the lower one.",
            )
        return self


# -- playbooks, the classifier, the knowledge base --------------------------------------


class PricingPlaybook(_Model):
    """Pricing: a range, one qualification question, a booking link."""

    intent: Name = "pricing"
    range: Annotated[Text, LOCALIZED] = Field(
        description="the honest price range, e.g. 'from €49 to €899'"
    )
    question: Annotated[Text, LOCALIZED] = Field(description="one qualification question")
    options: list[Button] = Field(min_length=1, max_length=MAX_BUTTONS)
    follow_up: Annotated[Text, LOCALIZED] = Field(
        description="sent with the booking link after an option is tapped"
    )
    booking_link: Link


class FrustratedPlaybook(_Model):
    """Frustrated customer: acknowledge, one troubleshooting step, escalate with priority."""

    acknowledge: Annotated[Text, LOCALIZED]
    troubleshooting: dict[Name, Annotated[Text, LOCALIZED]] = Field(
        default_factory=dict, description="intent -> the one step worth trying meanwhile"
    )
    priority: Priority = "P2"


class Playbooks(_Model):
    pricing: PricingPlaybook | None = None
    frustrated: FrustratedPlaybook | None = None


class NluSettings(_Model):
    backend: Literal["tfidf", "embeddings"] = Field(
        default="tfidf", description="intent classifier: tfidf (default) or embeddings"
    )
    order_patterns: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list, description="regular expressions for this shop's order numbers"
    )


class KnowledgeBase(_Model):
    """Help articles the bot answers from (docs/knowledge-base.md)."""

    folder: Annotated[str, StringConstraints(min_length=1)] = Field(
        description="the folder of Markdown articles, relative to the brief's own folder"
    )
    answer_threshold: Probability = Field(
        default=0.5, description="from this probability the best passage is the answer"
    )
    suggest_threshold: Probability = Field(
        default=0.15,
        description="from this probability (below answer_threshold) the top three articles "
        "are offered as a list",
    )
    suggest: Annotated[Text, LOCALIZED] = Field(
        default="One of these help articles may answer it. Tap one and I'll send it here:",
        description="the body of the list message that offers the articles",
    )
    list_button: ButtonTitle = Field(
        default="See articles", description="the list message's button (20 characters)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> KnowledgeBase:
        if self.suggest_threshold > self.answer_threshold:
            raise PydanticCustomError(
                "threshold_order",
                "suggest_threshold {suggest} is above answer_threshold {answer}; make it "
                "lower or equal",
                {"suggest": self.suggest_threshold, "answer": self.answer_threshold},
            )
        return self
