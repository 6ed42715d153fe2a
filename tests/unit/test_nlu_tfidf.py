"""The default TF-IDF intent backend on a tiny synthetic brief."""

from __future__ import annotations

import subprocess
import sys

import pytest

from relaydesk.nlu.intent import OOS
from relaydesk.nlu.tfidf import TfidfIntentClassifier, normalise

EXAMPLES = {
    "track_order": [
        "where is my order",
        "track my parcel please",
        "has my package shipped yet",
        "my order still has not arrived",
        "when will my delivery come",
        "order status",
        "tracking number for my order",
        "is my parcel on the way",
    ],
    "refund": [
        "i want my money back",
        "how do i get a refund",
        "refund my purchase please",
        "can i return this and get refunded",
        "the refund has not reached my account",
        "request a refund",
        "money back for a broken item",
        "refund status",
    ],
    "opening_hours": [
        "what time do you open",
        "when are you open on sunday",
        "opening hours please",
        "are you open today",
        "what time do you close",
        "store hours",
        "are you open on public holidays",
        "when does the shop open",
    ],
}
TEXTS = [text for texts in EXAMPLES.values() for text in texts]
LABELS = [label for label, texts in EXAMPLES.items() for _ in texts]


@pytest.fixture(scope="module")
def trained() -> TfidfIntentClassifier:
    classifier = TfidfIntentClassifier()
    classifier.fit(TEXTS, LABELS)
    return classifier


def test_predicts_the_intent_of_a_new_phrasing(trained: TfidfIntentClassifier) -> None:
    [order, refund] = trained.predict(["where's my parcel?", "I'd like a refund"])
    assert (order.intent, refund.intent) == ("track_order", "refund")
    assert not order.out_of_scope


def test_ranking_is_best_first_with_probabilities(trained: TfidfIntentClassifier) -> None:
    [prediction] = trained.predict(["when do you open"])
    scores = [p for _, p in prediction.ranking]
    assert prediction.ranking[0] == (prediction.intent, prediction.confidence)
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0)


def test_gibberish_is_out_of_scope(trained: TfidfIntentClassifier) -> None:
    assert all(p.out_of_scope for p in trained.predict(["xqzv bwrtk plmn", "zzzz 1234"]))


def test_out_of_scope_examples_set_the_threshold() -> None:
    off_topic = ["tell me a joke", "what is the capital of peru", "play some music", "weather"]
    classifier = TfidfIntentClassifier(semantic=False)
    classifier.fit(TEXTS + off_topic, LABELS + [OOS] * len(off_topic))
    assert classifier.threshold > 0
    assert OOS not in classifier.classes
    assert classifier.predict(["where is my order"])[0].out_of_scope is False


def test_empty_batch_and_too_little_training_data() -> None:
    classifier = TfidfIntentClassifier()
    with pytest.raises(ValueError, match="at least two intents"):
        classifier.fit(["hello", "hi"], ["greet", "greet"])
    with pytest.raises(ValueError, match="intents with a single example: thanks"):
        classifier.fit([*TEXTS, "thank you"], [*LABELS, "thanks"])
    classifier.fit(TEXTS, LABELS)
    assert classifier.predict([]) == []


def test_normalise_folds_case_contractions_digits_and_suffixes() -> None:
    assert normalise("I can't PAY 250 EUR, it's blocked!") == (
        "i can not pay 0 eur , it ' s block !"
    )


def test_default_backend_is_registered_and_never_imports_torch() -> None:
    code = (
        "import sys; from relaydesk.nlu.cli import nlu; from relaydesk.nlu.intent import BACKENDS\n"
        "c = BACKENDS['tfidf'](); c.fit(['hello there', 'hi there', 'bye now', 'see you'] * 2,"
        " ['hi', 'hi', 'bye', 'bye'] * 2); c.predict(['hello'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
