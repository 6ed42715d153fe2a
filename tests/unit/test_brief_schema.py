from __future__ import annotations

import copy
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from relaydesk.brief import EXAMPLE_BRIEF, Brief, load_brief
from relaydesk.brief._checks import advise, check_errors
from relaydesk.brief.loader import BriefError
from relaydesk.brief.schema import (
    Answers,
    Holiday,
    NextAction,
    TimeRange,
    format_duration,
    parse_duration,
)

#: intent -> (policy for a question, policy for a request, queue)
REQUIRED_INTENTS = {
    "greeting": ("answer", "answer", None),
    "thanks_goodbye": ("answer", "answer", None),
    "wrong_chat": ("answer", "answer", None),
    "order_status": ("answer", "answer", "general"),
    "shipping": ("answer", "answer", None),
    "pricing": ("answer", "answer", None),
    "promo_code": ("answer", "answer", None),
    "payment_methods": ("answer", "answer", None),
    "returns_refund": ("answer", "escalate", "billing"),
    "cancel_order": ("answer", "escalate", "billing"),
    "payment_problem": ("answer", "escalate", "billing"),
    "login_technical": ("answer", "escalate", "technical"),
    "complaint": ("escalate", "escalate", "general"),
    "human_request": ("escalate", "escalate", "general"),
    "personal_data_request": ("escalate", "escalate", "management"),
}


