"""Knowledge-base retrieval: which article passage answers a message, and how surely.

Each passage (with its article's title, tags and its heading) is scored three ways:
BM25 over folded, lightly stemmed words (Robertson and Zaragoza 2009; k1=1.2, b=0.75),
normalised by the query's best possible score so that words the articles never use count
against it; the cosine of character 2-5-gram TF-IDF vectors (typos, inflections); and,
when the MiniLM files are on the machine (`relaydesk.nlu.minilm`, the same encoder the
intent classifier reads), the cosine of sentence embeddings. The weighted sum is the
passage's score; an article's is its best passage's. Articles with the same file name in
different folders (`en/returns.md`, `es/returns.md`) are one topic in several languages:
a topic scores as its best language variant. Scores become probabilities by temperature
scaling, as in the intent classifier (Guo et al. 2017), over the topics plus one "no
article" score; both are fitted on the articles' own titles, headings and tags as
questions (see `fit_null`)."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import structlog
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from relaydesk.adapters import knowledge_base as files
from relaydesk.domain.knowledge import Article, Hit, Passage, topic_of
from relaydesk.nlu import minilm
from relaydesk.nlu._text import fold
from relaydesk.nlu.calibration import Floats
from relaydesk.nlu.tfidf import normalise

log = structlog.get_logger(__name__)
K1 = 1.2
B = 0.75
#: weights of (BM25, character n-grams, embeddings), and without embeddings
WEIGHTS = (0.4, 0.25, 0.35)
WEIGHTS_LEXICAL = (0.6, 0.4, 0.0)
Ints = NDArray[np.intp]
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(fold(text)))


class Bm25:
    """Okapi BM25 over documents given as word lists."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        self.lengths = np.array([len(d) for d in documents], dtype=np.float64)
        self.average = float(self.lengths.mean()) if len(documents) else 1.0
        frequency: Counter[str] = Counter(w for d in documents for w in set(d))
        n = len(documents)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, document in enumerate(documents):
            for word, count in Counter(document).items():
                self.postings.setdefault(word, []).append((index, count))

    def scores(self, query: Sequence[str]) -> Floats:
        """Raw BM25 score of every document."""
        out = np.zeros(len(self.lengths))
        for word in set(query):
            idf = self.idf.get(word)
            if idf is None:
                continue
            for index, count in self.postings[word]:
                norm = K1 * (1 - B + B * self.lengths[index] / self.average)
                out[index] += idf * count * (K1 + 1) / (count + norm)
        return out

    def normalised(self, query: Sequence[str]) -> Floats:
        """Scores over the query's ceiling (each word at most once, unseen words at the
        highest idf), so 1.0 means every word matched well and unknown words lower it."""
        unique = set(query)
        ceiling = sum(self.idf.get(w, self.max_idf) for w in unique) * (K1 + 1)
        return self.scores(query) / ceiling if ceiling else np.zeros(len(self.lengths))


@dataclass(frozen=True, slots=True)
class Ranked:
    """One topic in a search's ranking."""

    hit: Hit
    score: float  #: the combined score before calibration


