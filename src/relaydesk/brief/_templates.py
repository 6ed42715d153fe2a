"""Checks of the WhatsApp templates the brief sends: their parameters, their versions in
the brief's languages, the CSAT template's quick replies and the categories of the
templates sent as support messages. A version is a template with the same `name` in
another language (the rule of `domain.templates.in_language`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from relaydesk.brief._types import Issue, base_code

if TYPE_CHECKING:
    from relaydesk.brief.schema import Brief

_TEMPLATE_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def check_templates(brief: Brief) -> list[Issue]:
    """Each template's `body_params`: one per placeholder of its body, in order."""
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


def missing_followup_versions(brief: Brief) -> list[Issue]:
    """The re-engagement template with no version in one of the brief's other languages:
    those customers get the default version. A version is a template of the same `name`
    whose base language is theirs (the rule of `domain.templates.in_language`)."""
    key = brief.policy.reengagement_template
    spec = brief.templates.get(key)
    if spec is None:  # an error of its own (`_checks._check_routing`)
        return []
    have = {base_code(t.language) for t in brief.templates.values() if t.name == spec.name}
    return [
        (
            ("policy", "reengagement_template"),
            f"{key} has no {language} version (business.languages serves {language}), so "
            f"customers writing {language} get it in {spec.language}; add a template with "
            f"name: {spec.name} and language: {language}, as approved in WhatsApp Manager.",
        )
        for language in brief.business.languages[1:]
        if base_code(language) not in have
    ]


def versions(brief: Brief, key: str) -> list[str]:
    """The keys of every language version of the template `key` (those with its `name`),
    `key` first."""
    name = brief.templates[key].name
    return [key, *(k for k, t in brief.templates.items() if t.name == name and k != key)]


def csat_quick_replies(brief: Brief, key: str) -> list[Issue]:
    """The CSAT template `key` (or a version of it) with other than one quick reply per
    csat button."""
    replies, buttons = len(brief.templates[key].quick_replies), len(brief.csat.buttons)
    if replies == buttons:
        return []
    return [
        (
            ("templates", key, "quick_replies"),
            f"lists {replies} quick reply button(s) but csat has {buttons}; the CSAT "
            "template needs one quick reply per csat button, in the same order (a tap "
            "answers with that button's rating).",
        )
    ]


#: Why a support message's template must not be of the category.
_CATEGORY_EFFECTS = {
    "authentication": "WhatsApp sends authentication templates only as one-time passcodes, "
    "so it will not send this one",
    "marketing": "WhatsApp sends marketing templates only to customers who opted in to "
    "marketing, limits them per customer (error 131049) and prices them as marketing, "
    "while support messages are utility",
}


def support_categories(
    brief: Brief, category: Literal["authentication", "marketing"]
) -> list[Issue]:
    """The templates of `category` the brief sends as support messages: every version of
    `policy.reengagement_template` and of `csat.template`."""
    uses: dict[str, list[str]] = {}
    for key, use in (
        (brief.policy.reengagement_template, "re-engagement follow-up"),
        (brief.csat.template, "CSAT survey"),
    ):
        if key is not None and key in brief.templates:  # else an error of its own
            for version in versions(brief, key):
                uses.setdefault(version, []).append(use)
    return [
        (
            ("templates", key, "category"),
            f"is {category}, but {key} is the {' and '.join(used)} template; "
            f"{_CATEGORY_EFFECTS[category]}. Submit it as a utility template in WhatsApp "
            "Manager and set category: utility.",
        )
        for key, used in uses.items()
        if brief.templates[key].category == category
    ]
