"""The knowledge base: reading articles, searching passages, and the policy's Level 0
answers (the passage with its link, a list of three when unsure, the tapped row)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from relaydesk.adapters import knowledge_base as files
from relaydesk.adapters.whatsapp.limits import validate
from relaydesk.brief import check_brief, load_brief
from relaydesk.brief.schema import Brief
from relaydesk.config import EXAMPLE_BRIEF
from relaydesk.domain.conversation import ConversationState, ConversationStatus
from relaydesk.domain.decision import Action, Understanding
from relaydesk.domain.dialogue import DialogueState
from relaydesk.domain.knowledge import Hit, parse_reply_id, shorten
from relaydesk.domain.knowledge_report import DecisionRow, article_records, failing
from relaydesk.domain.outbound import ListMessage, Text
from relaydesk.domain.policy import MessageView, Outcome, step
from relaydesk.nlu.knowledge import KnowledgeBase, KnowledgeIndex, fit_null

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
KB = EXAMPLE_BRIEF.parent / "kb"

ARTICLE = """\
---
title: Ways to pay
url: https://shop.example/help/pay
language: en
tags: [payment, paypal]
---
## Cards and wallets
We accept Visa, Mastercard and PayPal. We don't take cash.

## Instalments
Klarna splits orders over €50 into 3 payments.
"""


@pytest.fixture(scope="module")
def brief() -> Brief:
    return load_brief(EXAMPLE_BRIEF)


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    loaded = files.load(KB)
    return KnowledgeIndex(loaded.articles, loaded.version)  # lexical: no model files needed


def test_an_article_is_split_into_passages_by_heading() -> None:
    article = files.parse("en/pay", ARTICLE)
    assert (article.title, article.url, article.language) == (
        "Ways to pay",
        "https://shop.example/help/pay",
        "en",
    )
    assert article.tags == ("payment", "paypal")
    assert [p.heading for p in article.passages] == ["Cards and wallets", "Instalments"]
    assert article.passages[1].text == "Klarna splits orders over €50 into 3 payments."


def test_without_headings_each_paragraph_is_a_passage() -> None:
    article = files.parse("faq", "---\ntitle: FAQ\n---\nFirst one.\n\nSecond\none.\n")
    assert [p.text for p in article.passages] == ["First one.", "Second one."]
    assert {p.heading for p in article.passages} == {"FAQ"}


@pytest.mark.parametrize(
    ("source", "fix"),
    [
        ("no front matter here", "start the file with a '---' line"),
        ("---\nurl: https://x.example\n---\nBody.", "add 'title: "),
        ("---\ntitle: T\nurl: http://x.example\n---\nBody.", "https://"),
        ("---\ntitle: T\nlanguage: English\n---\nBody.", "e.g. en or es"),
        ("---\ntitle: T\ncolour: red\n---\nBody.", "unknown front matter key(s) colour"),
        ("---\ntitle: [unclosed\n---\nBody.", "not valid YAML"),
        ("---\ntitle: T\n---\n\n", "has no text after the front matter"),
    ],
)
def test_bad_front_matter_says_what_to_fix(source: str, fix: str) -> None:
    with pytest.raises(ValueError, match=None) as error:
        files.parse("a", source)
    assert fix in str(error.value)


def test_the_version_changes_with_any_article(tmp_path: Path) -> None:
    (tmp_path / "pay.md").write_text(ARTICLE, encoding="utf-8")
    first = files.load(tmp_path)
    assert first.problems == () and len(first.version) == 12
    (tmp_path / "pay.md").write_text(ARTICLE.replace("Visa", "Maestro"), encoding="utf-8")
    assert files.load(tmp_path).version != first.version


def test_brief_check_names_a_missing_folder_and_a_bad_article(tmp_path: Path) -> None:
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    brief_path = tmp_path / "shop.yaml"
    brief_path.write_text(source.replace("folder: kb", "folder: articles"), encoding="utf-8")
    missing, _ = check_brief(brief_path)  # and the intent's article is not there either
    assert missing.file == str(tmp_path / "articles") and "no such folder" in missing.message
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "pay.md").write_text("---\nurl: nope\n---\nHi.", encoding="utf-8")
    bad, _ = check_brief(brief_path)
    assert bad.file.endswith("pay.md") and "add 'title: " in bad.message


def test_the_example_knowledge_base_is_valid() -> None:
    loaded = files.load(KB)
    assert loaded.problems == ()
    assert len(loaded.articles) >= 20
    assert {a.language for a in loaded.articles} == {"en", "es"}
    assert all(a.url for a in loaded.articles)


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("what payment methods do you accept", "en/payment-methods"),
        ("can i pay with paypl", "en/payment-methods"),
        ("¿puedo pagar a plazos?", "es/payment-methods"),
        ("what size is the double duvet", "en/sizes"),
        ("necesito factura para mi empresa", "es/invoices"),
    ],
)
def test_search_finds_the_article(index: KnowledgeIndex, question: str, article: str) -> None:
    assert index.search(question)[0].hit.article == article


def test_gibberish_finds_nothing_sure(index: KnowledgeIndex) -> None:
    assert index.search("asdfgh qwerty")[0].hit.probability < 0.15


def test_the_null_score_separates_found_from_missing() -> None:
    scores = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.1, 0.7]])
    t, null = fit_null(scores, np.array([0, 1, 2]))
    assert 0.2 < null < 0.7 and t > 0


def test_a_changed_folder_is_read_again(tmp_path: Path) -> None:
    (tmp_path / "pay.md").write_text(ARTICLE, encoding="utf-8")
    kb = KnowledgeBase(tmp_path, check_every=0.0)
    before = kb.current().version
    (tmp_path / "ship.md").write_text("---\ntitle: Shipping\n---\nTwo days.", encoding="utf-8")
    assert kb.current().version != before and len(kb.current().articles) == 2


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (100, "One. Two two."),
        (9, "One."),
        (3, "On…"),
    ],
)
def test_shorten_keeps_whole_sentences(limit: int, expected: str) -> None:
    assert shorten("One. Two two.", limit) == expected


def hit(probability: float, article: str = "en/payment-methods", passage: int = 0) -> Hit:
    return Hit(
        article,
        "Payment methods",
        "https://northwindgoods.example/help/payment-methods",
        passage,
        "Ways to pay",
        "We accept Visa. " * 60,
        probability,
    )


def decide(brief: Brief, understanding: Understanding, reply_id: str | None = None) -> Outcome:
    state = ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=NOW)
    kind = "interactive" if reply_id else "text"
    return step(
        state, MessageView(kind, "hm", reply_id, NOW), understanding, brief, NOW, DialogueState()
    )


def test_a_sure_passage_is_the_answer_cut_to_length_with_its_link(brief: Brief) -> None:
    unsure = Understanding("pricing", 0.2, ranking=(("pricing", 0.2),), knowledge=(hit(0.9),))
    outcome = decide(brief, unsure)
    assert outcome.decision.action is Action.ANSWER and outcome.decision.intent is None
    [reply] = outcome.decision.replies
    assert isinstance(reply, Text) and reply.preview_url
    assert reply.body.endswith(
        "Payment methods: https://northwindgoods.example/help/payment-methods"
    )
    assert len(reply.body) <= brief.tone.max_chars.medium
    assert outcome.decision.detail["knowledge"]["article"] == "en/payment-methods"
    assert "answered from the article" in outcome.dialogue.tried[-1]


def test_an_unsure_search_offers_three_articles_as_a_valid_list(brief: Brief) -> None:
    found = (hit(0.3), hit(0.2, "en/gift-cards", 1), hit(0.1, "en/invoices-and-a-long-name"))
    outcome = decide(brief, Understanding(None, 0.0, knowledge=found))
    assert outcome.decision.action is Action.CLARIFY
    [reply] = outcome.decision.replies
    assert isinstance(reply, ListMessage)
    validate(reply)  # WhatsApp's limits: row titles <= 24, descriptions <= 72, ...
    rows = reply.sections[0].rows
    assert [r.id for r in rows] == [
        "kb:en/payment-methods#0",
        "kb:en/gift-cards#1",
        "kb:en/invoices-and-a-long-name#0",
    ]
    assert outcome.decision.detail["articles"][0]["article"] == "en/payment-methods"


def test_a_spanish_speaker_gets_the_list_in_spanish(brief: Brief) -> None:
    found = (hit(0.3, "es/payment-methods"), hit(0.2, "es/gift-cards", 1))
    outcome = decide(brief.localized("es"), Understanding(None, 0.0, knowledge=found))
    [reply] = outcome.decision.replies
    assert isinstance(reply, ListMessage)
    assert reply.button == "Ver artículos"
    assert reply.body.startswith("Puede que uno de estos artículos de ayuda lo responda.")
    english = decide(brief, Understanding(None, 0.0, knowledge=found)).decision.replies[0]
    assert isinstance(english, ListMessage) and english.button == "See articles"


def test_below_the_suggest_threshold_the_policy_goes_on_as_before(brief: Brief) -> None:
    outcome = decide(brief, Understanding(None, 0.0, knowledge=(hit(0.05),)))
    assert outcome.decision.action is Action.CLARIFY
    assert not isinstance(outcome.decision.replies[0], ListMessage)


def test_a_tapped_row_is_answered(brief: Brief) -> None:
    tapped = Understanding(None, 0.0, knowledge=(hit(1.0, passage=1),))
    outcome = decide(brief, tapped, "kb:en/payment-methods#1")
    assert outcome.decision.action is Action.ANSWER
    assert outcome.decision.detail["knowledge"]["passage"] == 1
    assert parse_reply_id("kb:en/payment-methods#1") == ("en/payment-methods", 1)
    assert parse_reply_id("kb:nothing") is None


def test_an_intent_with_an_article_answers_from_it(brief: Brief) -> None:
    sure = Understanding(
        "payment_methods", 0.95, ranking=(("payment_methods", 0.95),), knowledge=(hit(0.95),)
    )
    outcome = decide(brief, sure)
    assert outcome.decision.action is Action.ANSWER
    assert outcome.decision.intent == "payment_methods"
    [reply] = outcome.decision.replies
    assert isinstance(reply, Text) and reply.body.startswith("We accept Visa.")
    assert reply.body.endswith("https://northwindgoods.example/help/payment-methods")
    assert outcome.decision.detail["knowledge"]["article"] == "en/payment-methods"


def test_without_its_article_the_intent_falls_back_to_its_answers(brief: Brief) -> None:
    sure = Understanding("payment_methods", 0.95, ranking=(("payment_methods", 0.95),))
    [reply] = decide(brief, sure).decision.replies
    assert isinstance(reply, Text) and "knowledge" not in decide(brief, sure).decision.detail
    assert reply.body.startswith("We accept Visa, Mastercard")


def test_brief_check_names_an_intent_article_that_does_not_exist(tmp_path: Path) -> None:
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    brief_path = tmp_path / "shop.yaml"
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "pay.md").write_text(ARTICLE, encoding="utf-8")
    brief_path.write_text(source, encoding="utf-8")
    [problem] = check_brief(brief_path)
    assert problem.field_path == "intents.payment_methods.article"
    assert "no article 'payment-methods'" in problem.message
    assert "use one of: pay" in problem.message


def test_the_report_counts_escalations_after_an_answer_and_thumbs_down() -> None:
    def row(conversation: int, action: str, article: str | None = None) -> DecisionRow:
        detail = {"knowledge": {"article": article, "title": "T"}} if article else {}
        return DecisionRow(conversation, action, detail, NOW)

    decided = [
        row(1, "escalate"),  # before the answer: not a failure of it
        row(1, "answer", "en/returns"),
        row(2, "answer", "en/returns"),
        row(2, "escalate"),
        row(3, "answer", "en/delivery"),
    ]
    records = article_records(decided, {1: 1, 3: 5})
    returns, delivery = records
    assert (returns.answers, returns.escalated, returns.thumbs_down) == (2, 1, 1)
    assert returns.conversations == [1, 2] and delivery.failures == 0
    assert [r.article for r in failing(records, 2, 0.5)] == ["en/returns"]


def test_the_same_passage_about_to_go_out_again_goes_to_a_person(brief: Brief) -> None:
    # below the intent's threshold but not low (the low-confidence trigger stays quiet)
    unsure = Understanding("shipping", 0.5, ranking=(("shipping", 0.5),), knowledge=(hit(0.9),))
    state = ConversationState(id=1, status=ConversationStatus.BOT, last_inbound_at=NOW)
    first = step(state, MessageView("text", "hm", None, NOW), unsure, brief, NOW, DialogueState())
    again = step(state, MessageView("text", "hm?", None, NOW), unsure, brief, NOW, first.dialogue)
    assert again.decision.action is Action.ESCALATE
    assert "bot_loop" in [t.type for t in again.decision.triggers]


def test_an_intent_article_without_a_knowledge_base_is_a_problem(tmp_path: Path) -> None:
    source = EXAMPLE_BRIEF.read_text(encoding="utf-8")
    cut = source.index("\nknowledge_base:")
    brief_path = tmp_path / "shop.yaml"
    brief_path.write_text(source[:cut] + "\n", encoding="utf-8")
    [problem] = check_brief(brief_path)
    assert problem.file == str(brief_path)
    assert problem.field_path == "intents.payment_methods.article"
    assert "has no knowledge_base section" in problem.message


def test_the_same_articles_are_indexed_once_per_process(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "pay.md").write_text(ARTICLE, encoding="utf-8")
    first, second = KnowledgeBase(tmp_path / "a"), KnowledgeBase(tmp_path / "b")
    assert first.current() is second.current()  # same content, same version: one index
    (tmp_path / "b" / "pay.md").write_text(ARTICLE.replace("Visa", "Maestro"), encoding="utf-8")
    changed = KnowledgeBase(tmp_path / "b")
    assert changed.current() is not first.current()
    assert "Maestro" in changed.current().passages[0].text


class CountingEncoder:
    """A stand-in for MiniLM: a fixed pseudo-random unit vector per text, and a count of
    the forward passes (calls) the index asks for."""

    dimensions = 16

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: list[str], *, remember: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        rows = []
        for text in texts:
            seed = int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little") + len(text)
            row = np.random.default_rng(seed).normal(size=self.dimensions)
            rows.append(row / np.linalg.norm(row))
        return np.array(rows, dtype=np.float32)


def test_queries_encoded_in_one_batch_search_as_one_at_a_time() -> None:
    encoder = CountingEncoder()
    loaded = files.load(KB)
    index = KnowledgeIndex(loaded.articles, loaded.version, encoder=encoder)  # type: ignore[arg-type]
    questions = [
        "what payment methods do you accept",
        "how long does shipping take",
        "can I pay in instalments",
        "how long does shipping take",  # twice in a batch: encoded once
        "asdfgh qwerty",
    ]
    encoder.calls.clear()
    vectors = index.query_vectors(questions)
    assert encoder.calls == [4]  # one call for the batch's distinct texts
    for question in questions:
        one_by_one = index.search(question)
        batched = index.search(question, vector=vectors[question])
        assert [r.hit.article for r in batched] == [r.hit.article for r in one_by_one]
        assert [r.hit.probability for r in batched] == pytest.approx(
            [r.hit.probability for r in one_by_one], abs=1e-9
        )
    best = index.best_in("payment-methods", questions[0], 0.9, vectors[questions[0]])
    assert best is not None
    assert best == index.best_in("payment-methods", questions[0], 0.9)


def test_a_lexical_index_encodes_nothing(index: KnowledgeIndex) -> None:
    assert index.query_vectors(["what payment methods do you accept"]) == {}
