from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from relaydesk.brief import EXAMPLE_BRIEF, BriefError, BriefProblem, check_brief, load_brief
from relaydesk.brief.loader import brief_warnings

MINIMAL = """\
business:
  name: Test Shop
  languages: [en]
  timezone: Europe/Madrid
policy:
  default_queue: general
  reengagement_template: followup
intents:
  greeting:
    examples: [hi, hello]
    answers:
      short: Hi! How can I help?
    next_action:
      buttons:
        - title: Track order
          intent: order_status
  order_status:
    examples: [where is my order]
    answers:
      short: Track it at https://shop.example/track
  refund:
    policy: escalate
    examples: [refund please]
    queue: billing
    priority: P2
queues:
  general: {tier: 2, skills: [orders]}
  billing: {tier: 3, skills: [payments]}
ladder:
  - queue: general
    timeout: 5m
  - queue: billing
slas:
  P1: {first_response: 5m, next_response: 10m, resolution: 4h}
  P2: {first_response: 15m, next_response: 30m, resolution: 8h}
  P3: {first_response: 1h, next_response: 2h, resolution: 2d}
  P4: {first_response: 4h, next_response: 8h, resolution: 5d}
business_hours:
  weekly:
    mon: ["09:00-18:00"]
tone:
  max_chars: {short: 280}
  banned_phrases: [as an AI]
templates:
  followup: {name: support_followup, language: en_US}
handoff:
  message: Passing you to our {team} team. Expected wait {wait}.
  out_of_hours: "Our {team} team opens {opens}."
  cancelled: Done, request cancelled.
fallback:
  connecting: Connecting you to a person.
  not_understood: Sorry, I did not get that.
  clarify: "Is this about:"
owners:
  brief: lead@shop.example
"""

LONG = "x" * 312


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """The one line that is `needle`, or else the one line that contains it."""
    lines = list(enumerate(text.splitlines(), 1))
    [line] = [n for n, content in lines if content == needle] or [
        n for n, content in lines if needle in content
    ]
    return line


def test_minimal_brief_is_valid(tmp_path: Path) -> None:
    assert check_brief(write(tmp_path, MINIMAL)) == []


def test_bundled_example_is_valid() -> None:
    assert check_brief(EXAMPLE_BRIEF) == []