class KnowledgeIndex:
    """The searchable form of a set of articles (built once per knowledge-base version)."""

    def __init__(
        self,
        articles: Sequence[Article],
        version: str,
        *,
        encoder: minilm.MiniLM | None = None,
        lexical_only: bool = False,
        calibrate: bool = True,
    ) -> None:
        self.version = version
        self.articles = {a.id: a for a in articles}
        self.passages: list[Passage] = [p for a in articles for p in a.passages]
        self.topics = sorted({topic_of(a.id) for a in articles})
        self._topic = np.array([self.topics.index(topic_of(p.article)) for p in self.passages])
        documents = [self._document(p) for p in self.passages]
        self._bm25 = Bm25([words(d) for d in documents])
        self._chars = TfidfVectorizer(
            preprocessor=fold, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        )
        self._char_matrix = self._chars.fit_transform(documents) if documents else None
        self._encoder = encoder
        self.weights = WEIGHTS if encoder is not None else WEIGHTS_LEXICAL
        if lexical_only:
            self.weights = (1.0, 0.0, 0.0)
        self._vectors: Floats | None = None
        if encoder is not None and documents:
            summaries = [f"{self._title(p)}. {first_sentence(p.text)}" for p in self.passages]
            with threadpool_limits(limits=1):  # small batches: extra BLAS threads only spin
                self._vectors = encoder.encode(summaries, remember=True).astype(np.float64)
        self.temperature = 1.0
        self.null_score = 0.0
        if calibrate:
            self._calibrate(articles, lexical_only)

    def _document(self, passage: Passage) -> str:
        article = self.articles[passage.article]
        return f"{self._title(passage)}. {' '.join(article.tags)}. {passage.text}"

    def _title(self, passage: Passage) -> str:
        title = self.articles[passage.article].title
        return title if passage.heading == title else f"{title}: {passage.heading}"

    def _calibrate(self, articles: Sequence[Article], lexical_only: bool) -> None:
        """Temperature and the score of "no article answers it", fitted on the articles'
        titles, headings and tags as questions: each once against every topic (its own
        topic is the answer) and once with its own topic left out (then none is). They are
        scored against the articles' bodies alone, so that a question does not find its
        own words (which would make every real question look unsure)."""
        bodies = KnowledgeIndex(
            [_body_only(a) for a in articles],
            self.version,
            encoder=self._encoder,
            lexical_only=lexical_only,
            calibrate=False,
        )
        questions: list[str] = []
        targets: list[int] = []
        for article in self.articles.values():
            asked = {article.title, " ".join(article.tags)}
            asked |= {p.heading for p in article.passages}
            for question in sorted(q for q in asked if q.strip()):
                questions.append(question)
                targets.append(self.topics.index(topic_of(article.id)))
        if len(self.topics) < 2 or not questions:
            return
        scores = np.stack([bodies._topic_scores(q)[0] for q in questions])
        self.temperature, self.null_score = fit_null(scores, np.array(targets))

    def probabilities(self, scores: Floats) -> Floats:
        """Calibrated probabilities of each topic and, last, of none of them."""
        with_null = np.append(scores, self.null_score)
        return np.asarray(softmax(with_null / self.temperature))

    def query_vectors(self, texts: Sequence[str]) -> dict[str, Floats]:
        """The embeddings of `texts` as queries, encoded in one batch: a decision round
        searches for several messages, and one forward pass per message cost several times
        one pass for all. Empty when this index does not use embeddings."""
        if not self.weights[2] or self._encoder is None or self._vectors is None or not texts:
            return {}
        unique = list(dict.fromkeys(texts))
        vectors = self._encoder.encode(unique).astype(np.float64)
        return dict(zip(unique, vectors, strict=True))

    def passage_scores(self, text: str, vector: Floats | None = None) -> Floats:
        """The combined score of every passage for `text` (`vector`: its embedding from
        `query_vectors`, else it is encoded here)."""
        w_bm25, w_chars, w_embedding = self.weights
        total = w_bm25 * self._bm25.normalised(words(text))
        if w_chars and self._char_matrix is not None:
            query = self._chars.transform([text])
            total += w_chars * np.asarray((self._char_matrix @ query.T).todense()).ravel()
        if w_embedding and self._encoder is not None and self._vectors is not None:
            if vector is None:
                vector = self._encoder.encode([text])[0].astype(np.float64)
            total += w_embedding * np.clip(self._vectors @ vector, 0.0, 1.0)
        return total

    def _topic_scores(self, text: str, vector: Floats | None = None) -> tuple[Floats, Ints]:
        """Each topic's best passage score, and the index of that passage."""
        scores = self.passage_scores(text, vector)
        best = np.full(len(self.topics), -np.inf)
        which = np.zeros(len(self.topics), dtype=np.intp)
        for index, (topic, score) in enumerate(zip(self._topic, scores, strict=True)):
            if score > best[topic]:
                best[topic], which[topic] = score, index
        return best, which

    def search(self, text: str, top: int = 3, vector: Floats | None = None) -> list[Ranked]:
        """The `top` likeliest topics for `text`, best first, each with its best passage
        (`vector`: as for `passage_scores`)."""
        if not self.passages or not text.strip():
            return []
        scores, which = self._topic_scores(text, vector)
        probabilities = self.probabilities(scores)[:-1]
        order = np.argsort(-probabilities)[:top]
        ranked = []
        for topic in order:
            passage = self.passages[int(which[topic])]
            article = self.articles[passage.article]
            hit = Hit(
                article.id,
                article.title,
                article.url,
                passage.index,
                passage.heading,
                passage.text,
                float(probabilities[topic]),
            )
            ranked.append(Ranked(hit, float(scores[topic])))
        return ranked

    def best_in(
        self, topic: str, text: str, probability: float, vector: Floats | None = None
    ) -> Hit | None:
        """The passage of `topic` (any language variant) that best matches `text`, for an
        intent answered from its article; None when no article has that topic."""
        if topic not in self.topics:
            return None
        scores = self.passage_scores(text, vector)
        mine = np.flatnonzero(self._topic == self.topics.index(topic))
        chosen = self.passages[int(mine[np.argmax(scores[mine])])]
        found = self.hit(chosen.article, chosen.index)
        return None if found is None else replace(found, probability=probability)

    def hit(self, article: str, passage: int) -> Hit | None:
        """The passage a list row named (a tap is certain: probability 1)."""
        found = self.articles.get(article)
        if found is None or not 0 <= passage < len(found.passages):
            return None
        chosen = found.passages[passage]
        return Hit(found.id, found.title, found.url, passage, chosen.heading, chosen.text, 1.0)


