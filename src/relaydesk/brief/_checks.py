"""Checks that need the whole brief: references between sections, the ladder's order, the
tone guide applied to every piece of copy (in `_copy`), the templates (in `_templates`).

Each check returns `Issue`s, (location, message) pairs, so `Brief` can report every problem
at the exact field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from relaydesk.brief._copy import check_tone, missing_translations, variants
from relaydesk.brief._templates import (
    check_templates,
    csat_quick_replies,
    missing_followup_versions,
    support_categories,
    versions,
)
from relaydesk.brief._types import (
    MAX_BUTTON_BODY,
    PRIORITIES,
    Issue,
    Loc,
    base_code,
    did_you_mean,
)
from relaydesk.nlu import ask

if TYPE_CHECKING:
    from relaydesk.brief.schema import Brief, Intent


def cross_check(brief: Brief) -> list[Issue]:
    """Every problem in `brief` that no single section can see on its own."""
    return [
        *_check_intents(brief),
        *_check_examples(brief),
        *_check_routing(brief),
        *_check_ladder(brief),
        *check_tone(brief),
        *check_templates(brief),
        *_check_playbooks(brief),
        *_check_csat(brief),
        *_check_nlu(brief),
    ]


#: An escalate-only intent with more than this share of question examples gets a warning.
MOSTLY_QUESTIONS = 0.5


def ignored(brief: Brief) -> list[Issue]:
    """Settings the brief sets that have no effect (kept so that older briefs still load):
    `brief check` warns of them, and every start logs them."""
    if brief.policy.reopen_within is None:
        return []
    return [
        (
            ("policy", "reopen_within"),
            "has no effect: a customer's message after a resolution always starts a new "
            "conversation (the reopen rate, docs/insights.md, counts those within 7 days). "
            "Remove it from the brief.",
        )
    ]


def check_errors(brief: Brief) -> list[Issue]:
    """Errors `brief check` reports (it exits 1) that do not stop the brief from loading or
    a process from starting: briefs with them loaded before these checks were written, and
    still do."""
    issues = support_categories(brief, "authentication")
    csat = brief.csat.template
    if csat is not None and csat in brief.templates:  # else an error (_check_csat)
        for key in versions(brief, csat)[1:]:  # the version csat names: _check_csat
            issues += csat_quick_replies(brief, key)
    return issues


def advise(brief: Brief) -> list[Issue]:
    """Warnings: things that work but probably not as meant. They never stop a brief."""
    issues: list[Issue] = [
        *ignored(brief),
        *missing_translations(brief),
        *missing_followup_versions(brief),
        *support_categories(brief, "marketing"),
    ]
    for name, intent in brief.intents.items():
        if intent.policy != "escalate":
            continue
        questions = [e for e in intent.examples if ask.detect(e).kind == ask.QUESTION]
        if len(questions) > MOSTLY_QUESTIONS * len(intent.examples):
            shown = ", ".join(repr(q) for q in questions[:2])
            issues.append(
                (
                    ("intents", name, "policy"),
                    f"is escalate, but {len(questions)} of {len(intent.examples)} examples "
                    f"ask about the topic rather than ask us to act ({shown}, ...), so those "
                    "questions go to a person. Answer them: use policy: {question: answer, "
                    "request: escalate} with approved answers, or move the questions to an "
                    "intent with policy answer.",
                )
            )
    return issues


def _check_language_queues(brief: Brief) -> list[Issue]:
    """A language routes to one queue, whose agents speak it."""
    issues: list[Issue] = []
    claimed: dict[str, str] = {}
    for name, queue in brief.queues.items():
        spoken = {base_code(code) for code in queue.languages}
        for i, code in enumerate(queue.customer_languages):
            loc: Loc = ("queues", name, "customer_languages", i)
            if queue.languages and base_code(code) not in spoken:
                issues.append(
                    (
                        loc,
                        f"{code} is routed to {name}, whose agents' languages "
                        f"({', '.join(queue.languages)}) do not include it; add it to "
                        f"queues.{name}.languages.",
                    )
                )
            other = claimed.setdefault(base_code(code), name)
            if other != name:
                issues.append(
                    (loc, f"{code} is already routed to queue {other}; route it to one queue.")
                )
    return issues


def _check_csat(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    csat = brief.csat
    titles: set[str] = set()
    ratings: set[int] = set()
    for i, button in enumerate(csat.buttons):
        loc: Loc = ("csat", "buttons", i)
        if button.title.casefold() in titles:
            issues.append(
                ((*loc, "title"), f"{button.title!r} is used twice; button titles must differ.")
            )
        if button.rating in ratings:
            issues.append(
                (
                    (*loc, "rating"),
                    f"{button.rating} is given by an earlier button too; each button needs "
                    "its own rating (it names the button's reply id).",
                )
            )
        titles.add(button.title.casefold())
        ratings.add(button.rating)
    if csat.template is None:
        return issues
    template = brief.templates.get(csat.template)
    if template is None:
        issues.append(
            (
                ("csat", "template"),
                _unknown("template", csat.template, brief.templates, "templates"),
            )
        )
    else:
        issues += csat_quick_replies(brief, csat.template)
    return issues


def _check_playbooks(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    pricing = brief.playbooks.pricing
    if pricing is not None and pricing.intent not in brief.intents:
        issues.append(
            (
                ("playbooks", "pricing", "intent"),
                _unknown("intent", pricing.intent, brief.intents, "intents"),
            )
        )
    frustrated = brief.playbooks.frustrated
    if frustrated is not None:
        for name in frustrated.troubleshooting:
            if name not in brief.intents:
                issues.append(
                    (
                        ("playbooks", "frustrated", "troubleshooting", name),
                        _unknown("intent", name, brief.intents, "intents"),
                    )
                )
    return issues


def _check_nlu(brief: Brief) -> list[Issue]:
    issues: list[Issue] = []
    for index, pattern in enumerate(brief.nlu.order_patterns):
        try:
            re.compile(pattern)
        except re.error as error:
            issues.append(
                (
                    ("nlu", "order_patterns", index),
                    f"{pattern!r} is not a valid regular expression ({error}); write it "
                    r"like '\bNW\d{6}\b'.",
                )
            )
    return issues


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
        single = isinstance(intent.policy, str)
        if intent.actions - {"escalate"} and intent.answers is None:
            said = f"'{intent.policy}'" if single else "that answers or clarifies"
            issues.append(
                (
                    (*loc, "answers"),
                    f"is missing; an intent with policy {said} needs approved "
                    "answers (at least answers.short).",
                )
            )
        if intent.queue is None and "escalate" in intent.actions:
            kind = "an escalate-only intent" if single else "an intent that can escalate"
            issues.append(
                (
                    (*loc, "queue"),
                    f"is missing; {kind} needs the queue it goes to "
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
    answers = intent.answers.items() if buttons and intent.answers is not None else []
    for length, copy in answers:
        for where, text in variants((*loc[:2], "answers", length), copy):
            if len(text) > MAX_BUTTON_BODY:
                issues.append(
                    (
                        where,
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
    issues: list[Issue] = [*_check_language_queues(brief)]
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
    rollout_intents: list[tuple[Loc, str]] = [
        (("rollout", key, i), intent)
        for key, names in (
            ("draft_intents", brief.rollout.draft_intents),
            ("off_intents", brief.rollout.off_intents),
        )
        for i, intent in enumerate(names)
    ]
    rollout_intents += [
        (("rollout", "segment", "intents", i), intent)
        for i, intent in enumerate(brief.rollout.segment.intents)
    ]
    for loc, intent in rollout_intents:
        if intent not in brief.intents:
            issues.append((loc, _unknown("intent", intent, brief.intents, "intents")))
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
