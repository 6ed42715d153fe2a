"""The default intent backend: word + character TF-IDF, a linear model, temperature-scaled
confidence and a confidence threshold for out-of-scope messages. scikit-learn only."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from relaydesk.nlu.calibration import Floats, Temperature
from relaydesk.nlu.intent import OOS, Prediction, rank_predictions, split_labels

_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
)
_DIGITS = re.compile(r"\d+")
_TOKENS = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def normalise(text: str) -> str:
    """Lowercase, expand English contractions, turn each run of digits into `0`, split off
    punctuation and strip a common suffix (-ing, -ed, -es, -s, -ly) from longer words."""
    text = text.lower().replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(_stem(token) for token in _TOKENS.findall(_DIGITS.sub("0", text)))


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class TfidfIntentClassifier:
    """Word 1-2-gram + char_wb 2-5-gram TF-IDF (sublinear tf) with logistic regression.

    Settings depend on the amount of data (chosen on BANKING77 validation folds): with at
    most `few_shot` examples per intent (median), texts are `normalise`d and C = 100; with
    more, raw lowercased texts and C = 10 do better. `c` and `normalised` override that.

    Confidence is the max of softmax(scores / T), with T fitted on held-out scores: the
    validation set when given, otherwise cross-validation folds of the training data.
    A message is out of scope when its confidence is below `threshold`, or when it holds no
    word seen in training. With out-of-scope examples (label `oos`, in the training or the
    validation data) the threshold maximises held-out accuracy over in-scope intents plus
    `oos` (Larson et al. 2019); without them it rejects `fallback_rejection` of held-out
    in-scope messages."""

    def __init__(
        self,
        *,
        name: str = "tfidf",
        c: float | None = None,
        normalised: bool | None = None,
        few_shot: int = 30,
        folds: int = 5,
        large: int = 3000,
        fallback_rejection: float = 0.01,
        top: int = 5,
        seed: int = 0,
        calibrated: bool = True,
    ) -> None:
        self.name = name
        self.c = c
        self.normalised = normalised
        self.few_shot = few_shot
        self.calibrated = calibrated
        self.folds = folds
        self.large = large
        self.fallback_rejection = fallback_rejection
        self.top = top
        self.seed = seed
        self.temperature = Temperature()
        self.threshold = 0.0

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        validation: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        train_texts, self.classes, targets, oos_texts = split_labels(texts, labels)

        few_shot = float(np.median(np.bincount(targets))) <= self.few_shot
        c = self.c if self.c is not None else (100.0 if few_shot else 10.0)
        normalised = self.normalised if self.normalised is not None else few_shot
        preprocessor = normalise if normalised else None
        self._words = TfidfVectorizer(
            preprocessor=preprocessor, ngram_range=(1, 2), sublinear_tf=True
        )
        self._chars = TfidfVectorizer(
            preprocessor=preprocessor, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        )
        self._words.fit(train_texts)
        self._chars.fit(train_texts)
        x = self._features(train_texts)
        self._model = LogisticRegression(C=c, max_iter=1000)

        if not self.calibrated and validation is None:
            self._model.fit(x, targets)  # the reference baseline: raw probabilities, no rejection
            return
        if validation is not None:
            self._model.fit(x, targets)
            held_texts = [t for t, y in zip(*validation, strict=True) if y != OOS]
            held_targets = np.searchsorted(self.classes, [y for y in validation[1] if y != OOS])
            held_scores = self._scores(held_texts)
            oos_texts = oos_texts + [t for t, y in zip(*validation, strict=True) if y == OOS]
        else:
            held_scores, held_targets = self._held_out_scores(x, targets)
            self._model.fit(x, targets)

        if self.calibrated:
            self.temperature.fit(held_scores, held_targets)
        held_probabilities = self.temperature.probabilities(held_scores)
        confidences = held_probabilities.max(axis=1)
        hits = held_probabilities.argmax(axis=1) == held_targets
        if oos_texts:
            oos_conf = self.temperature.probabilities(self._scores(oos_texts)).max(axis=1)
            self.threshold = _larson_threshold(confidences, hits, oos_conf)
        else:
            self.threshold = float(np.quantile(confidences, self.fallback_rejection))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        words = self._words.transform(texts)
        x = hstack([words, self._chars.transform(texts)], format="csr")
        probabilities = self.temperature.probabilities(_class_scores(self._model, x))
        known = np.diff(words.indptr) > 0  # rows with at least one word seen in training
        rejected = (probabilities.max(axis=1) < self.threshold) | ~known
        return rank_predictions(self.classes, probabilities, rejected, self.top)

    def _held_out_scores(self, x: csr_matrix, targets: np.ndarray) -> tuple[Floats, np.ndarray]:
        """Scores of each training example by a model that did not see it (k-fold); above
        `large` examples one fold is enough and saves k-1 fits."""
        counts = np.bincount(targets)
        folds = min(self.folds, int(counts.min()))
        if folds < 2:
            lonely = ", ".join(str(c) for c in self.classes[counts < 2])
            raise ValueError(
                f"intents with a single example: {lonely}; give each intent at least two "
                "examples (calibration holds some out)"
            )
        splits = list(
            StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(x, targets)
        )
        if len(targets) > self.large:
            splits = splits[:1]
        scores, held = [], []
        for fit_rows, held_rows in splits:
            model = clone(self._model).fit(x[fit_rows], targets[fit_rows])
            scores.append(_class_scores(model, x[held_rows]))
            held.append(targets[held_rows])
        return np.concatenate(scores), np.concatenate(held)

    def _features(self, texts: Sequence[str]) -> csr_matrix:
        return hstack([self._words.transform(texts), self._chars.transform(texts)], format="csr")

    def _scores(self, texts: Sequence[str]) -> Floats:
        return _class_scores(self._model, self._features(texts))


def _class_scores(model: LogisticRegression, x: csr_matrix) -> Floats:
    """One score per class; with two classes LR gives one logit, i.e. softmax([0, s])."""
    scores = np.asarray(model.decision_function(x), dtype=np.float64)
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


def _larson_threshold(in_conf: Floats, in_hits: np.ndarray, oos_conf: Floats) -> float:
    """The confidence threshold that maximises accuracy over in-scope + out-of-scope."""
    candidates = np.unique(np.concatenate([in_conf, oos_conf, [0.0]]))
    correct = [(in_hits & (in_conf >= t)).sum() + (oos_conf < t).sum() for t in candidates]
    return float(candidates[int(np.argmax(correct))])
