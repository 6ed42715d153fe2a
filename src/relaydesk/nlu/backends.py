"""Built-in intent backends, registered in `BACKENDS` by name.

Each factory imports its module only when called, so choosing the default backend never
imports an optional heavy dependency."""

from __future__ import annotations

from relaydesk.nlu.intent import BACKENDS, IntentClassifier

__all__ = ["BACKENDS"]


def _tfidf() -> IntentClassifier:
    from relaydesk.nlu.tfidf import TfidfIntentClassifier

    return TfidfIntentClassifier()


def _tfidf_baseline() -> IntentClassifier:
    from relaydesk.nlu.tfidf import TfidfIntentClassifier

    return TfidfIntentClassifier(name="tfidf-baseline", c=10.0, normalised=False, calibrated=False)


BACKENDS.setdefault("tfidf", _tfidf)
#: the TF-IDF+LR of the NLU reference figures (raw probabilities), to compare against
BACKENDS.setdefault("tfidf-baseline", _tfidf_baseline)


def _embeddings() -> IntentClassifier:
    from relaydesk.nlu.embeddings import EmbeddingIntentClassifier

    return EmbeddingIntentClassifier()


#: the optional extra `relaydesk[embeddings]`; torch is imported only when one is built
BACKENDS.setdefault("embeddings", _embeddings)