# Each row: what is broken, (old, new) replaced in MINIMAL, the text on the line the problem
# must point at, the field path, and the exact message or a part of it ("..." prefix).
BROKEN = [
    pytest.param(
        ("    queue: billing\n", "    quee: billing\n"),
        "quee: billing",
        "intents.refund.quee",
        "...is not a known key. Did you mean 'queue'? Known keys here: description, title,",
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        ("  name: Test Shop\n", ""),
        "business:",
        "business.name",
        "is required but missing; add `name`.",
        id="missing-required-field",
    ),
    pytest.param(
        ("  reengagement_template: followup\n", ""),
        "policy:",
        "policy.reengagement_template",
        "is required but missing; add `reengagement_template`: the template (a key under "
        "templates) sent outside the 24-hour window.",
        id="missing-field-with-description",
    ),
    pytest.param(
        ("priority: P2", "priority: P5"),
        "priority: P5",
        "intents.refund.priority",
        "is 'P5'; expected 'P1', 'P2', 'P3' or 'P4'.",
        id="bad-priority",
    ),
    pytest.param(
        ("    policy: escalate\n", "    policy: {question: answr, request: escalate}\n"),
        "policy: {question: answr",
        "intents.refund.policy.question",
        "is 'answr'; expected 'answer', 'clarify' or 'escalate'. Did you mean 'answer'?",
        id="bad-mode-policy",
    ),
    pytest.param(
        ("    policy: escalate\n", "    policy: {question: answer, request: escalate}\n"),
        "  refund:",
        "intents.refund.answers",
        "is missing; an intent with policy that answers or clarifies needs approved answers "
        "(at least answers.short).",
        id="mode-policy-answers-questions-without-answers",
    ),
    pytest.param(
        ("    policy: escalate\n", "    policy: escalat\n"),
        "policy: escalat",
        "intents.refund.policy",
        "is 'escalat'; expected 'answer', 'clarify' or 'escalate'. Did you mean 'escalate'?",
        id="bad-policy-literal",
    ),
    pytest.param(
        ("    queue: billing\n", "    queue: biling\n"),
        "queue: biling",
        "intents.refund.queue",
        "queue 'biling' is not defined under queues. Did you mean 'billing'? "
        "Defined: billing, general.",
        id="intent-unknown-queue",
    ),
    pytest.param(
        ("  - queue: billing\n", "  - queue: managment\n"),
        "- queue: managment",
        "ladder[1].queue[0]",
        "queue 'managment' is not defined under queues. Defined: billing, general.",
        id="ladder-unknown-queue",
    ),
    pytest.param(
        ("- title: Track order", "- title: Track my order right now"),
        "- title: Track my order right now",
        "intents.greeting.next_action.buttons[0].title",
        "is 24 characters; at most 20 are allowed. Shorten it.",
        id="button-title-too-long",
    ),
    pytest.param(
        (
            "          intent: order_status\n",
            "          intent: order_status\n"
            "        - title: Returns\n"
            "        - title: Payments\n"
            "        - title: Talk to us\n",
        ),
        "      buttons:",
        "intents.greeting.next_action.buttons",
        "has 4 items; at most 3 are allowed. Remove 1.",
        id="too-many-buttons",
    ),
    pytest.param(
        ("short: Hi! How can I help?", f"short: {LONG}"),
        f"short: {LONG}",
        "intents.greeting.answers.short",
        "is 312 characters; the tone guide allows at most 280. Shorten it.",
        id="answer-longer-than-tone-guide",
    ),
    pytest.param(
        ("short: Hi! How can I help?", "short: As an AI, I can help."),
        "short: As an AI",
        "intents.greeting.answers.short",
        "contains the banned phrase 'as an AI' (see tone.banned_phrases); rephrase it without "
        "that phrase.",
        id="banned-phrase",
    ),
    pytest.param(
        (
            "short: Hi! How can I help?",
            f"short:\n        en: Hi! How can I help?\n        es: Hola, {LONG}",
        ),
        f"es: Hola, {LONG}",
        "intents.greeting.answers.short[es]",
        "is 318 characters; the tone guide allows at most 280. Shorten it.",
        id="answer-variant-longer-than-tone-guide",
    ),
    pytest.param(
        (
            "  cancelled: Done, request cancelled.\n",
            "  cancelled: {en: Done., es: As an AI I say hecho.}\n",
        ),
        "cancelled: {en: Done., es: As an AI",
        "handoff.cancelled[es]",
        "contains the banned phrase 'as an AI' (see tone.banned_phrases); rephrase it without "
        "that phrase.",
        id="banned-phrase-in-a-variant",
    ),
    pytest.param(
        ("timeout: 5m", "timeout: 5 minutes"),
        "timeout: 5 minutes",
        "ladder[0].timeout",
        "'5 minutes' is not a duration; write a number and a unit with no space: 90s, 5m, 2h "
        "or 1d (combinations like 1h30m work too).",
        id="bad-duration",
    ),
    pytest.param(
        ("  timezone: Europe/Madrid\n", "  timezone: Europe/Madird\n"),
        "timezone: Europe/Madird",
        "business.timezone",
        "'Europe/Madird' is not an IANA time zone name (like Europe/Madrid). "
        "Did you mean 'Europe/Madrid'?",
        id="bad-timezone",
    ),
    pytest.param(
        ('mon: ["09:00-18:00"]', 'mon: ["9am-6pm"]'),
        "mon: [",
        "business_hours.weekly.mon[0]",
        "...is not a time range; write it as HH:MM-HH:MM",
        id="bad-opening-hours",
    ),
    pytest.param(
        ("    mon: [", "    monday: ["),
        "monday: [",
        "business_hours.weekly.monday",
        "...expected 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'. Did you mean 'mon'?",
        id="bad-weekday-key",
    ),
    pytest.param(
        ("  billing: {tier: 3,", "  billing: {tier: 5,"),
        "billing: {tier: 5",
        "queues.billing.tier",
        "is 5; expected 2, 3 or 4.",
        id="bad-tier",
    ),
    pytest.param(
        ("  default_queue: general\n", "  default_queue: general\n  confidence_threshold: hi\n"),
        "confidence_threshold: hi",
        "policy.confidence_threshold",
        "is 'hi'; expected a number, like 0.7.",
        id="not-a-number",
    ),
    pytest.param(
        ("  greeting:\n", "  Greeting:\n"),
        "Greeting:",
        "intents.Greeting",
        "'Greeting' is not allowed here; use lowercase letters, digits and underscores, "
        "starting with a letter (like order_status).",
        id="bad-intent-name",
    ),
    pytest.param(
        ("reengagement_template: followup", "reengagement_template: follow_up"),
        "reengagement_template: follow_up",
        "policy.reengagement_template",
        "template 'follow_up' is not defined under templates. Did you mean 'followup'? "
        "Defined: followup.",
        id="unknown-template",
    ),
    pytest.param(
        ("  message: Passing you to our {team} team.", "  message: Passing you to our {teem}."),
        "message: Passing you to our {teem}",
        "handoff.message",
        "...uses the placeholder {teem}, which is not filled here",
        id="unknown-placeholder",
    ),
    pytest.param(
        ("    examples: [refund please]\n", "    examples: [refund please, hello]\n"),
        "examples: [refund please, hello]",
        "intents.refund.examples[1]",
        "'hello' is also an example of intent 'greeting'; an example must belong to one "
        "intent. Keep it where it fits best.",
        id="example-in-two-intents",
    ),
]


