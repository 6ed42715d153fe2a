"""Customer-facing copy per language: `{en: ..., es: ...}` beside plain strings, the brief
localized to a customer's language, and `brief check` listing missing variants."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from relaydesk.brief import EXAMPLE_BRIEF, Brief
from relaydesk.brief._checks import advise, check_errors


@pytest.fixture
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def test_copy_per_language_is_read_and_localized(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál de estas?"}
    brief = Brief.model_validate(data)
    assert brief.fallback.clarify == "Which one?"  # the default language's text
    assert brief.localized("es").fallback.clarify == "¿Cuál de estas?"
    assert brief.localized("es_MX").fallback.clarify == "¿Cuál de estas?"
    assert brief.localized("pt").fallback.clarify == "Which one?"  # not served: default
    assert brief.localized(None) is brief
    assert brief.localized("es") is brief.localized("es")  # built once
    assert brief.localized("es").localized("en") is brief
    assert brief.localized("es").version == brief.version
    assert brief.reply_language("pt") == "en" and brief.reply_language("es-ES") == "es"


def test_each_variant_is_checked_like_plain_copy(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál, {nombre}?"}
    with pytest.raises(ValidationError, match=r"placeholder \{nombre\}"):
        Brief.model_validate(data)


def test_the_default_language_is_required(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"es": "¿Cuál de estas?"}
    with pytest.raises(ValidationError, match=r"no text in the brief's default language en"):
        Brief.model_validate(data)


def test_a_bad_language_code_is_named(data: dict[str, Any]) -> None:
    data["fallback"]["clarify"] = {"en": "Which one?", "spanish": "¿Cuál?"}
    with pytest.raises(ValidationError, match=r"'spanish' is not a language code"):
        Brief.model_validate(data)


def test_missing_variants_are_warnings_per_language(data: dict[str, Any]) -> None:
    data["business"]["languages"] = ["en", "es", "fr"]
    data["fallback"]["clarify"] = {"en": "Which one?", "es": "¿Cuál de estas?"}
    warnings = advise(Brief.model_validate(data))
    clarify = [message for loc, message in warnings if loc == ("fallback", "clarify")]
    assert len(clarify) == 1 and "has no fr text" in clarify[0]
    assert any(loc == ("fallback", "talk_to_person") for loc, _ in warnings)


def test_a_followup_with_no_version_in_a_served_language_is_a_warning(
    data: dict[str, Any],
) -> None:
    data["business"]["languages"] = ["en", "es_ES", "fr"]
    warnings = advise(Brief.model_validate(data))
    followup = [m for loc, m in warnings if loc == ("policy", "reengagement_template")]
    assert followup == [  # es_ES has support_followup_es (es); fr has no version
        "support_followup has no fr version (business.languages serves fr), so customers "
        "writing fr get it in en_US; add a template with name: support_followup and "
        "language: fr, as approved in WhatsApp Manager."
    ]
    del data["templates"]["support_followup_es"]
    warnings = advise(Brief.model_validate(data))
    followup = [m for loc, m in warnings if loc == ("policy", "reengagement_template")]
    assert [m.split(" version")[0] for m in followup] == [
        "support_followup has no es_ES",
        "support_followup has no fr",
    ]


def test_each_version_of_the_csat_template_needs_a_quick_reply_per_button(
    data: dict[str, Any],
) -> None:
    """A version of the CSAT template (same name, another language) is checked like the
    one csat names, as an error of `brief check` only: the brief still loads."""
    named = data["templates"]["csat_request"]
    data["templates"]["csat_request_es"] = {
        **named,
        "language": "es",
        "quick_replies": ["Genial", "Mal"],
    }
    assert check_errors(Brief.model_validate(data)) == [
        (
            ("templates", "csat_request_es", "quick_replies"),
            "lists 2 quick reply button(s) but csat has 3; the CSAT template needs one "
            "quick reply per csat button, in the same order (a tap answers with that "
            "button's rating).",
        )
    ]
    data["templates"]["csat_request_es"]["quick_replies"] = ["Genial", "Normal", "Mal"]
    assert check_errors(Brief.model_validate(data)) == []


def _escalation_queue(brief: Brief, language: str | None) -> str | None:
    from datetime import UTC, datetime

    from relaydesk.domain.conversation import ConversationState, ConversationStatus
    from relaydesk.domain.decision import Understanding
    from relaydesk.domain.policy import MessageView, decide

    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    understanding = Understanding(
        "human_request", 0.99, human_request=1.0, human_request_phrase="x", language=language
    )
    state = ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=now)
    decision = decide(state, MessageView("text", "x", None, now), understanding, brief, now)
    return decision.route.queue if decision.route else None


def test_a_queue_takes_the_customers_of_its_languages(data: dict[str, Any]) -> None:
    brief = Brief.model_validate(data)
    assert brief.queues["portuguese"].customer_languages == ["pt"]
    assert _escalation_queue(brief, "pt_BR") == "portuguese"
    assert _escalation_queue(brief, "es") == "general"
    assert _escalation_queue(brief, None) == "general"


def test_a_routed_language_must_be_spoken_by_the_queue_and_routed_once(
    data: dict[str, Any],
) -> None:
    data["queues"]["general"]["customer_languages"] = ["pt", "fr"]
    with pytest.raises(ValidationError) as caught:
        Brief.model_validate(data)
    text = str(caught.value)
    assert "pt is already routed to queue" in text
    assert "fr is routed to general, whose agents' languages (en, es) do not include it" in text


def test_the_wait_and_opening_time_are_worded_in_the_copys_language() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from relaydesk.domain.handoff import WaitBasis, WaitEstimate, humanise, wait_text, when_text

    zone = ZoneInfo("Europe/Madrid")
    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday
    monday, later = datetime(2026, 3, 9, 8, tzinfo=UTC), datetime(2026, 3, 16, 8, tzinfo=UTC)
    assert when_text(later, now, zone) == "Monday 16 March at 09:00 Madrid time"
    assert when_text(later, now, zone, "es") == "el lunes 16 de marzo a las 09:00 (hora de Madrid)"
    assert when_text(monday, now, zone, "es") == "el lunes a las 09:00 (hora de Madrid)"
    assert when_text(now, now, zone, "pt_BR") == "hoje às 11:00 (hora de Madrid)"
    assert humanise(timedelta(minutes=95), "es") == "1 hora 35 minutos"
    live = WaitEstimate(WaitBasis.LIVE_QUEUE, timedelta(minutes=12))
    assert wait_text(live, now, zone) == "about 12 minutes"
    assert wait_text(live, now, zone, "es") == "unos 12 minutos"
    assert wait_text(live, now, zone, "fr") == "about 12 minutes"  # no words yet: English
