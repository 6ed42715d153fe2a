"""The operating brief: one YAML file per business, as typed, validated pydantic models.

Each model checks its own fields. Checks that need the whole brief (references between
sections, the tone guide applied to every piece of copy) run once on `Brief` and report
every problem at the exact field it concerns, so the loader can point at the YAML line.
Every model forbids unknown keys, so a typo is an error rather than a silently ignored
setting.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import string
from collections.abc import Iterable, Mapping
from datetime import date, time, timedelta
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

# -- value types ------------------------------------------------------------------------

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?$"
TEMPLATE_NAME_PATTERN = r"^[a-z0-9_]+$"
URL_PATTERN = r"^https://\S+$"

PATTERN_HINTS: dict[str, str] = {
    NAME_PATTERN: "use lowercase letters, digits and underscores, starting with a letter "
    "(like order_status)",
    LANGUAGE_PATTERN: "use a language code like en, es or pt_BR",
    TEMPLATE_NAME_PATTERN: "use the template name exactly as approved in WhatsApp Manager "
    "(lowercase letters, digits and underscores)",
    URL_PATTERN: "use a full https:// address",
}
"""What each pattern used in the brief means, in words, for error messages."""

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]

Priority = Literal["P1", "P2", "P3", "P4"]
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")
PolicyAction = Literal["answer", "clarify", "escalate"]
AnswerLength = Literal["short", "medium", "detailed"]
ANSWER_LENGTHS: tuple[AnswerLength, ...] = ("short", "medium", "detailed")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Phase = Literal["pilot", "expand", "scale"]
MessageType = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "unsupported",
]

# WhatsApp content limits (whatsapp-cloud-api.md §4.7).
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_BODY = 1024
MAX_TEXT_BODY = 4096


def brief_error(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is shown to the brief's author as it is."""
    return PydanticCustomError(kind, "{detail}", {"detail": message})


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """` Did you mean 'x'?` when something close exists, else an empty string."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """ "90s", "5m", "2h", "1d" (or combined, "1h30m") -> timedelta; anything else is an error."""
    if isinstance(value, timedelta):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _DURATION.fullmatch(text):
        raise brief_error(
            "duration",
            f"{value!r} is not a duration; write a number and a unit with no space: "
            "90s, 5m, 2h or 1d (combinations like 1h30m work too).",
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds == 0:
        raise brief_error("duration", f"{value!r} is zero; a duration must be longer than 0s.")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The compact form `parse_duration` reads: timedelta(minutes=90) -> "1h30m"."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(value: str) -> str:
    if value not in _timezones():
        raise brief_error(
            "timezone",
            f"{value!r} is not an IANA time zone name (like Europe/Madrid)."
            + did_you_mean(value, _timezones()),
        )
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]


def _placeholder_check(allowed: frozenset[str]) -> AfterValidator:
    """Copy may use only the `{name}` placeholders the service knows how to fill."""

    def check(value: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError:
            raise brief_error(
                "placeholder",
                "has an unmatched { or }; placeholders look like {team}. "
                "Write {{ or }} for a literal brace.",
            ) from None
        for name in names:
            if name not in allowed:
                raise brief_error(
                    "placeholder",
                    f"uses the placeholder {{{name}}}, which is not filled here;"
                    f" available: {', '.join('{' + a + '}' for a in sorted(allowed))}."
                    + did_you_mean(name, allowed),
                )
        return value

    return AfterValidator(check)


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

    short: Text
    medium: Text | None = None
    detailed: Text | None = None

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
    title: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BUTTON_TITLE)]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    intent: Name | None = Field(
        default=None, description="an intent a tap on this button goes straight to"
    )

    @property
    def reply_id(self) -> str:
        return self.id or self.intent or self.title


class Link(_Model):
    label: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BUTTON_TITLE)]
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


class Intent(_Model):
    description: str = ""
    examples: list[Text] = Field(
        min_length=1, description="a list of real customer phrasings of this intent"
    )
    answers: Answers | None = None
    next_action: NextAction | None = None
    policy: PolicyAction = "answer"
    confidence_threshold: Probability | None = None
    queue: Name | None = None
    priority: Priority | None = None


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
    reopen_within: Duration = timedelta(hours=24)
    backlog_alert_depth: Annotated[int, Field(ge=1)] = 25
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
    escalate: bool = Field(
        default=False,
        description="escalate at once; otherwise only route if the conversation escalates",
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


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LadderStep(_Model):
    """One target of the tier ladder. Several queues in one step mean "whichever of these
    matches the conversation's intent or skills, else the first"."""

    queue: Annotated[list[Name], BeforeValidator(_one_or_many)] = Field(min_length=1)
    timeout: Duration | None = None
    skip_if_unavailable: bool = True


