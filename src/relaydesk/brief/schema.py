"""The operating brief: one YAML file per business, as typed, validated pydantic models.

Each model checks its own fields. Checks that need the whole brief (references between
sections, the tone guide applied to every piece of copy) run once on `Brief` and report
every problem at the exact field it concerns, so the loader can point at the YAML line.
Every model forbids unknown keys, so a typo is an error rather than a silently ignored
setting. The value types live in `_types`, the checks across sections in `_checks`; the
names they define are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from relaydesk.brief._checks import cross_check
from relaydesk.brief._copy import copy_texts
from relaydesk.brief._types import (
    ANSWER_LENGTHS,
    DEFAULT_LANGUAGE,
    LANGUAGE_PATTERN,
    LOCALIZED,
    MAX_BUTTON_BODY,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_TEMPLATE_BUTTON,
    MAX_TEMPLATE_QUICK_REPLIES,
    MAX_TEXT_BODY,
    NAME_PATTERN,
    PATTERN_HINTS,
    PRIORITIES,
    TEMPLATE_NAME_PATTERN,
    URL_PATTERN,
    WEEKDAYS,
    AnswerLength,
    Duration,
    Issue,
    Language,
    Loc,
    Localized,
    MessageType,
    Name,
    Phase,
    PolicyAction,
    Priority,
    Probability,
    Text,
    TimeZoneName,
    Variant,
    Weekday,
    base_code,
    brief_error,
    did_you_mean,
    format_duration,
    parse_duration,
    placeholder_check,
)
from relaydesk.brief.integrations import Integration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- business ---------------------------------------------------------------------------


class Business(_Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    languages: list[Language] = Field(
        min_length=1, description="language codes the business serves, main one first"
    )
    timezone: TimeZoneName = Field(description="an IANA time zone like Europe/Madrid")


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


ButtonTitle = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_BUTTON_TITLE), LOCALIZED
]


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


# -- triggers ---------------------------------------------------------------------------

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


# -- queues, ladder, SLAs ---------------------------------------------------------------


class Queue(_Model):
    description: str = ""
    tier: Literal[2, 3, 4]
    skills: list[Text] = Field(min_length=1)
    languages: list[Language] = Field(default_factory=list)
    customer_languages: list[Language] = Field(
        default_factory=list,
        description="customers writing in one of these languages are handed to this queue "
        "rather than the one their intent or the default names (a keyword trigger's queue "
        "and a tier a trigger requires still win)",
    )


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LadderStep(_Model):
    """One target of the tier ladder. Several queues in one step mean "whichever of these
    matches the conversation's intent or skills, else the first"."""

    queue: Annotated[list[Name], BeforeValidator(_one_or_many)] = Field(min_length=1)
    timeout: Duration | None = None
    skip_if_unavailable: bool = True


BreachActionName = Literal["raise_priority", "move_up_tier", "notify_supervisors"]
BREACH_ACTIONS: tuple[BreachActionName, ...] = (
    "raise_priority",
    "move_up_tier",
    "notify_supervisors",
)


