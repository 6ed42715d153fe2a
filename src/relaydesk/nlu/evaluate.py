"""Evaluate an intent classifier: accuracy, macro-F1, calibration, selective prediction,
out-of-scope detection and speed, as one JSON-ready `Evaluation`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from relaydesk.nlu.calibration import expected_calibration_error
from relaydesk.nlu.intent import OOS, IntentClassifier, Prediction

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True, slots=True)
class AtThreshold:
    """Selective prediction on in-scope messages: answer only when confidence >= threshold."""

    threshold: float
    coverage: float  #: share of in-scope messages answered
    accuracy: float | None  #: accuracy on the answered ones (None when none is answered)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Figures for one trained classifier on one test set.

    `accuracy`, `macro_f1`, `ece` and `at_thresholds` are closed-set figures on the in-scope
    test messages (the best intent, whether or not it was rejected). `in_scope_accuracy`
    follows Larson et al. 2019: a rejected in-scope message counts as an error.
    `oos_recall` / `oos_precision` are None when the test set holds no `oos` message."""

    backend: str
    train_size: int
    test_size: int
    accuracy: float
    macro_f1: float
    ece: float
    at_thresholds: list[AtThreshold]
    in_scope_accuracy: float
    in_scope_rejected: float
    oos_recall: float | None
    oos_precision: float | None
    train_seconds: float
    messages_per_second_single: float
    messages_per_second_batch: float
    p50_latency_ms: float
    p90_latency_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    classifier: IntentClassifier,
    train: tuple[Sequence[str], Sequence[str]],
    test: tuple[Sequence[str], Sequence[str]],
    *,
    validation: tuple[Sequence[str], Sequence[str]] | None = None,
    latency_samples: int = 300,
) -> Evaluation:
    """Fit `classifier` on `train` (and `validation`), then score it on `test`."""
    started = time.perf_counter()
    classifier.fit(train[0], train[1], validation=validation)
    train_seconds = time.perf_counter() - started

    texts, gold = list(test[0]), list(test[1])
    encoded_before = getattr(classifier, "encoded_messages", 0)
    started = time.perf_counter()
    predictions = classifier.predict(texts)
    batch_seconds = time.perf_counter() - started
    encoded = getattr(classifier, "encoded_messages", 0) - encoded_before
    latencies = _single_latencies(classifier, texts[:latency_samples])

    figures = score(predictions, gold)
    return Evaluation(
        backend=classifier.name,
        train_size=len(train[0]),
        test_size=len(texts),
        train_seconds=round(train_seconds, 3),
        messages_per_second_single=round(len(latencies) / float(np.sum(latencies)), 1),
        messages_per_second_batch=round(len(texts) / batch_seconds, 1),
        p50_latency_ms=round(float(np.median(latencies)) * 1000, 3),
        p90_latency_ms=round(float(np.quantile(latencies, 0.9)) * 1000, 3),
        extra=_settings(classifier) | _embedding_use(classifier, encoded, len(texts)),
        **figures,
    )


def score(predictions: Sequence[Prediction], gold: Sequence[str]) -> dict[str, Any]:
    """The quality figures of `Evaluation` for `predictions` against `gold` labels."""
    if len(predictions) != len(gold):
        raise ValueError(f"{len(predictions)} predictions for {len(gold)} labels")
    in_scope = [(p, g) for p, g in zip(predictions, gold, strict=True) if g != OOS]
    if not in_scope:
        raise ValueError("the test set holds no in-scope message; add some labelled intents")
    hits = np.array([p.intent == g for p, g in in_scope])
    conf = np.array([p.confidence for p, _ in in_scope])
    rejected = np.array([p.out_of_scope for p, _ in in_scope])
    is_oos_gold = np.array([g == OOS for g in gold])
    flagged = np.array([p.out_of_scope for p in predictions])

    return {
        "accuracy": _r(hits.mean()),
        "macro_f1": _r(macro_f1([p.intent for p, _ in in_scope], [g for _, g in in_scope])),
        "ece": _r(expected_calibration_error(conf, hits)),
        "at_thresholds": [
            AtThreshold(
                t,
                _r((conf >= t).mean()),
                _r(hits[conf >= t].mean()) if (conf >= t).any() else None,
            )
            for t in THRESHOLDS
        ],
        "in_scope_accuracy": _r((hits & ~rejected).mean()),
        "in_scope_rejected": _r(rejected.mean()),
        "oos_recall": _r(flagged[is_oos_gold].mean()) if is_oos_gold.any() else None,
        "oos_precision": (
            _r(is_oos_gold[flagged].mean()) if is_oos_gold.any() and flagged.any() else None
        ),
    }


def macro_f1(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """Unweighted mean F1 over the gold labels."""
    scores = []
    for label in sorted(set(gold)):
        tp = sum(p == label and g == label for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == label and g != label for p, g in zip(predicted, gold, strict=True))
        fn = sum(p != label and g == label for p, g in zip(predicted, gold, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def _settings(classifier: IntentClassifier) -> dict[str, Any]:
    """Fitted settings worth reporting, for backends that expose them."""
    found = {
        "threshold": getattr(classifier, "threshold", None),
        "temperature": getattr(getattr(classifier, "temperature", None), "t", None),
        "semantic_temperature": getattr(
            getattr(classifier, "semantic_temperature", None), "t", None
        ),
    }
    return {
        key: round(float(value), 4)
        for key, value in found.items()
        if isinstance(value, int | float) and np.isfinite(value)
    }


def _embedding_use(classifier: IntentClassifier, encoded: int, total: int) -> dict[str, Any]:
    """For backends that run a sentence encoder only on some messages (the default
    backend's cascade): whether it is used and the share of test messages it encoded."""
    uses = getattr(classifier, "uses_embeddings", None)
    if not isinstance(uses, bool):
        return {}
    return {"embeddings": uses, "encoded_share": round(encoded / total, 4) if uses else 0.0}


def _single_latencies(classifier: IntentClassifier, texts: Sequence[str]) -> list[float]:
    classifier.predict(texts[:5])  # warm caches before timing
    latencies = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict([text])
        latencies.append(time.perf_counter() - started)
    return latencies


def _r(value: float) -> float:
    return round(float(value), 4)
