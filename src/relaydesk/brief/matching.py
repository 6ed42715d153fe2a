"""Nearest-example intent matching over the brief's examples.

TF-IDF over character 2-4-grams (within word boundaries: robust to typos and inflection)
and over words, after lowercasing, stripping accents and punctuation and folding numbers;
each view is L2-normalised and the score is the mean of the two cosine similarities, in
[0, 1]. Building takes milliseconds, so rebuild it whenever the brief changes; a match
takes tens of microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer, strip_accents_unicode

from relaydesk.brief.schema import Brief


@dataclass(frozen=True, slots=True)
class Match:
    intent: str
    score: float  #: cosine similarity to `example`, in [0, 1]
    example: str  #: the brief example closest to the text


class ExampleMatcher:
    """Finds the brief example most similar to a customer message."""

    def __init__(self, examples: Iterable[tuple[str, str]]) -> None:
        """`examples` are (intent, text) pairs; at least one is needed."""
        pairs = list(examples)
        if not pairs:
            raise ValueError("ExampleMatcher needs at least one (intent, example) pair.")
        self._intents = [intent for intent, _ in pairs]
        self._texts = [text for _, text in pairs]
        self._parts = [
            _Part(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=_normalise),
                self._texts,
            ),
            _Part(
                TfidfVectorizer(analyzer="word", token_pattern=_WORD, preprocessor=_normalise),
                self._texts,
            ),
        ]

    @classmethod
    def from_brief(cls, brief: Brief) -> ExampleMatcher:
        return cls(
            (name, example) for name, intent in brief.intents.items() for example in intent.examples
        )

    def __len__(self) -> int:
        return len(self._texts)

    def match(self, text: str) -> Match | None:
        """The closest example, or None when `text` shares nothing with any example."""
        ranked = self.rank(text, limit=1)
        return ranked[0] if ranked else None

    def rank(self, text: str, limit: int = 3) -> list[Match]:
        """The best example of each intent, most similar first, at most `limit` of them;
        intents with no similarity at all are left out."""
        scores = self._scores(text)
        matches: list[Match] = []
        seen: set[str] = set()
        for index in np.argsort(-scores, kind="stable"):
            score = float(scores[index])
            if score <= 0.0 or len(matches) >= limit:
                break
            intent = self._intents[index]
            if intent not in seen:
                seen.add(intent)
                matches.append(Match(intent, min(score, 1.0), self._texts[index]))
        return matches

    def _scores(self, text: str) -> npt.NDArray[np.float64]:
        total = np.zeros(len(self._texts))
        for part in self._parts:
            total += part.similarities(text)
        return total / len(self._parts)


_DIGITS = re.compile(r"\d+")
_PUNCTUATION = re.compile(r"[^\w\s]+")
_WORD = r"(?u)\b\w+\b"  # every word, one-letter ones too ("i", "2")


def _normalise(text: str) -> str:
    """Lowercase, strip accents and punctuation, and fold every number to "0" (so that
    order numbers match each other)."""
    text = _PUNCTUATION.sub(" ", strip_accents_unicode(text.lower()))
    return _DIGITS.sub("0", text)


class _Part:
    """One TF-IDF view of the examples, scored without sklearn's per-call overhead (about
    0.3 ms per transform): the query is vectorised with the fitted analyzer, vocabulary and
    idf weights, and scored through an inverted index (feature -> examples, weights).

    Unlike `TfidfVectorizer.transform`, terms the examples never use still count towards
    the query's norm, weighted like the rarest known term: text that is mostly unknown
    scores low instead of matching on its few familiar n-grams."""

    def __init__(self, vectorizer: TfidfVectorizer, texts: Sequence[str]) -> None:
        matrix = vectorizer.fit_transform(texts).tocsc()
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf: list[float] = vectorizer.idf_.tolist()
        self._unknown_idf = max(self._idf)
        self._rows = np.split(matrix.indices, matrix.indptr[1:-1])
        self._weights = np.split(matrix.data, matrix.indptr[1:-1])
        self._size = len(texts)

    def similarities(self, text: str) -> npt.NDArray[np.float64]:
        counts: dict[str, int] = {}
        for term in self._analyze(text):
            counts[term] = counts.get(term, 0) + 1
        known: list[int] = []
        weights: list[float] = []
        norm = 0.0
        for term, count in counts.items():
            feature = self._vocabulary.get(term)
            weight = count * (self._unknown_idf if feature is None else self._idf[feature])
            norm += weight * weight
            if feature is not None:
                known.append(feature)
                weights.append(weight)
        if not known:
            return np.zeros(self._size)
        rows = np.concatenate([self._rows[f] for f in known])
        values = np.concatenate([self._weights[f] for f in known])
        lengths = [len(self._rows[f]) for f in known]
        values *= np.repeat(np.array(weights) / norm**0.5, lengths)
        return np.bincount(rows, weights=values, minlength=self._size).astype(np.float64)
