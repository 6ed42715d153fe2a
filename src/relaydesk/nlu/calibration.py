"""Confidence calibration: temperature scaling of class scores, and expected calibration error.

Any backend that produces one score per class (logits, SVM margins, cosine similarities)
can turn them into calibrated probabilities with a `Temperature` fitted on held-out scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

Floats = NDArray[np.float64]


class Temperature:
    """Softmax with a temperature: `probabilities(scores) = softmax(scores / t)`.

    `fit` chooses `t` to minimise the negative log-likelihood of the true classes on
    held-out scores (Guo et al. 2017, "On Calibration of Modern Neural Networks")."""

    def __init__(self, t: float = 1.0) -> None:
        self.t = t

    def fit(self, scores: ArrayLike, targets: ArrayLike) -> Temperature:
        """`scores`: (n, classes) held-out scores; `targets`: (n,) true class indices."""
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(targets, dtype=np.int64)
        if s.ndim != 2 or len(s) != len(y) or len(y) == 0:
            raise ValueError(f"need (n, classes) scores and n targets; got {s.shape}, {y.shape}")
        rows = np.arange(len(y))

        def nll(log_t: float) -> float:
            return float(-log_softmax(s / np.exp(log_t), axis=1)[rows, y].mean())

        result = minimize_scalar(nll, bounds=(np.log(1e-3), np.log(1e3)), method="bounded")
        self.t = float(np.exp(result.x))
        return self

    def probabilities(self, scores: ArrayLike) -> Floats:
        return np.asarray(softmax(np.asarray(scores, dtype=np.float64) / self.t, axis=1))


def expected_calibration_error(
    confidences: ArrayLike, correct: ArrayLike | Sequence[bool], bins: int = 15
) -> float:
    """ECE with `bins` equal-width confidence bins: the bin-size-weighted mean gap between
    each bin's accuracy and its mean confidence (Naeini et al. 2015; Guo et al. 2017)."""
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    if len(conf) == 0:
        return 0.0
    which = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in np.unique(which):
        members = which == b
        total += members.sum() * abs(hits[members].mean() - conf[members].mean())
    return float(total / len(conf))