class Sla(_Model):
    first_response: Duration
    next_response: Duration
    resolution: Duration
    business_hours: bool = True
    warn_at: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    on_breach: list[BreachActionName] | None = Field(
        default=None,
        description="what a breach of any clock does: raise_priority, move_up_tier, "
        "notify_supervisors; [] only records it; left out: the built-in defaults per clock",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        if self.first_response > self.resolution:
            raise brief_error(
                "sla",
                f"first_response ({format_duration(self.first_response)}) is longer than "
                f"resolution ({format_duration(self.resolution)}); shorten first_response.",
            )
        if self.on_breach is not None and len(set(self.on_breach)) < len(self.on_breach):
            twice = sorted({a for a in self.on_breach if self.on_breach.count(a) > 1})
            raise brief_error(
                "sla",
                f"on_breach lists {', '.join(twice)} more than once; list each action once.",
            )
        return self


# -- business hours ---------------------------------------------------------------------

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class TimeRange(_Model):
    """Opening hours in one day, written "09:00-18:00". An end at or before the start
    ("22:00-02:00") runs into the next day; "00:00-24:00" is the whole day."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        match = _RANGE.match(value.strip())
        hours = [int(g) for g in match.groups()] if match else []
        if not hours or hours[0] > 23 or hours[2] > 24 or hours[1] > 59 or hours[3] > 59:
            raise brief_error(
                "time_range",
                f"{value!r} is not a time range; write it as HH:MM-HH:MM, like 09:00-18:00 "
                "(22:00-02:00 runs past midnight).",
            )
        end = time(0, 0) if hours[2] == 24 else time(hours[2], hours[3])
        return {"start": time(hours[0], hours[1]), "end": end}

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


_Date = date


class Holiday(_Model):
    date: _Date
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_date(cls, value: object) -> object:
        return {"date": value} if isinstance(value, date | str) else value


class BusinessHours(_Model):
    timezone: TimeZoneName | None = None
    weekly: dict[Weekday, list[TimeRange]]
    holidays: list[Holiday] = Field(default_factory=list)


# -- tone -------------------------------------------------------------------------------

MaxChars = Annotated[int, Field(ge=20, le=MAX_TEXT_BODY)]


class ToneLimits(_Model):
    short: MaxChars = 280
    medium: MaxChars = 600
    detailed: MaxChars = 1200


class ToneExample(_Model):
    customer: Text
    reply: Text
    note: str = ""


class AntiPattern(_Model):
    example: Text
    why: Text
    instead: str = ""


class RequiredElement(_Model):
    """A required element the pre-launch replay checks in every bot reply."""

    say: Text = Field(description="the element, as whoever writes copy reads it")
    check: Literal["next_step", "echo_order_number", "avoid_words"] = Field(
        description="next_step: the reply ends in a link, buttons, a question or a handoff; "
        "echo_order_number: the reply repeats the order number the customer gave; "
        "avoid_words: the reply uses none of `words`"
    )
    words: list[Text] = Field(default_factory=list, description="for check: avoid_words")

    @model_validator(mode="after")
    def _words_for_avoid(self) -> RequiredElement:
        if self.check == "avoid_words" and not self.words:
            raise ValueError("check: avoid_words needs the words to avoid in `words`")
        if self.check != "avoid_words" and self.words:
            raise ValueError(f"`words` is only read by check: avoid_words, not {self.check}")
        return self


class Tone(_Model):
    max_chars: ToneLimits = Field(default_factory=ToneLimits)
    banned_phrases: list[Text] = Field(default_factory=list)
    required_elements: list[Text | RequiredElement] = Field(
        default_factory=list,
        description="guidance for whoever writes copy; the ones with a `check` are also "
        "checked in every reply by the pre-launch replay",
    )
    approved_examples: list[ToneExample] = Field(default_factory=list)
    anti_patterns: list[AntiPattern] = Field(default_factory=list)


# -- templates and copy -----------------------------------------------------------------


class TemplateSpec(_Model):
    """A WhatsApp message template approved in WhatsApp Manager."""

    name: Annotated[str, StringConstraints(pattern=TEMPLATE_NAME_PATTERN, max_length=512)]
    language: Language
    category: Literal["utility", "marketing", "authentication"] = Field(
        default="utility",
        description="the category it was approved in. The re-engagement and CSAT templates "
        "(each language version) are support messages, utility: `brief check` fails on "
        "authentication (WhatsApp sends those only as one-time passcodes) and warns of "
        "marketing (sent only to customers who opted in, limited per customer); the brief "
        "still loads with either",
    )
    body: str = Field(default="", description="the approved text, with {{1}}, {{2}}, ...")
    body_params: list[Name] = Field(
        default_factory=list, description="what fills {{1}}, {{2}}, ... in order"
    )
    quick_replies: list[
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEMPLATE_BUTTON)]
    ] = Field(
        default_factory=list,
        max_length=MAX_TEMPLATE_QUICK_REPLIES,
        description="the quick-reply button texts as approved, in order",
    )
    description: str = ""


_COMMON = frozenset({"customer_name", "business"})


class HandoffCopy(_Model):
    message: Annotated[Text, placeholder_check(_COMMON | {"team", "wait"}), LOCALIZED]
    out_of_hours: Annotated[Text, placeholder_check(_COMMON | {"team", "opens"}), LOCALIZED]
    cancelled: Annotated[Text, placeholder_check(_COMMON | {"team"}), LOCALIZED]


class CsatButton(_Model):
    """One reply button of the satisfaction question and the rating a tap gives."""

    title: ButtonTitle
    rating: Annotated[int, Field(ge=1, le=5)]


def _default_csat_buttons() -> list[CsatButton]:
    return [
        CsatButton(title="Great", rating=5),
        CsatButton(title="OK", rating=3),
        CsatButton(title="Poor", rating=1),
    ]


class Csat(_Model):
    """The satisfaction question sent after a person resolves a conversation: reply
    buttons inside the 24-hour window, the `template` (quick replies) after it."""

    enabled: bool = True
    question: Annotated[
        Text, StringConstraints(max_length=MAX_BUTTON_BODY), placeholder_check(_COMMON), LOCALIZED
    ] = Field(
        default="How did we do today? Tap one to rate the help you got.", validate_default=True
    )
    buttons: list[CsatButton] = Field(
        default_factory=_default_csat_buttons, min_length=1, max_length=MAX_BUTTONS
    )
    thanks: Annotated[Text, placeholder_check(_COMMON), LOCALIZED] = Field(
        default="Thanks for telling us. It helps us get better.", validate_default=True
    )
    template: Name | None = Field(
        default=None,
        description="a key under templates, with one quick reply per button, for customers "
        "whose 24-hour window has closed; without it they are not asked",
    )


class CannedResponse(_Model):
    """A reply agents insert with one click in the console (and edit before sending)."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    text: Annotated[Text, StringConstraints(max_length=MAX_TEXT_BODY), placeholder_check(_COMMON)]


class FallbackCopy(_Model):
    connecting: Annotated[Text, placeholder_check(_COMMON), LOCALIZED]
    not_understood: Annotated[Text, placeholder_check(_COMMON), LOCALIZED]
    clarify: Annotated[Text, placeholder_check(_COMMON), LOCALIZED]
    out_of_scope: Annotated[Text, placeholder_check(_COMMON), LOCALIZED] | None = Field(
        default=None,
        description="the reply to a question no intent covers, before the clarify buttons "
        "(default: not_understood)",
    )
    talk_to_person: ButtonTitle = Field(
        default="Talk to a person",
        validate_default=True,
        description="the title of the button that asks for a person, offered with every "
        "clarifying question",
    )


# -- ownership, targets, rollout --------------------------------------------------------


class Owners(_Model):
    brief: Text = Field(description="who approves changes to this brief")
    answers: str = ""
    routing: str = ""
    escalation: str = ""
    reporting: str = ""


class KpiTargets(_Model):
    first_response_p90: Duration = timedelta(minutes=2)
    resolution_p90: Duration = timedelta(hours=24)
    acceptance_rate: Probability = 0.8
    deflection_rate: Probability = 0.5
    escalation_precision: Probability = 0.8
    escalation_recall: Probability = 0.95
    csat: Annotated[float, Field(ge=1.0, le=5.0)] = 4.5


class RolloutGates(_Model):
    """What promotion asks of live figures and what rolls a change back (docs/rollout.md)."""

    acceptance_rate: Probability = 0.8
    min_lift: float = 0.0
    min_conversations: Annotated[int, Field(ge=0)] = 200
    min_drafts: Annotated[int, Field(ge=1)] = Field(
        default=30, description="an intent's drafts handled before its acceptance counts"
    )
    escalation_precision: Probability = Field(
        default=0.8, description="share of the pilot's escalations agents marked needed"
    )
    min_feedback: Annotated[int, Field(ge=1)] = Field(
        default=20, description="agents' verdicts before escalation precision counts"
    )
    resolution_target: Duration = Field(
        default=timedelta(hours=24), description="a conversation resolved within this counts"
    )
    max_csat_drop: Probability = Field(
        default=0.1, description="pilot's satisfied share below the baseline's by more: rollback"
    )
    max_send_error_rate: Probability = Field(
        default=0.05, description="share of the pilot's sends failing above this: rollback"
    )
    min_sends: Annotated[int, Field(ge=1)] = Field(
        default=50, description="sends before the send-error rate counts"
    )


class RolloutSegment(_Model):
    """Which customers the bot serves besides `traffic_percent`: each non-empty list must
    match the conversation's first message (an empty list matches everyone)."""

    sources: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="click-to-WhatsApp referral source_id (ad or post id)"
    )
    campaigns: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="utm_campaign of the referral's source_url"
    )
    business_numbers: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="the business phone_number_id written to"
    )
    intents: list[Name] = Field(
        default_factory=list, description="the intent of the conversation's first message"
    )


