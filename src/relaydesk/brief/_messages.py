"""The brief's sections on what customers are sent besides answers: the tone guide for all
copy, the WhatsApp templates, and the handoff, CSAT, canned and fallback copy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from relaydesk.brief._model import ButtonTitle, _Model
from relaydesk.brief._types import (
    LOCALIZED,
    MAX_BUTTON_BODY,
    MAX_BUTTONS,
    MAX_TEMPLATE_BUTTON,
    MAX_TEMPLATE_QUICK_REPLIES,
    MAX_TEXT_BODY,
    TEMPLATE_NAME_PATTERN,
    Language,
    Name,
    Text,
    placeholder_check,
)

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
