"""Which version of a template a customer gets (`domain.templates`): the one in their
language when the brief has it, else the one the brief names; the same rule for the
re-engagement follow-up as for the CSAT template."""

from __future__ import annotations

import pytest

from relaydesk.brief.loader import load_brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.outbound import Template
from relaydesk.domain.templates import followup, in_language
from relaydesk.services.csat import csat_content

BRIEF = load_brief(EXAMPLE_BRIEF)  # support_followup in en_US, support_followup_es in es


@pytest.mark.parametrize(
    ("language", "key", "code"),
    [
        ("es", "support_followup_es", "es"),  # a version in their language
        ("es_MX", "support_followup_es", "es"),  # compared by base language
        ("EN", "support_followup", "en_US"),
        ("de", "support_followup", "en_US"),  # no German version: the default
        (None, "support_followup", "en_US"),  # language unknown: the default
        ("", "support_followup", "en_US"),
    ],
)
def test_the_version_in_the_customer_language_else_the_named_one(
    language: str | None, key: str, code: str
) -> None:
    spec = in_language(BRIEF, "support_followup", language)
    assert spec is BRIEF.templates[key]
    assert (spec.name, spec.language) == ("support_followup", code)


def test_the_followup_is_sent_in_the_chosen_version_language() -> None:
    assert followup(BRIEF, "Ana", "es") == Template(
        name="support_followup", language="es", body_params=("Ana",)
    )
    assert followup(BRIEF, "Ana", "en") == Template(
        name="support_followup", language="en_US", body_params=("Ana",)
    )
    assert followup(BRIEF, None, "de") == Template(
        name="support_followup", language="en_US", body_params=("there",)
    )
    assert followup(BRIEF, None, None).language == "en_US"


def test_a_version_fills_its_own_parameters() -> None:
    es = BRIEF.templates["support_followup_es"].model_copy(
        update={"body_params": ["business", "customer_name"]}
    )
    brief = BRIEF.model_copy(update={"templates": BRIEF.templates | {"support_followup_es": es}})
    assert followup(brief, "Ana", "es").body_params == ("Northwind Goods", "Ana")
    assert followup(brief, "Ana", "en").body_params == ("Ana",)


def test_a_template_of_another_name_is_never_a_version() -> None:
    other = BRIEF.templates["support_followup_es"].model_copy(update={"name": "promo"})
    brief = BRIEF.model_copy(update={"templates": BRIEF.templates | {"support_followup_es": other}})
    assert followup(brief, "Ana", "es").language == "en_US"


def test_csat_and_followup_pick_versions_by_the_same_rule() -> None:
    spanish = BRIEF.templates["csat_request"].model_copy(update={"language": "es"})
    brief = BRIEF.model_copy(update={"templates": BRIEF.templates | {"csat_request_es": spanish}})
    for language in ("es", "es_ES", "en", "de", None):
        csat = csat_content(brief, 1, window_open=False, language=language)
        assert isinstance(csat, Template)
        assert csat.language == in_language(brief, "csat_request", language).language
        assert followup(brief, None, language).language == (
            in_language(brief, "support_followup", language).language
        )