class LaunchGates(_Model):
    """What the pre-launch replay (`relaydesk replay`) asks of each intent."""

    min_samples: Annotated[int, Field(ge=1)] = Field(
        default=50, description="customer turns of an intent the history must hold"
    )
    accuracy: Probability = 0.9
    tone: Probability = 0.95
    actionability: Probability = 0.9


class Rollout(_Model):
    """The rollout's starting point and rules. Phase, segment and intents' modes are read
    from here once, when the database has no rollout yet; afterwards they change only by
    `relaydesk rollout`, the console or the gates (docs/rollout.md)."""

    launch: LaunchGates = Field(default_factory=LaunchGates)
    phase: Name = "pilot"
    traffic_percent: Annotated[int, Field(ge=0, le=100)] = 100
    pilot_window: Duration = timedelta(days=14)
    draft_intents: list[Name] = Field(default_factory=list)
    gates: RolloutGates = Field(default_factory=RolloutGates)
    phases: list[Name] = Field(
        default_factory=lambda: ["pilot", "expand", "scale"],
        min_length=1,
        description="the phases' names, in order",
    )
    traffic_steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: [5, 20, 50, 100],
        min_length=1,
        description="percentages the segment widens and shrinks through",
    )
    segment: RolloutSegment = Field(default_factory=RolloutSegment)
    off_intents: list[Name] = Field(
        default_factory=list, description="intents the bot never answers (handed to people)"
    )
    fallback: Literal["handoff", "greeting"] = Field(
        default="handoff",
        description="outside the segment: handoff (straight to people) or greeting (the "
        "`greeting` copy, then the handoff message)",
    )
    greeting: Annotated[Text, LOCALIZED] | None = None
    auto_promote: bool = Field(
        default=False, description="promote and widen by the gates, without a person"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Rollout:
        if self.phase not in self.phases:
            raise brief_error(
                "rollout_phase",
                f"phase {self.phase!r} is not one of phases ({', '.join(self.phases)}); "
                f"name it in `phases` or pick one of them.{did_you_mean(self.phase, self.phases)}",
            )
        if self.traffic_steps != sorted(set(self.traffic_steps)):
            raise brief_error(
                "rollout_steps",
                f"traffic_steps {self.traffic_steps} must rise, each step once "
                "(like [5, 20, 50, 100]).",
            )
        if self.fallback == "greeting" and self.greeting is None:
            raise brief_error(
                "rollout_greeting",
                "fallback is greeting but there is no `greeting`: write the greeting "
                "customers outside the segment get before the handoff message, or use "
                "fallback: handoff.",
            )
        both = sorted(set(self.off_intents) & set(self.draft_intents))
        if both:
            raise brief_error(
                "rollout_modes",
                f"{', '.join(both)} in both off_intents and draft_intents; an intent has "
                "one mode: keep it in one list.",
            )
        return self

    draft_timeout: Duration = Field(
        default=timedelta(minutes=15),
        description="a bot draft nobody approved or rejected within this is escalated to "
        "people like any other conversation",
    )


# -- the brief --------------------------------------------------------------------------


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


class Privacy(_Model):
    message_retention_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None,
        description="days message text, payloads, drafts, decisions' text and raw webhook "
        "bodies are kept; older ones are blanked (text) or deleted (raw bodies) by the worker, "
        "the conversation skeleton stays for metrics. Unset: kept until erased",
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


class Brief(_Model):
    """The whole operating brief. `version` identifies its exact content."""

    business: Business
    policy: PolicyDefaults
    intents: dict[Name, Intent] = Field(min_length=1)
    triggers: Triggers = Field(default_factory=Triggers)
    queues: dict[Name, Queue] = Field(min_length=1)
    ladder: list[LadderStep] = Field(default_factory=list)
    slas: dict[Priority, Sla]
    business_hours: BusinessHours
    tone: Tone = Field(default_factory=Tone)
    templates: dict[Name, TemplateSpec]
    handoff: HandoffCopy
    csat: Csat = Field(default_factory=Csat)
    canned_responses: dict[Name, CannedResponse] = Field(
        default_factory=dict,
        description="replies agents insert with one click; {customer_name} and {business} "
        "are filled in",
    )
    fallback: FallbackCopy
    owners: Owners
    kpi_targets: KpiTargets = Field(default_factory=KpiTargets)
    rollout: Rollout = Field(default_factory=Rollout)
    playbooks: Playbooks = Field(default_factory=Playbooks)
    nlu: NluSettings = Field(default_factory=NluSettings)
    privacy: Privacy = Field(default_factory=Privacy)
    integrations: dict[Name, Integration] = Field(
        default_factory=dict,
        description="CRMs and signed webhooks: customer lookup and write-back "
        "(docs/integrations.md)",
    )
    knowledge_base: KnowledgeBase | None = None

    _version: str = PrivateAttr(default="")
    _directory: Path | None = PrivateAttr(default=None)
    _language: str = PrivateAttr(default="")  #: the language its copy is in ("": default)
    _root: Brief | None = PrivateAttr(default=None)  #: the brief as written, if localized
    _localized: dict[str, Brief] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _default_language(cls, data: Any, handler: Any) -> Any:
        """Copy given per language takes its plain text from the default language."""
        languages = data.get("business", {}).get("languages") if isinstance(data, dict) else None
        first = languages[0] if isinstance(languages, list) and languages else None
        token = DEFAULT_LANGUAGE.set(first if isinstance(first, str) else None)
        try:
            return handler(data)
        finally:
            DEFAULT_LANGUAGE.reset(token)

    @property
    def default_language(self) -> str:
        return self.business.languages[0]

    @property
    def language(self) -> str:
        """The language its customer-facing copy is in (see `localized`)."""
        return self._language or self.default_language

    def reply_language(self, language: str | None) -> str:
        """The language the bot writes to a customer in `language`: theirs when the brief
        serves it (`business.languages`), else the default."""
        if language:
            for code in self.business.languages:
                if base_code(code) == base_code(language):
                    return code
        return self.default_language

    def localized(self, language: str | None) -> Brief:
        """This brief with every customer-facing text in `reply_language(language)` (a text
        with no variant in it keeps the default language's). Built once per language."""
        root = self._root or self
        code = root.reply_language(language)
        if code == root.default_language:
            return root
        made = root._localized.get(code)
        if made is None:
            made = cast(Brief, _in_language(root, code))
            made._language, made._root, made._localized = code, root, {}
            root._localized[code] = made
        return made

    @property
    def version(self) -> str:
        """12 hex digits of sha256 over the source file (or the data, when built in code)."""
        return self._version

    @property
    def knowledge_base_folder(self) -> Path | None:
        """The knowledge base's folder (relative to the brief file's folder when the brief
        was read from a file), or None without a knowledge base."""
        if self.knowledge_base is None:
            return None
        folder = Path(self.knowledge_base.folder)
        return folder if self._directory is None else self._directory / folder

    @property
    def timezone(self) -> ZoneInfo:
        """The zone business hours are kept in."""
        return ZoneInfo(self.business_hours.timezone or self.business.timezone)

    @property
    def reengagement(self) -> TemplateSpec:
        """The template sent when the 24-hour customer-service window has closed."""
        return self.templates[self.policy.reengagement_template]

    def confidence_threshold(self, intent: str) -> float:
        own = self.intents[intent].confidence_threshold
        return self.policy.confidence_threshold if own is None else own

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Brief:
        issues = cross_check(self)
        if issues:
            raise PydanticCustomError(
                "brief_consistency",
                "{summary}",
                {
                    "summary": "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in issues),
                    "issues": issues,
                },
            )
        context = info.context if isinstance(info.context, Mapping) else {}
        source = context.get("source")
        if not isinstance(source, bytes):
            source = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        self._version = content_version(source)
        directory = context.get("directory")
        self._directory = directory if isinstance(directory, Path) else None
        return self


def _in_language(value: Any, code: str) -> Any:
    """`value` with each `Localized` text replaced by its variant in `code` (models, dicts
    and lists rebuilt only where something changed)."""
    if isinstance(value, Localized):
        return Localized(value.variant(code), value.variants, value.default)
    if isinstance(value, BaseModel):
        updates = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _in_language(old, code)
            if new is not old:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, dict):
        items = {key: _in_language(item, code) for key, item in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        rebuilt = [_in_language(item, code) for item in value]
        return rebuilt if any(a is not b for a, b in zip(rebuilt, value, strict=True)) else value
    return value


#: The hex characters of a brief version: the start of its content's SHA-256.
VERSION_CHARS = 12


def content_version(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()[:VERSION_CHARS]


def _dotted(loc: tuple[Any, ...]) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, Variant) else f".{part}" if i else str(part)
        for i, part in enumerate(loc)
    )