@pytest.mark.parametrize(("edit", "line_text", "field_path", "message"), BROKEN)
def test_broken_brief_names_line_field_and_fix(
    tmp_path: Path, edit: tuple[str, str], line_text: str, field_path: str, message: str
) -> None:
    old, new = edit
    assert old in MINIMAL, "the table row no longer matches MINIMAL"
    text = MINIMAL.replace(old, new, 1)
    path = write(tmp_path, text)

    problems = check_brief(path)

    [problem] = [p for p in problems if p.field_path == field_path]
    assert problem.file == str(path)
    assert problem.line == line_of(text, line_text)
    if message.startswith("..."):
        assert message[3:] in problem.message
    else:
        assert problem.message == message


def test_problem_renders_as_file_line_field_message() -> None:
    problem = BriefProblem(
        "shop.yaml",
        42,
        "intents.order_status.answers.short",
        "is 312 characters; the tone guide allows at most 280. Shorten it.",
    )
    assert str(problem) == (
        "shop.yaml:42: intents.order_status.answers.short: is 312 characters; "
        "the tone guide allows at most 280. Shorten it."
    )
    assert str(BriefProblem("shop.yaml", None, "", "no such file")) == "shop.yaml: no such file"


def test_error_lists_every_problem_in_file_order(tmp_path: Path) -> None:
    text = MINIMAL.replace("    queue: billing\n", "    queue: biling\n").replace(
        "short: Hi! How can I help?", "short: As an AI, hi."
    )
    path = write(tmp_path, text)

    with pytest.raises(BriefError) as caught:
        load_brief(path)

    problems = caught.value.problems
    assert [p.field_path for p in problems] == [
        "intents.greeting.answers.short",
        "intents.refund.queue",
    ]
    assert str(caught.value) == "\n".join(str(p) for p in problems)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        # an unclosed flow list: reported where the parser gives up, with where it began
        (MINIMAL.replace("examples: [hi, hello]", "examples: [hi, hello"), 11, "starts on line 10"),
        (MINIMAL.replace("  languages: [en]", "   languages: [en]"), 3, "mapping values"),
        (MINIMAL.replace("  name: Test Shop\n", "\tname: Test Shop\n"), 2, "not tabs"),
        (MINIMAL + "owners: {}\n", len(MINIMAL.splitlines()) + 1, "duplicate key"),
    ],
    ids=["unclosed-list", "bad-indentation", "tab", "duplicate-key"],
)
def test_yaml_syntax_errors_name_the_line(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    [problem] = check_brief(write(tmp_path, text))
    assert problem.line == line
    assert problem.message.startswith("YAML syntax error: ")
    assert expected in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "is empty; a brief is a YAML mapping"), ("- a\n", "is a list; a brief is a YAML")],
)
def test_a_brief_must_be_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    [problem] = check_brief(write(tmp_path, text))
    assert problem.line == 1
    assert problem.message.startswith(expected)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    [problem] = check_brief(path)
    assert str(problem).startswith(f"{path}: no such file; check the path")


def test_directory_is_not_a_brief(tmp_path: Path) -> None:
    [problem] = check_brief(tmp_path)
    assert str(problem) == f"{tmp_path}: is a directory; pass the brief's YAML file."


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_bytes(b"business:\n  name: \xff\n")
    [problem] = check_brief(path)
    assert "is not UTF-8 text" in problem.message