@pytest.fixture
def example_data() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def consistency_issues(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The cross-section problems `Brief` reports for `data`."""
    with pytest.raises(ValidationError) as caught:
        Brief.model_validate(data)
    [error] = caught.value.errors()
    assert error["type"] == "brief_consistency", error
    return [(tuple(loc), message) for loc, message in error["ctx"]["issues"]]


class TestExampleBrief:
    def test_loads_with_the_policy_matrix_the_docs_describe(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        actual = {
            name: (i.action("question"), i.action("request"), i.queue)
            for name, i in brief.intents.items()
        }
        assert actual == REQUIRED_INTENTS

    def test_every_intent_has_12_to_20_distinct_examples(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        for name, intent in brief.intents.items():
            assert 12 <= len(set(intent.examples)) <= 20, name

    def test_escalate_intents_have_a_priority_and_answer_intents_have_answers(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        for name, intent in brief.intents.items():
            if "escalate" in intent.actions:
                assert intent.priority is not None, name
            else:
                assert intent.answers is not None, name

    def test_routing_hours_and_templates(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        assert {q: brief.queues[q].tier for q in brief.queues} == {
            "general": 2,
            "billing": 3,
            "technical": 3,
            "management": 4,
            "portuguese": 2,
        }
        assert [step.queue for step in brief.ladder] == [
            ["general", "portuguese"],
            ["billing", "technical"],
            ["management"],
        ]
        assert set(brief.slas) == {"P1", "P2", "P3", "P4"}
        assert brief.business_hours.weekly["sat"] == [TimeRange(start=time(10), end=time(14))]
        assert "sun" not in brief.business_hours.weekly
        assert str(brief.timezone) == "Europe/Madrid"
        assert brief.reengagement.name == "support_followup"
        assert brief.reengagement.language == "en_US"

    def test_intent_threshold_overrides_the_default(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        assert brief.confidence_threshold("order_status") == 0.55
        assert brief.confidence_threshold("pricing") == brief.policy.confidence_threshold

    def test_is_immutable(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        with pytest.raises(ValidationError):
            brief.policy.confidence_threshold = 0.1  # type: ignore[misc]


class TestDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("90s", timedelta(seconds=90)),
            ("5m", timedelta(minutes=5)),
            ("2h", timedelta(hours=2)),
            ("1d", timedelta(days=1)),
            ("1h30m", timedelta(minutes=90)),  # combined units
            (" 10M ", timedelta(minutes=10)),  # case and spaces around are forgiven
        ],
    )
    def test_parses(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["5 minutes", "5", "m5", "1.5h", "", "0m", 300])
    def test_rejects_with_the_accepted_forms(self, text: object) -> None:
        with pytest.raises(ValueError, match=r"90s, 5m, 2h or 1d|longer than 0s"):
            parse_duration(text)

    def test_formats_back_to_the_same_duration(self) -> None:
        assert format_duration(timedelta(minutes=90)) == "1h30m"
        assert parse_duration(format_duration(timedelta(days=2, seconds=5))) == timedelta(
            days=2, seconds=5
        )


class TestSmallModels:
    def test_answers_fall_back_to_a_shorter_length(self) -> None:
        answers = Answers(short="s", detailed="d")
        assert answers.get("medium") == "s"
        assert answers.get("detailed") == "d"
        assert answers.items() == [("short", "s"), ("detailed", "d")]

    @pytest.mark.parametrize(
        ("text", "start", "end", "overnight"),
        [
            ("09:00-18:00", time(9), time(18), False),
            ("22:00-02:00", time(22), time(2), True),  # runs past midnight
            ("00:00-24:00", time(0), time(0), True),  # the whole day
        ],
    )
    def test_time_ranges(self, text: str, start: time, end: time, overnight: bool) -> None:
        parsed = TimeRange.model_validate(text)
        assert (parsed.start, parsed.end, parsed.crosses_midnight) == (start, end, overnight)

    @pytest.mark.parametrize("text", ["9-18", "09:00-25:00", "9am-6pm", "09:60-10:00"])
    def test_bad_time_ranges(self, text: str) -> None:
        with pytest.raises(ValidationError, match="HH:MM-HH:MM"):
            TimeRange.model_validate(text)

    def test_holiday_may_be_a_bare_date(self) -> None:
        assert Holiday.model_validate(date(2026, 1, 1)).date == date(2026, 1, 1)

    def test_next_action_is_buttons_or_a_link_not_both(self) -> None:
        with pytest.raises(ValidationError, match="exactly one of"):
            NextAction.model_validate({})
        with pytest.raises(ValidationError, match="exactly one of"):
            NextAction.model_validate(
                {
                    "buttons": [{"title": "Yes"}],
                    "link": {"label": "Go", "url": "https://x.example"},
                }
            )


class TestCrossChecks:
    def test_escalate_intent_without_queue(self, example_data: dict[str, Any]) -> None:
        del example_data["intents"]["complaint"]["queue"]
        assert consistency_issues(example_data) == [
            (
                ("intents", "complaint", "queue"),
                "is missing; an escalate-only intent needs the queue it goes to "
                "(one of: billing, general, management, portuguese, technical).",
            )
        ]

    def test_answer_intent_without_answers(self, example_data: dict[str, Any]) -> None:
        del example_data["intents"]["pricing"]["answers"]
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("intents", "pricing", "answers")
        assert "policy 'answer' needs approved answers" in message

    def test_button_to_unknown_intent_and_duplicate_title(
        self, example_data: dict[str, Any]
    ) -> None:
        buttons = example_data["intents"]["greeting"]["next_action"]["buttons"]
        buttons[1] = {"title": "where's my order?", "intent": "order_stat"}
        issues = dict(consistency_issues(example_data))
        loc = ("intents", "greeting", "next_action", "buttons", 1)
        assert "is used twice" in issues[(*loc, "title")]
        assert "Did you mean 'order_status'?" in issues[(*loc, "intent")]

    def test_example_in_two_intents(self, example_data: dict[str, Any]) -> None:
        example_data["intents"]["pricing"]["examples"].append("Track my  order")
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("intents", "pricing", "examples", 14)
        assert "also an example of intent 'order_status'" in message

    def test_ladder_must_climb_tiers(self, example_data: dict[str, Any]) -> None:
        example_data["ladder"] = [
            {"queue": "billing", "timeout": "5m"},
            {"queue": "general", "timeout": "5m"},
            {"queue": "management"},
        ]
        assert consistency_issues(example_data) == [
            (
                ("ladder", 1, "queue"),
                "goes to tier 2 after tier 3; order the ladder from tier 2 up to tier 4.",
            )
        ]

    def test_ladder_step_before_the_last_needs_a_timeout(
        self, example_data: dict[str, Any]
    ) -> None:
        del example_data["ladder"][0]["timeout"]
        [(loc, _)] = consistency_issues(example_data)
        assert loc == ("ladder", 0, "timeout")

    def test_every_priority_needs_an_sla(self, example_data: dict[str, Any]) -> None:
        del example_data["slas"]["P4"]
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("slas",)
        assert message.startswith("has no SLA for P4")

    def test_template_params_match_placeholders(self, example_data: dict[str, Any]) -> None:
        example_data["templates"]["support_followup"]["body_params"] = []
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("templates", "support_followup", "body_params")
        assert "uses {{1}}" in message

    def test_banned_phrase_in_handoff_copy(self, example_data: dict[str, Any]) -> None:
        example_data["handoff"]["cancelled"] = "Done. Kindly write again any time."
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("handoff", "cancelled")
        assert "banned phrase 'kindly'" in message

    def test_unknown_placeholder_in_copy(self, example_data: dict[str, Any]) -> None:
        example_data["handoff"]["message"] = "Passing you to {teem}."
        with pytest.raises(ValidationError, match=r"\{teem\}.*Did you mean 'team'\?"):
            Brief.model_validate(example_data)


class TestVersion:
    def test_built_in_code_the_version_hashes_the_content(
        self, example_data: dict[str, Any]
    ) -> None:
        first = Brief.model_validate(example_data)
        assert len(first.version) == 12
        assert Brief.model_validate(example_data).version == first.version
        example_data["business"]["name"] = "Southwind Goods"
        assert Brief.model_validate(example_data).version != first.version


class TestSlaBreachActionsAndCsat:
    def test_example_brief_has_csat_and_a_breach_list(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        assert brief.slas["P4"].on_breach == ["raise_priority", "notify_supervisors"]
        assert brief.slas["P3"].on_breach is None  # the per-clock defaults
        assert brief.csat.enabled
        assert [(b.title, b.rating) for b in brief.csat.buttons] == [
            ("Great", 5),
            ("OK", 3),
            ("Poor", 1),
        ]
        template = brief.templates[brief.csat.template or ""]
        assert template.quick_replies == ["Great", "OK", "Poor"]

    def test_csat_defaults_when_the_section_is_left_out(self, example_data: dict[str, Any]) -> None:
        del example_data["csat"]
        csat = Brief.model_validate(example_data).csat
        assert csat.enabled and csat.template is None and len(csat.buttons) == 3

    @pytest.mark.parametrize(
        ("actions", "message"),
        [
            (["raise_priority", "page_someone"], "'raise_priority', 'move_up_tier' or"),
            (["notify_supervisors", "notify_supervisors"], "notify_supervisors more than once"),
            ("raise_priority", "valid list"),
        ],
    )
    def test_bad_on_breach(
        self, example_data: dict[str, Any], actions: object, message: str
    ) -> None:
        example_data["slas"]["P2"]["on_breach"] = actions
        with pytest.raises(ValidationError, match=message):
            Brief.model_validate(example_data)

    def test_an_empty_on_breach_is_allowed(self, example_data: dict[str, Any]) -> None:
        example_data["slas"]["P2"]["on_breach"] = []
        assert Brief.model_validate(example_data).slas["P2"].on_breach == []

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"buttons": []}, "at least 1 item"),
            (
                {"buttons": [{"title": f"B{i}", "rating": i} for i in range(1, 5)]},
                "at most 3 items",
            ),
            ({"buttons": [{"title": "An extremely good job!", "rating": 5}]}, "at most 20"),
            ({"buttons": [{"title": "Top", "rating": 6}]}, "less than or equal to 5"),
            ({"buttons": [{"title": "Top", "rating": 0}]}, "greater than or equal to 1"),
            ({"buttons": [{"title": "Top"}]}, "rating"),
            ({"question": ""}, "at least 1 character"),
            ({"question": "x" * 1025}, "at most 1024"),
            ({"thanks": None}, "valid string"),
            ({"enabled": "sometimes"}, "valid boolean"),
            ({"template": "Csat Request"}, "pattern"),
            ({"thanks": "Thanks {name}!"}, r"\{name\}, which is not filled here"),
            ({"question": "Rate {business"}, "unmatched"),
            ({"stars": 5}, "Extra inputs"),
        ],
    )
    def test_bad_csat_values(
        self, example_data: dict[str, Any], change: dict[str, Any], message: str
    ) -> None:
        example_data["csat"].update(change)
        with pytest.raises(ValidationError, match=message):
            Brief.model_validate(example_data)

    def test_csat_template_must_exist(self, example_data: dict[str, Any]) -> None:
        example_data["csat"]["template"] = "csat_reqest"
        assert consistency_issues(example_data) == [
            (
                ("csat", "template"),
                "template 'csat_reqest' is not defined under templates. Did you mean "
                "'csat_request'? Defined: csat_request, support_followup, support_followup_es.",
            )
        ]

    def test_csat_template_needs_a_quick_reply_per_button(
        self, example_data: dict[str, Any]
    ) -> None:
        example_data["templates"]["csat_request"]["quick_replies"] = ["Great", "Poor"]
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("templates", "csat_request", "quick_replies")
        assert "lists 2 quick reply button(s) but csat has 3" in message

    def test_csat_buttons_need_distinct_titles_and_ratings(
        self, example_data: dict[str, Any]
    ) -> None:
        example_data["csat"]["buttons"] = [
            {"title": "Good", "rating": 5},
            {"title": "good", "rating": 4},
            {"title": "Fine", "rating": 5},
        ]
        example_data["templates"]["csat_request"]["quick_replies"] = ["a", "b", "c"]
        issues = dict(consistency_issues(example_data))
        assert "is used twice" in issues[("csat", "buttons", 1, "title")]
        assert "given by an earlier button" in issues[("csat", "buttons", 2, "rating")]

    def test_banned_phrase_in_csat_copy(self, example_data: dict[str, Any]) -> None:
        example_data["csat"]["thanks"] = "Kindly rate us again."
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("csat", "thanks")
        assert "banned phrase 'kindly'" in message

    def test_errors_point_at_the_yaml_line(self, tmp_path: Path) -> None:
        text = EXAMPLE_BRIEF.read_text(encoding="utf-8")
        bad = tmp_path / "shop.yaml"
        bad.write_text(text.replace("  template: csat_request", "  template: csat_reqest"))
        line = 1 + text.splitlines().index("  template: csat_request")
        with pytest.raises(BriefError) as caught:
            load_brief(bad)
        assert f"shop.yaml:{line}: csat.template: template 'csat_reqest'" in str(caught.value)


class TestTemplateCategories:
    """The re-engagement and CSAT templates (each language version) are support messages:
    `brief check` fails on an authentication one and warns of a marketing one, and the
    brief still loads with either."""

    AUTHENTICATION = (
        "WhatsApp sends authentication templates only as one-time passcodes, so it will "
        "not send this one. Submit it as a utility template in WhatsApp Manager and set "
        "category: utility."
    )

    @pytest.mark.parametrize(
        ("key", "use"),
        [
            ("csat_request", "CSAT survey"),  # the one csat.template names
            ("support_followup", "re-engagement follow-up"),  # policy.reengagement_template
            ("support_followup_es", "re-engagement follow-up"),  # a version of it
        ],
    )
    def test_an_authentication_one_is_an_error_of_brief_check(
        self, example_data: dict[str, Any], key: str, use: str
    ) -> None:
        example_data["templates"][key]["category"] = "authentication"
        brief = Brief.model_validate(example_data)
        assert check_errors(brief) == [
            (
                ("templates", key, "category"),
                f"is authentication, but {key} is the {use} template; {self.AUTHENTICATION}",
            )
        ]
        assert not [loc for loc, _ in advise(brief) if loc[0] == "templates"]

    def test_a_marketing_one_is_a_warning(self, example_data: dict[str, Any]) -> None:
        example_data["templates"]["csat_request"]["category"] = "marketing"
        brief = Brief.model_validate(example_data)
        assert check_errors(brief) == []
        assert [(loc, m) for loc, m in advise(brief) if loc[0] == "templates"] == [
            (
                ("templates", "csat_request", "category"),
                "is marketing, but csat_request is the CSAT survey template; WhatsApp sends "
                "marketing templates only to customers who opted in to marketing, limits "
                "them per customer (error 131049) and prices them as marketing, while "
                "support messages are utility. Submit it as a utility template in WhatsApp "
                "Manager and set category: utility.",
            )
        ]

    def test_a_template_used_for_both_is_named_once_with_both_uses(
        self, example_data: dict[str, Any]
    ) -> None:
        example_data["policy"]["reengagement_template"] = "csat_request"
        example_data["templates"]["csat_request"]["category"] = "authentication"
        [(loc, message)] = check_errors(Brief.model_validate(example_data))
        assert loc == ("templates", "csat_request", "category")
        assert message.startswith(
            "is authentication, but csat_request is the re-engagement follow-up and CSAT "
            "survey template;"
        )

    def test_other_templates_may_be_of_any_category(self, example_data: dict[str, Any]) -> None:
        example_data["templates"]["login_code"] = {
            "name": "login_code",
            "language": "en_US",
            "category": "authentication",
        }
        example_data["templates"]["spring_sale"] = {
            "name": "spring_sale",
            "language": "en_US",
            "category": "marketing",
        }
        brief = Brief.model_validate(example_data)
        assert check_errors(brief) == []
        assert not [loc for loc, _ in advise(brief) if loc[0] == "templates"]


class TestCannedResponses:
    def test_the_example_brief_has_canned_responses(self) -> None:
        brief = load_brief(EXAMPLE_BRIEF)
        assert brief.canned_responses["anything_else"].title == "Anything else?"
        assert "{customer_name}" in brief.canned_responses["checking_order"].text

    def test_they_are_optional(self, example_data: dict[str, Any]) -> None:
        del example_data["canned_responses"]
        assert Brief.model_validate(example_data).canned_responses == {}

    def test_an_unknown_placeholder_is_refused(self, example_data: dict[str, Any]) -> None:
        example_data["canned_responses"]["anything_else"]["text"] = "Bye {agent}!"
        with pytest.raises(ValidationError, match="agent"):
            Brief.model_validate(example_data)

    def test_a_long_title_is_refused(self, example_data: dict[str, Any]) -> None:
        example_data["canned_responses"]["anything_else"]["title"] = "x" * 41
        with pytest.raises(ValidationError, match="at most 40 characters"):
            Brief.model_validate(example_data)

    def test_banned_phrases_apply(self, example_data: dict[str, Any]) -> None:
        banned = example_data["tone"]["banned_phrases"][0]
        example_data["canned_responses"]["anything_else"]["text"] = f"Sure. {banned}."
        issues = consistency_issues(example_data)
        assert issues[0][0] == ("canned_responses", "anything_else", "text")
        assert "banned phrase" in issues[0][1]


#: Customer-facing copy the example brief gives in English and Spanish, with the most
#: characters the tone guide (its tone.max_chars) allows there: an answer its length's;
#: the other messages have no tone length (`LENGTH_CHECKED` below leaves them out).
COPY_PER_LANGUAGE = [
    pytest.param(("intents", "greeting", "answers", "short"), 280, id="answer-short"),
    pytest.param(("intents", "greeting", "answers", "medium"), 600, id="answer-medium"),
    pytest.param(("rollout", "greeting"), 280, id="rollout-greeting"),
    pytest.param(("playbooks", "frustrated", "acknowledge"), 280, id="frustrated-acknowledge"),
    pytest.param(
        ("playbooks", "frustrated", "troubleshooting", "order_status"),
        280,
        id="frustrated-troubleshooting",
    ),
    pytest.param(("playbooks", "pricing", "range"), 280, id="pricing-range"),
    pytest.param(("playbooks", "pricing", "question"), 280, id="pricing-question"),
    pytest.param(("playbooks", "pricing", "follow_up"), 280, id="pricing-follow-up"),
    pytest.param(("knowledge_base", "suggest"), 280, id="knowledge-base-suggest"),
    pytest.param(("handoff", "message"), 280, id="handoff-message"),
    pytest.param(("handoff", "out_of_hours"), 280, id="handoff-out-of-hours"),
    pytest.param(("fallback", "clarify"), 280, id="fallback-clarify"),
    pytest.param(("fallback", "out_of_scope"), 280, id="fallback-out-of-scope"),
    pytest.param(("csat", "question"), 280, id="csat-question"),
    pytest.param(("csat", "thanks"), 280, id="csat-thanks"),
]

#: The answers: held to their length in every language.
LENGTH_CHECKED = [p for p in COPY_PER_LANGUAGE if p.values[0][0] == "intents"]
#: The rest: banned phrases only.
NO_TONE_LENGTH = [p for p in COPY_PER_LANGUAGE if p.values[0][0] != "intents"]

#: Button texts per language: WhatsApp caps them at 20 characters (checked by the schema),
#: and the banned phrases apply.
BUTTONS_PER_LANGUAGE = [
    pytest.param(("intents", "greeting", "title"), id="intent-title"),
    pytest.param(("intents", "greeting", "next_action", "buttons", 0, "title"), id="button"),
    pytest.param(("playbooks", "pricing", "options", 0, "title"), id="pricing-option"),
    pytest.param(("playbooks", "pricing", "booking_link", "label"), id="link-label"),
    pytest.param(("csat", "buttons", 0, "title"), id="csat-button"),
    pytest.param(("fallback", "talk_to_person"), id="talk-to-person"),
    pytest.param(("knowledge_base", "list_button"), id="list-button"),
]


def _at(data: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, str]:
    """The per-language mapping at `path` in the brief's data."""
    node: Any = data
    for part in path:
        node = node[part]
    assert isinstance(node, dict) and set(node) == {"en", "es"}, path
    return node


class TestToneInEveryLanguage:
    @pytest.mark.parametrize(("path", "limit"), COPY_PER_LANGUAGE)
    def test_a_banned_phrase_in_a_variant_is_named_by_its_language(
        self, example_data: dict[str, Any], path: tuple[str | int, ...], limit: int
    ) -> None:
        _at(example_data, path)["es"] = "Kindly, un momento."
        [(loc, message)] = consistency_issues(example_data)
        assert loc == (*path, "es")
        assert message == (
            "contains the banned phrase 'kindly' (see tone.banned_phrases); rephrase it "
            "without that phrase."
        )

    @pytest.mark.parametrize(("path", "limit"), LENGTH_CHECKED)
    def test_a_variant_longer_than_the_tone_guide_allows(
        self, example_data: dict[str, Any], path: tuple[str | int, ...], limit: int
    ) -> None:
        _at(example_data, path)["es"] = "x" * (limit + 1)
        [(loc, message)] = consistency_issues(example_data)
        assert loc == (*path, "es")
        assert message.startswith(
            f"is {limit + 1} characters; the tone guide allows at most {limit}"
        )
        assert message.endswith("Shorten it.")

    @pytest.mark.parametrize(("path", "limit"), LENGTH_CHECKED)
    def test_variants_at_the_limit_pass(
        self, example_data: dict[str, Any], path: tuple[str | int, ...], limit: int
    ) -> None:
        _at(example_data, path)["es"] = "x" * limit
        Brief.model_validate(example_data)

    @pytest.mark.parametrize("path", BUTTONS_PER_LANGUAGE)
    def test_a_banned_phrase_in_a_button_variant(
        self, example_data: dict[str, Any], path: tuple[str | int, ...]
    ) -> None:
        _at(example_data, path)["es"] = "Kindly tap"
        [(loc, message)] = consistency_issues(example_data)
        assert loc == (*path, "es")
        assert "banned phrase 'kindly'" in message

    def test_the_default_languages_variant_is_named_too(self, example_data: dict[str, Any]) -> None:
        example_data["rollout"]["greeting"]["en"] = "Hi! Kindly wait for a person."
        [(loc, _)] = consistency_issues(example_data)
        assert loc == ("rollout", "greeting", "en")

    def test_the_error_shows_the_variant_as_its_path(self, example_data: dict[str, Any]) -> None:
        _at(example_data, ("intents", "greeting", "answers", "short"))["es"] = "x" * 360
        with pytest.raises(
            ValidationError, match=r"intents\.greeting\.answers\.short\[es\]: is 360"
        ):
            Brief.model_validate(example_data)

    def test_a_plain_text_is_named_without_a_language(self, example_data: dict[str, Any]) -> None:
        example_data["playbooks"]["frustrated"]["acknowledge"] = "Please calm down."
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("playbooks", "frustrated", "acknowledge")
        assert "banned phrase 'calm down'" in message

    def test_an_answer_with_buttons_fits_a_button_message_in_every_language(
        self, example_data: dict[str, Any]
    ) -> None:
        example_data["intents"]["greeting"]["answers"]["detailed"] = {"en": "Hi.", "es": "x" * 1100}
        [(loc, message)] = consistency_issues(example_data)
        assert loc == ("intents", "greeting", "answers", "detailed", "es")
        assert "a WhatsApp message with buttons allows at most 1024" in message

    @pytest.mark.parametrize(("path", "limit"), NO_TONE_LENGTH)
    def test_messages_other_than_answers_have_no_tone_length(
        self, example_data: dict[str, Any], path: tuple[str | int, ...], limit: int
    ) -> None:
        _at(example_data, path)["es"] = "x" * (limit + 300)
        example_data["canned_responses"]["anything_else"]["text"] = "x" * 1500
        Brief.model_validate(example_data)  # no issue

    def test_template_texts_may_not_hold_a_banned_phrase(
        self, example_data: dict[str, Any]
    ) -> None:
        example_data["templates"]["support_followup_es"]["body"] = "Hola {{1}}, kindly responde."
        example_data["templates"]["csat_request"]["quick_replies"][2] = "Kindly poor"
        issues = dict(consistency_issues(example_data))
        assert set(issues) == {
            ("templates", "support_followup_es", "body"),
            ("templates", "csat_request", "quick_replies", 2),
        }
        assert issues[("templates", "support_followup_es", "body")].endswith(
            "rephrase it without that phrase (and have the new text approved in WhatsApp Manager)."
        )

    def test_what_customers_do_not_read_is_not_checked(self, example_data: dict[str, Any]) -> None:
        example_data["intents"]["complaint"]["examples"].append("calm down?? I am calm")
        example_data["tone"]["anti_patterns"][0]["example"] = "Kindly calm down, dear customer."
        example_data["intents"]["greeting"]["description"] = "Not as an AI would say it."
        Brief.model_validate(example_data)


def test_reopen_within_is_accepted_and_named_as_having_no_effect(
    example_data: dict[str, Any],
) -> None:
    """An older brief still loads; `brief check` and every start say to remove it."""
    from relaydesk.brief.loader import ignored_settings

    example = Brief.model_validate(example_data)
    assert ignored_settings(example) == []
    example_data["policy"]["reopen_within"] = "24h"
    brief = Brief.model_validate(example_data)
    [(setting, problem)] = ignored_settings(brief)
    assert setting == "policy.reopen_within"
    assert problem.startswith("has no effect") and problem.endswith("Remove it from the brief.")
