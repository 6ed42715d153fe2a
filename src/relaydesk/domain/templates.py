"""Which of the brief's WhatsApp templates a customer gets. WhatsApp approves a template
per language under one name, so a brief lists each language's version as its own entry
under `templates`, with the same `name` and its own `language`; the one a policy names
(`policy.reengagement_template`, `csat.template`) is the default version."""

from __future__ import annotations

from relaydesk.brief.schema import Brief, TemplateSpec
from relaydesk.domain.language import base_language
from relaydesk.domain.outbound import Template


def in_language(brief: Brief, key: str, language: str | None) -> TemplateSpec:
    """The template `key` names (a key under `templates`) in the customer's `language`:
    the first of the brief's templates with the same name whose base language is the
    customer's (`es` takes an `es_ES` version, `es_MX` an `es` one), else the named one."""
    spec = brief.templates[key]
    if not language:
        return spec
    wanted = base_language(language)
    return next(
        (
            t
            for t in brief.templates.values()
            if t.name == spec.name and base_language(t.language) == wanted
        ),
        spec,
    )


def followup(brief: Brief, customer_name: str | None, language: str | None) -> Template:
    """The re-engagement template for a customer whose 24-hour window has closed, in their
    `language` where the brief has that version (`in_language`), its parameters filled."""
    spec = in_language(brief, brief.policy.reengagement_template, language)
    values = {"customer_name": customer_name or "there", "business": brief.business.name}
    params = tuple(values.get(name, name) for name in spec.body_params)
    return Template(name=spec.name, language=spec.language, body_params=params)
