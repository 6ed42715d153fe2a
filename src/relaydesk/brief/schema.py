"""The operating brief: one YAML file per business, as typed, validated pydantic models.

Each model checks its own fields. Checks that need the whole brief (references between
sections, the tone guide applied to every piece of copy) run once on `Brief` and report
every problem at the exact field it concerns, so the loader can point at the YAML line.
Every model forbids unknown keys, so a typo is an error rather than a silently ignored
setting. The value types live in `_types`, the checks across sections in `_checks`, the
sections' models in `_answers`, `_triggers`, `_desk`, `_messages` and `_rollout` (on the
base of `_model`); the names they define are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from relaydesk.brief._answers import (
    Answers,
    Button,
    Intent,
    KnowledgeBase,
    Link,
    ModePolicy,
    NextAction,
    PolicyDefaults,
)
from relaydesk.brief._answers import FrustratedPlaybook as FrustratedPlaybook  # re-exported
from relaydesk.brief._answers import IntentPolicy as IntentPolicy  # re-exported
from relaydesk.brief._answers import NluSettings as NluSettings  # re-exported
from relaydesk.brief._answers import Playbooks as Playbooks  # re-exported
from relaydesk.brief._answers import PricingPlaybook as PricingPlaybook  # re-exported
from relaydesk.brief._checks import cross_check
from relaydesk.brief._copy import copy_texts
from relaydesk.brief._desk import (
    BREACH_ACTIONS,
    BreachActionName,
    BusinessHours,
    Holiday,
    LadderStep,
    Queue,
    Sla,
    TimeRange,
)
from relaydesk.brief._messages import (
    AntiPattern,
    CannedResponse,
    Csat,
    CsatButton,
    FallbackCopy,
    HandoffCopy,
    MaxChars,
    TemplateSpec,
    Tone,
    ToneExample,
    ToneLimits,
)
from relaydesk.brief._messages import RequiredElement as RequiredElement  # re-exported
from relaydesk.brief._model import ButtonTitle as ButtonTitle  # re-exported
from relaydesk.brief._model import _Model
from relaydesk.brief._rollout import KpiTargets, Owners, Rollout, RolloutGates, RolloutSegment
from relaydesk.brief._rollout import LaunchGates as LaunchGates  # re-exported
from relaydesk.brief._triggers import (
    AttributeRule,
    BotLoopTrigger,
    CancelTrigger,
    HumanRequestTrigger,
    KeywordRule,
    LowConfidenceTrigger,
    Phrases,
    RepeatedQuestionTrigger,
    SentimentTrigger,
    Triggers,
    UnsupportedTypesTrigger,
)
from relaydesk.brief._types import (
    ANSWER_LENGTHS,
    DEFAULT_LANGUAGE,
    LANGUAGE_PATTERN,
    MAX_BUTTON_BODY,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
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
)
from relaydesk.brief.integrations import Integration

# -- business, privacy ------------------------------------------------------------------


class Business(_Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    languages: list[Language] = Field(
        min_length=1, description="language codes the business serves, main one first"
    )
    timezone: TimeZoneName = Field(description="an IANA time zone like Europe/Madrid")


class Privacy(_Model):
    message_retention_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None,
        description="days message text, payloads, drafts, decisions' text and raw webhook "
        "bodies are kept; older ones are blanked (text) or deleted (raw bodies) by the worker, "
        "the conversation skeleton stays for metrics. Unset: kept until erased",
    )


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