def fit_null(scores: Floats, targets: Ints) -> tuple[float, float]:
    """(temperature, null score) minimising the negative log-likelihood of each row's
    target topic, and of "none" once the target's score is removed."""
    rows = np.arange(len(targets))
    removed = scores.copy()
    removed[rows, targets] = -np.inf

    def nll(params: Floats) -> float:
        t, null = float(np.exp(params[0])), float(params[1])
        column = np.full((len(targets), 1), null)
        positive = log_softmax(np.hstack([scores, column]) / t, axis=1)[rows, targets]
        negative = log_softmax(np.hstack([removed, column]) / t, axis=1)[:, -1]
        return float(-(positive.sum() + negative.sum()) / (2 * len(targets)))

    start = np.array([np.log(0.05), float(np.median(scores.max(axis=1))) / 2])
    result = minimize(nll, start, method="Nelder-Mead")
    return float(np.exp(result.x[0])), float(result.x[1])


def _body_only(article: Article) -> Article:
    passages = tuple(replace(p, heading="") for p in article.passages)
    return replace(article, title="", tags=(), passages=passages)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


#: Indexes built in this process, by (articles' version, encoder): the version hashes the
#: articles' content and an index never changes once built, so the serve and worker
#: stages (and every app a test suite starts) share one instead of each spending a second
#: or so encoding and calibrating the same articles. Only the last few are kept.
_BUILT: dict[tuple[str, int], tuple[minilm.MiniLM | None, KnowledgeIndex]] = {}
_BUILT_KEEP = 4
_BUILT_LOCK = threading.Lock()


def built_index(
    articles: Sequence[Article], version: str, encoder: minilm.MiniLM | None
) -> KnowledgeIndex:
    """The index of these articles, built once per process for each version and encoder."""
    key = (version, id(encoder))
    with _BUILT_LOCK:
        found = _BUILT.get(key)
        if found is not None and found[0] is encoder:
            return found[1]
    index = KnowledgeIndex(articles, version, encoder=encoder)
    with _BUILT_LOCK:
        _BUILT[key] = (encoder, index)  # the encoder is held, so its id is not reused
        while len(_BUILT) > _BUILT_KEEP:
            del _BUILT[next(iter(_BUILT))]
    return index


class KnowledgeBase:
    """The brief's knowledge base, read at start and again when its files change (checked
    at most every `check_every` seconds, by names, sizes and modification times)."""

    def __init__(
        self, folder: Path, *, check_every: float = 2.0, encoder: minilm.MiniLM | None = None
    ) -> None:
        self.folder = folder
        self.check_every = check_every
        self._encoder = encoder
        self._checked = -math.inf
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None
        self.index = KnowledgeIndex((), "", encoder=encoder)
        self.problems: tuple[files.ArticleProblem, ...] = ()
        self.current()

    @classmethod
    def with_default_encoder(cls, folder: Path) -> KnowledgeBase:
        return cls(folder, encoder=minilm.load_default())

    def current(self) -> KnowledgeIndex:
        """The index of the articles as they are now on disk."""
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return self.index
        self._checked = now
        seen = files.fingerprint(self.folder)
        if seen != self._fingerprint:
            loaded = files.load(self.folder)
            self.index = built_index(loaded.articles, loaded.version, self._encoder)
            self.problems = loaded.problems
            self._fingerprint = seen
            for problem in loaded.problems:  # file names only: no customer data
                log.warning("knowledge_base_problem", file=problem.file, problem=problem.message)
            log.info(
                "knowledge_base_loaded",
                version=loaded.version,
                articles=len(loaded.articles),
                passages=len(self.index.passages),
                problems=len(loaded.problems),
            )
        return self.index