__all__ = [
    "ANSWER_LENGTHS",
    "BREACH_ACTIONS",
    "LANGUAGE_PATTERN",
    "MAX_BUTTONS",
    "MAX_BUTTON_BODY",
    "MAX_BUTTON_TITLE",
    "MAX_TEXT_BODY",
    "NAME_PATTERN",
    "PATTERN_HINTS",
    "PRIORITIES",
    "TEMPLATE_NAME_PATTERN",
    "URL_PATTERN",
    "VERSION_CHARS",
    "WEEKDAYS",
    "AnswerLength",
    "Answers",
    "AntiPattern",
    "AttributeRule",
    "BotLoopTrigger",
    "BreachActionName",
    "Brief",
    "Business",
    "BusinessHours",
    "Button",
    "CancelTrigger",
    "CannedResponse",
    "Csat",
    "CsatButton",
    "Duration",
    "FallbackCopy",
    "HandoffCopy",
    "Holiday",
    "HumanRequestTrigger",
    "Intent",
    "Issue",
    "KeywordRule",
    "KnowledgeBase",
    "KpiTargets",
    "LadderStep",
    "Language",
    "Link",
    "Loc",
    "Localized",
    "LowConfidenceTrigger",
    "MaxChars",
    "MessageType",
    "ModePolicy",
    "Name",
    "NextAction",
    "Owners",
    "Phase",
    "Phrases",
    "PolicyAction",
    "PolicyDefaults",
    "Priority",
    "Probability",
    "Queue",
    "RepeatedQuestionTrigger",
    "Rollout",
    "RolloutGates",
    "RolloutSegment",
    "SentimentTrigger",
    "Sla",
    "TemplateSpec",
    "Text",
    "TimeRange",
    "TimeZoneName",
    "Tone",
    "ToneExample",
    "ToneLimits",
    "Triggers",
    "UnsupportedTypesTrigger",
    "Weekday",
    "brief_error",
    "content_version",
    "copy_texts",
    "did_you_mean",
    "format_duration",
    "parse_duration",
]