class Sla(_Model):
    first_response: Duration
    next_response: Duration
    resolution: Duration
    business_hours: bool = True
    warn_at: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        if self.first_response > self.resolution:
            raise brief_error(
                "sla",
                f"first_response ({format_duration(self.first_response)}) is longer than "
                f"resolution ({format_duration(self.resolution)}); shorten first_response.",
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


class Tone(_Model):
    max_chars: ToneLimits = Field(default_factory=ToneLimits)
    banned_phrases: list[Text] = Field(default_factory=list)
    required_elements: list[Text] = Field(default_factory=list)
    approved_examples: list[ToneExample] = Field(default_factory=list)
    anti_patterns: list[AntiPattern] = Field(default_factory=list)


# -- templates and copy -----------------------------------------------------------------


class TemplateSpec(_Model):
    """A WhatsApp message template approved in WhatsApp Manager."""

    name: Annotated[str, StringConstraints(pattern=TEMPLATE_NAME_PATTERN, max_length=512)]
    language: Language
    category: Literal["utility", "marketing", "authentication"] = "utility"
    body: str = Field(default="", description="the approved text, with {{1}}, {{2}}, ...")
    body_params: list[Name] = Field(
        default_factory=list, description="what fills {{1}}, {{2}}, ... in order"
    )
    description: str = ""


_COMMON = frozenset({"customer_name", "business"})


class HandoffCopy(_Model):
    message: Annotated[Text, _placeholder_check(_COMMON | {"team", "wait"})]
    out_of_hours: Annotated[Text, _placeholder_check(_COMMON | {"team", "opens"})]
    cancelled: Annotated[Text, _placeholder_check(_COMMON | {"team"})]


class FallbackCopy(_Model):
    connecting: Annotated[Text, _placeholder_check(_COMMON)]
    not_understood: Annotated[Text, _placeholder_check(_COMMON)]
    clarify: Annotated[Text, _placeholder_check(_COMMON)]


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
    acceptance_rate: Probability = 0.8
    min_lift: float = 0.0
    min_conversations: Annotated[int, Field(ge=0)] = 200


class Rollout(_Model):
    phase: Phase = "pilot"
    traffic_percent: Annotated[int, Field(ge=0, le=100)] = 100
    pilot_window: Duration = timedelta(days=14)
    draft_intents: list[Name] = Field(default_factory=list)
    gates: RolloutGates = Field(default_factory=RolloutGates)


# -- the brief --------------------------------------------------------------------------


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
    fallback: FallbackCopy
    owners: Owners
    kpi_targets: KpiTargets = Field(default_factory=KpiTargets)
    rollout: Rollout = Field(default_factory=Rollout)

    _version: str = PrivateAttr(default="")

    @property
    def version(self) -> str:
        """12 hex digits of sha256 over the source file (or the data, when built in code)."""
        return self._version

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
        issues = _cross_check(self)
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
        return self


def content_version(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()[:12]


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


# -- checks across sections -------------------------------------------------------------

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]


def _cross_check(brief: Brief) -> list[Issue]:
    return [
        *_check_intents(brief),
        *_check_examples(brief),
        *_check_routing(brief),
        *_check_ladder(brief),
        *_check_tone(brief),
        *_check_templates(brief),
    ]


def _unknown(kind: str, value: str, known: Iterable[str], section: str) -> str:
    known = sorted(known)
    return (
        f"{kind} {value!r} is not defined under {section}."
        + did_you_mean(value, known)
        + (f" Defined: {', '.join(known)}." if known else f" Add it under {section}.")
    )


def _check_intents(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    for name, intent in brief.intents.items():
        loc: Loc = ("intents", name)
        if intent.policy != "escalate" and intent.answers is None:
            issues.append(
                (
                    (*loc, "answers"),
                    f"is missing; an intent with policy '{intent.policy}' needs approved "
                    "answers (at least answers.short).",
                )
            )
        if intent.queue is None and intent.policy == "escalate":
            issues.append(
                (
                    (*loc, "queue"),
                    "is missing; an escalate-only intent needs the queue it goes to "
                    f"(one of: {', '.join(sorted(brief.queues))}).",
                )
            )
        elif intent.queue is not None and intent.queue not in brief.queues:
            issues.append(
                ((*loc, "queue"), _unknown("queue", intent.queue, brief.queues, "queues"))
            )
        if intent.next_action is not None:
            issues += _check_buttons(brief, intent, (*loc, "next_action", "buttons"))
    return issues


def _check_buttons(brief: Brief, intent: Intent, loc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    buttons = intent.next_action.buttons if intent.next_action else []
    titles: set[str] = set()
    ids: set[str] = set()
    for i, button in enumerate(buttons):
        if button.title.casefold() in titles:
            issues.append(
                ((*loc, i, "title"), f"{button.title!r} is used twice; button titles must differ.")
            )
        elif button.reply_id in ids:
            issues.append(
                ((*loc, i, "id"), f"{button.reply_id!r} is used twice; button ids must differ.")
            )
        titles.add(button.title.casefold())
        ids.add(button.reply_id)
        if button.intent is not None and button.intent not in brief.intents:
            issues.append(
                ((*loc, i, "intent"), _unknown("intent", button.intent, brief.intents, "intents"))
            )
    if buttons and intent.answers is not None:
        for length, text in intent.answers.items():
            if len(text) > MAX_BUTTON_BODY:
                issues.append(
                    (
                        (*loc[:2], "answers", length),
                        f"is {len(text)} characters; a WhatsApp message with buttons allows "
                        f"at most {MAX_BUTTON_BODY}. Shorten it or use a link instead.",
                    )
                )
    return issues


def _check_examples(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    owner: dict[str, str] = {}
    for name, intent in brief.intents.items():
        seen: set[str] = set()
        for i, example in enumerate(intent.examples):
            key = " ".join(example.casefold().split())
            first = owner.setdefault(key, name)
            loc: Loc = ("intents", name, "examples", i)
            if key in seen:
                issues.append((loc, f"{example!r} repeats an earlier example; remove it."))
            elif first != name:
                issues.append(
                    (
                        loc,
                        f"{example!r} is also an example of intent {first!r}; an example must "
                        "belong to one intent. Keep it where it fits best.",
                    )
                )
            seen.add(key)
    return issues


def _check_routing(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    refs: list[tuple[Loc, str | None]] = [
        (("policy", "default_queue"), brief.policy.default_queue),
        (("triggers", "human_request", "queue"), brief.triggers.human_request.queue),
        (("triggers", "unsupported_types", "queue"), brief.triggers.unsupported_types.queue),
    ]
    refs += [
        (("triggers", "keywords", i, "queue"), r.queue)
        for i, r in enumerate(brief.triggers.keywords)
    ]
    refs += [
        (("triggers", "attributes", i, "queue"), r.queue)
        for i, r in enumerate(brief.triggers.attributes)
    ]
    for loc, queue in refs:
        if queue is not None and queue not in brief.queues:
            issues.append((loc, _unknown("queue", queue, brief.queues, "queues")))
    for i, intent in enumerate(brief.rollout.draft_intents):
        if intent not in brief.intents:
            issues.append(
                (
                    ("rollout", "draft_intents", i),
                    _unknown("intent", intent, brief.intents, "intents"),
                )
            )
    template = brief.policy.reengagement_template
    if template not in brief.templates:
        issues.append(
            (
                ("policy", "reengagement_template"),
                _unknown("template", template, brief.templates, "templates"),
            )
        )
    missing = [p for p in PRIORITIES if p not in brief.slas]
    if missing:
        issues.append(
            (
                ("slas",),
                f"has no SLA for {', '.join(missing)}; every priority P1-P4 needs "
                "first_response, next_response and resolution.",
            )
        )
    if not any(brief.business_hours.weekly.values()):
        issues.append(
            (
                ("business_hours", "weekly"),
                "has no opening hours; add at least one day, like mon: [09:00-18:00].",
            )
        )
    return issues


def _check_ladder(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    placed: dict[str, int] = {}
    previous_tier = 0
    for i, step in enumerate(brief.ladder):
        tiers = []
        for j, queue in enumerate(step.queue):
            if queue not in brief.queues:
                issues.append(
                    (("ladder", i, "queue", j), _unknown("queue", queue, brief.queues, "queues"))
                )
                continue
            if queue in placed:
                issues.append(
                    (
                        ("ladder", i, "queue", j),
                        f"{queue!r} is already in ladder step {placed[queue] + 1}; "
                        "a queue appears once in the ladder.",
                    )
                )
            placed.setdefault(queue, i)
            tiers.append(brief.queues[queue].tier)
        if tiers and min(tiers) < previous_tier:
            issues.append(
                (
                    ("ladder", i, "queue"),
                    f"goes to tier {min(tiers)} after tier {previous_tier}; order the ladder "
                    "from tier 2 up to tier 4.",
                )
            )
        previous_tier = max([previous_tier, *tiers])
        if step.timeout is None and i < len(brief.ladder) - 1:
            issues.append(
                (
                    ("ladder", i, "timeout"),
                    "is missing; every step but the last needs a timeout (like 5m) after "
                    "which the conversation moves to the next step.",
                )
            )
    return issues


def _check_tone(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    limits = brief.tone.max_chars
    copy: list[tuple[Loc, str]] = []
    for name, intent in brief.intents.items():
        for length, text in intent.answers.items() if intent.answers else []:
            limit: int = getattr(limits, length)
            loc: Loc = ("intents", name, "answers", length)
            copy.append((loc, text))
            if len(text) > limit:
                issues.append(
                    (
                        loc,
                        f"is {len(text)} characters; the tone guide allows at most {limit}. "
                        "Shorten it.",
                    )
                )
    copy += [(("handoff", key), text) for key, text in brief.handoff.model_dump().items()]
    copy += [(("fallback", key), text) for key, text in brief.fallback.model_dump().items()]
    copy += [
        (("tone", "approved_examples", i, "reply"), example.reply)
        for i, example in enumerate(brief.tone.approved_examples)
    ]
    for loc, text in copy:
        folded = text.casefold()
        for phrase in brief.tone.banned_phrases:
            if phrase.casefold() in folded:
                issues.append(
                    (
                        loc,
                        f"contains the banned phrase {phrase!r} (see tone.banned_phrases); "
                        "rephrase it without that phrase.",
                    )
                )
    return issues


_TEMPLATE_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def _check_templates(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    for key, template in brief.templates.items():
        if not template.body:
            continue
        used = sorted({int(n) for n in _TEMPLATE_PARAM.findall(template.body)})
        if used != list(range(1, len(template.body_params) + 1)):
            shown = ", ".join("{{" + str(n) + "}}" for n in used) or "no placeholders"
            issues.append(
                (
                    ("templates", key, "body_params"),
                    f"lists {len(template.body_params)} parameter(s) but the body uses "
                    f"{shown}; name one parameter per placeholder, in order.",
                )
            )
    return issues
