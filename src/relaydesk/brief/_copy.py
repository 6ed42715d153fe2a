"""Checks of the brief's customer-facing copy: the tone guide (`tone.max_chars`,
`tone.banned_phrases`) over every text customers get, in each of its languages, and the
variants a served language lacks.

A text given per language (`{en: ..., es: ...}`) is checked variant by variant, and each
problem is located at its language (`intents.greeting.answers.short[es]`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel

from relaydesk.brief._types import Issue, Loc, Localized, Variant

if TYPE_CHECKING:
    from relaydesk.brief.schema import Brief


def copy_texts(value: Any, loc: Loc = ()) -> list[tuple[Loc, Localized]]:
    """Every customer-facing text of `value` (a brief or part of one) with its location."""
    if isinstance(value, Localized):
        return [(loc, value)]
    if isinstance(value, BaseModel):
        return [
            found
            for name in type(value).model_fields
            for found in copy_texts(getattr(value, name), (*loc, name))
        ]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in copy_texts(item, (*loc, key))]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in copy_texts(item, (*loc, i))]
    return []


def variants(loc: Loc, text: str) -> list[tuple[Loc, str]]:
    """Each language's text of the copy `text` at `loc`, located at its language when the
    brief gives it per language (`(*loc, Variant("es"))`); a text written once is itself."""
    given = text.variants if isinstance(text, Localized) else None
    if not given:
        return [(loc, str(text))]
    return [((*loc, Variant(code)), variant) for code, variant in given.items()]


class _Copy(NamedTuple):
    loc: Loc
    text: str
    limit: int | None = None  #: the most characters the tone guide allows; None: no limit
    approved: bool = False  #: a template's text, as approved in WhatsApp Manager


def _customer_copy(brief: Brief) -> list[_Copy]:
    """Every text of `brief` a customer reads, with the tone guide's length limit for it.

    Answers are held to `max_chars` for their length, in every language. Other texts
    (handoff, fallback, CSAT, rollout greeting, playbooks, knowledge-base list, buttons,
    canned responses) only to the banned phrases: the tone guide's lengths are answer
    lengths, and WhatsApp's own caps are the schema's. Templates are sent as WhatsApp
    approved them: banned phrases only.
    """
    limits = brief.tone.max_chars
    found: list[_Copy] = []
    for loc, text in copy_texts(brief):
        if loc[0] == "intents" and len(loc) == 4 and loc[2] == "answers":
            found.append(_Copy(loc, text, getattr(limits, str(loc[3]))))
        else:
            found.append(_Copy(loc, text))
    found += [
        _Copy(("canned_responses", name, "text"), canned.text)
        for name, canned in brief.canned_responses.items()
    ]
    for key, template in brief.templates.items():
        if template.body:
            found.append(_Copy(("templates", key, "body"), template.body, approved=True))
        found += [
            _Copy(("templates", key, "quick_replies", i), reply, approved=True)
            for i, reply in enumerate(template.quick_replies)
        ]
    found += [
        _Copy(("tone", "approved_examples", i, "reply"), example.reply)
        for i, example in enumerate(brief.tone.approved_examples)
    ]
    return found


def check_tone(brief: Brief) -> list[Issue]:
    """Every customer-facing text, in each language, within its length and free of the
    banned phrases."""
    issues: list[Issue] = []
    for copy in _customer_copy(brief):
        for loc, text in variants(copy.loc, copy.text):
            if copy.limit is not None and len(text) > copy.limit:
                issues.append(
                    (
                        loc,
                        f"is {len(text)} characters; the tone guide allows at most "
                        f"{copy.limit}. Shorten it.",
                    )
                )
            folded = text.casefold()
            for phrase in brief.tone.banned_phrases:
                if phrase.casefold() in folded:
                    again = " (and have the new text approved in WhatsApp Manager)"
                    issues.append(
                        (
                            loc,
                            f"contains the banned phrase {phrase!r} (see tone.banned_phrases); "
                            f"rephrase it without that phrase{again if copy.approved else ''}.",
                        )
                    )
    return issues


def missing_translations(brief: Brief) -> list[Issue]:
    """Customer-facing copy with no variant in one of the brief's other languages: those
    customers get the default language's text there."""
    default, others = brief.business.languages[0], brief.business.languages[1:]
    issues: list[Issue] = []
    for language in others:
        for loc, text in copy_texts(brief):
            if not text.has(language):
                issues.append(
                    (
                        loc,
                        f"has no {language} text (business.languages serves {language}), so "
                        f"customers writing {language} get the {default} text here; write it "
                        f"as {{{default}: ..., {language}: ...}}.",
                    )
                )
    return issues