class TestVersion:
    def test_is_the_first_12_hex_of_the_files_sha256(self) -> None:
        expected = hashlib.sha256(EXAMPLE_BRIEF.read_bytes()).hexdigest()[:12]
        assert load_brief(EXAMPLE_BRIEF).version == expected

    def test_changes_with_any_edit_even_a_comment(self, tmp_path: Path) -> None:
        before = load_brief(write(tmp_path, MINIMAL)).version
        after_comment = load_brief(write(tmp_path, "# reviewed\n" + MINIMAL)).version
        after_edit = load_brief(write(tmp_path, MINIMAL.replace("Test Shop", "Shop"))).version
        assert len({before, after_comment, after_edit}) == 3
        assert load_brief(write(tmp_path, MINIMAL)).version == before


QUESTION_EXAMPLES = (
    "    examples: [refund please]\n",
    '    examples: ["how long do refunds take?", "can i return a sale item?", '
    '"do you refund shipping?", refund please]\n',
)


def test_escalate_only_intent_with_mostly_question_examples_warns(tmp_path: Path) -> None:
    """brief check warns (it does not fail) and names the intent and the fix."""
    text = MINIMAL.replace(*QUESTION_EXAMPLES, 1)
    path = write(tmp_path, text)
    assert check_brief(path) == []
    [warning] = brief_warnings(path)
    assert warning.field_path == "intents.refund.policy"
    assert warning.line == line_of(text, "policy: escalate")
    assert "3 of 4 examples ask about the topic" in warning.message
    assert "policy: {question: answer, request: escalate}" in warning.message


def test_a_split_policy_with_question_examples_does_not_warn(tmp_path: Path) -> None:
    text = MINIMAL.replace(*QUESTION_EXAMPLES, 1).replace(
        "    policy: escalate\n",
        "    policy: {question: answer, request: escalate}\n"
        "    answers: {short: Returns are free within 30 days.}\n",
        1,
    )
    path = write(tmp_path, text)
    assert check_brief(path) == []
    assert brief_warnings(path) == []
    assert load_brief(path).intents["refund"].action("question") == "answer"


def test_the_example_brief_has_no_warnings() -> None:
    assert brief_warnings(EXAMPLE_BRIEF) == []


CSAT_VERSIONS = (
    "  followup: {name: support_followup, language: en_US}\n",
    "  followup: {name: support_followup, language: en_US}\n"
    "  csat: {name: csat_request, language: en_US, quick_replies: [Great, OK, Poor]}\n"
    "  csat_es: {name: csat_request, language: es, quick_replies: [Genial, Mal]}\n",
)


def test_brief_check_reports_a_csat_version_without_a_quick_reply_per_button(
    tmp_path: Path,
) -> None:
    """An error at its line that fails `brief check`, though the brief still loads."""
    text = MINIMAL.replace(*CSAT_VERSIONS, 1) + "csat: {template: csat}\n"
    path = write(tmp_path, text)
    [problem] = check_brief(path)
    assert (problem.line, problem.field_path) == (
        line_of(text, "csat_es:"),
        "templates.csat_es.quick_replies",
    )
    assert problem.message.startswith("lists 2 quick reply button(s) but csat has 3;")
    assert load_brief(path).templates["csat_es"].language == "es"


AUTHENTICATION_FOLLOWUP = (
    "  followup: {name: support_followup, language: en_US}\n",
    "  followup: {name: support_followup, language: en_US, category: authentication}\n",
)


def test_brief_check_fails_on_an_authentication_followup_that_still_loads(
    tmp_path: Path,
) -> None:
    text = MINIMAL.replace(*AUTHENTICATION_FOLLOWUP, 1)
    path = write(tmp_path, text)
    [problem] = check_brief(path)
    assert (problem.line, problem.field_path) == (
        line_of(text, "followup:"),
        "templates.followup.category",
    )
    assert problem.message.startswith(
        "is authentication, but followup is the re-engagement follow-up template;"
    )
    assert load_brief(path).reengagement.category == "authentication"
    assert brief_warnings(path) == []


def test_brief_check_warns_of_a_marketing_followup(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        AUTHENTICATION_FOLLOWUP[0],
        AUTHENTICATION_FOLLOWUP[1].replace("authentication", "marketing"),
        1,
    )
    path = write(tmp_path, text)
    assert check_brief(path) == []
    [warning] = brief_warnings(path)
    assert warning.field_path == "templates.followup.category"
    assert warning.message.startswith("is marketing, but followup is the re-engagement")
