"""Fit and evaluate the sentiment model on GoEmotions (not used at run time).

    python -m relaydesk.nlu._eval_goemotions fit  --data /work/shared/datasets/goemotions
    python -m relaydesk.nlu._eval_goemotions eval --data /work/shared/datasets/goemotions

`fit` trains the three heads on train.tsv, chooses the frustration threshold on dev.tsv
(best F1 of the full scorer, chat signals included) and writes the bundled data file.
`eval` prints P/R/F1/AUROC on test.tsv for negative and frustration, beside VADER
(compound <= -0.05, as in the reference figures) when `vaderSentiment` is installed, and the
per-message latency. Needs scikit-learn and numpy.
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support, roc_auc_score

from relaydesk.nlu import sentiment
from relaydesk.nlu._text import fold

NEGATIVE = {
    "anger", "annoyance", "disappointment", "disapproval", "disgust", "embarrassment", "fear",
    "grief", "nervousness", "remorse", "sadness",
}  # fmt: skip
POSITIVE = {
    "admiration", "amusement", "approval", "caring", "desire", "excitement", "gratitude", "joy",
    "love", "optimism", "pride", "relief",
}  # fmt: skip
FRUSTRATION = {"anger", "annoyance", "disappointment", "disapproval", "disgust"}
OUTPUT = Path(__file__).parent / "data" / "sentiment_goemotions.tsv.gz"

Split = tuple[list[str], dict[str, np.ndarray]]


def load(data: Path, name: str) -> Split:
    labels = (data / "labels.txt").read_text(encoding="utf-8").split()
    texts: list[str] = []
    targets: dict[str, list[bool]] = {"negative": [], "positive": [], "frustration": []}
    for line in (data / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        emotions = {labels[int(i)] for i in ids.split(",")}
        texts.append(text)
        targets["negative"].append(bool(emotions & NEGATIVE))
        targets["positive"].append(bool(emotions & POSITIVE))
        targets["frustration"].append(bool(emotions & FRUSTRATION))
    return texts, {key: np.array(value) for key, value in targets.items()}


def best_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(truth, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def fit(data: Path, c: float, min_df: int) -> None:
    train_texts, train = load(data, "train")
    vectorizer = TfidfVectorizer(
        tokenizer=lambda text: sentiment.tokens(fold(text)),
        token_pattern=None,
        lowercase=False,
        min_df=min_df,
        sublinear_tf=True,
    )
    matrix = vectorizer.fit_transform(train_texts)
    heads = [
        LogisticRegression(C=c, max_iter=3000).fit(matrix, train[key])
        for key in ("negative", "positive", "frustration")
    ]
    vocabulary = vectorizer.get_feature_names_out()
    rows = ["#relaydesk sentiment: word idf w_negative w_positive w_frustration"]
    rows.append("#intercepts\t" + "\t".join(f"{h.intercept_[0]:.4f}" for h in heads))
    for index, word in enumerate(vocabulary):
        weights = "\t".join(f"{h.coef_[0][index]:.3f}" for h in heads)
        rows.append(f"{word}\t{vectorizer.idf_[index]:.3f}\t{weights}")
    _write(rows)
    sentiment.load_model.cache_clear()
    dev_texts, dev = load(data, "dev")
    dev_scores = np.array([sentiment.score(text).frustration for text in dev_texts])
    threshold = best_threshold(dev["frustration"], dev_scores)
    rows.insert(2, f"#threshold\t{threshold:.4f}")
    _write(rows)
    sentiment.load_model.cache_clear()
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes, {len(vocabulary):,} words)")
    print(f"frustration threshold on dev: {threshold:.4f}")


def _write(rows: Sequence[str]) -> None:
    with gzip.open(OUTPUT, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\n".join(rows) + "\n")


def _report(name: str, truth: np.ndarray, scores: np.ndarray, threshold: float) -> str:
    p, r, f, _ = precision_recall_fscore_support(
        truth, scores >= threshold, average="binary", zero_division=0
    )
    auroc = roc_auc_score(truth, scores)
    return f"{name:<44} {p:.3f} / {r:.3f} / {f:.3f}   AUROC {auroc:.3f}"


def evaluate(data: Path) -> None:
    dev_texts, dev = load(data, "dev")
    test_texts, test = load(data, "test")
    model = sentiment.load_model()
    started = time.perf_counter()
    results = [sentiment.score(text, model) for text in test_texts]
    per_message = (time.perf_counter() - started) / len(test_texts) * 1e6
    negative = np.array([r.negative for r in results])
    frustration = np.array([r.frustration for r in results])
    dev_results = [sentiment.score(text, model) for text in dev_texts]
    negative_threshold = best_threshold(
        dev["negative"], np.array([r.negative for r in dev_results])
    )
    print(f"GoEmotions test, {len(test_texts):,} messages; thresholds chosen on dev")
    print("system / target                              P / R / F1")
    print(
        _report(
            "relaydesk negative (P(neg), dev thr)", test["negative"], negative, negative_threshold
        )
    )
    print(
        _report(
            "relaydesk frustration (dev thr)", test["frustration"], frustration, model.threshold
        )
    )
    vader = _vader()
    if vader is not None:
        compound = -np.array([vader(text) for text in test_texts])
        print(_report("VADER negative (compound <= -0.05)", test["negative"], compound, 0.05))
        print(_report("VADER frustration (compound <= -0.05)", test["frustration"], compound, 0.05))
    else:
        print("(pip install vaderSentiment to print the VADER baseline)")
    print(f"relaydesk latency: {per_message:.1f} us/message (score(), single thread)")


def _vader() -> Callable[[str], float] | None:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["fit", "eval"])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/datasets/goemotions"))
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength (fit)")
    parser.add_argument("--min-df", type=int, default=3, help="minimum document frequency (fit)")
    args = parser.parse_args()
    if args.command == "fit":
        fit(args.data, args.c, args.min_df)
    else:
        evaluate(args.data)


if __name__ == "__main__":
    main()
