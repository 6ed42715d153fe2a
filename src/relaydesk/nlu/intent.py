"""The intent classifier interface every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy is imported where it is used: a receive-only process never loads it
    import numpy as np
    import numpy.typing as npt

OOS = "oos"  #: the label for out-of-scope examples in training and evaluation data


@dataclass(frozen=True, slots=True)
class Prediction:
    """The classifier's reading of one text.

    `confidence` is a calibrated probability that `intent` is right; `ranking` holds the
    top intents with their calibrated probabilities, best first (for clarify buttons).
    `out_of_scope` is True when the backend's out-of-scope detector rejects the text
    (then `intent` is still the best in-scope guess)."""

    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    out_of_scope: bool = False


class IntentClassifier(Protocol):
    """Trained from labelled texts; predicts in batches (one text is a batch of one)."""

    name: str

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        validation: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        """Learn intents from `texts`/`labels`. Labels equal to `OOS` are out-of-scope
        examples. Calibration and the out-of-scope threshold are fitted on `validation`
        when given, otherwise by cross-validation on the training data."""
        ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


def split_labels(
    texts: Sequence[str], labels: Sequence[str]
) -> tuple[list[str], npt.NDArray[np.str_], npt.NDArray[np.intp], list[str]]:
    """Training data as backends use it: in-scope texts, the sorted intent names, each
    in-scope text's index into them, and the out-of-scope texts."""
    import numpy as np

    in_scope = [(t, y) for t, y in zip(texts, labels, strict=True) if y != OOS]
    oos_texts = [t for t, y in zip(texts, labels, strict=True) if y == OOS]
    classes = np.array(sorted({y for _, y in in_scope}))
    if len(classes) < 2:
        raise ValueError("need examples of at least two intents to train a classifier")
    targets = np.searchsorted(classes, [y for _, y in in_scope])
    return [t for t, _ in in_scope], classes, targets, oos_texts


def rank_predictions(
    classes: npt.NDArray[np.str_],
    probabilities: npt.NDArray[np.float64],
    rejected: npt.NDArray[np.bool_],
    top: int,
) -> list[Prediction]:
    """One Prediction per row of calibrated `probabilities`: the `top` intents, best first;
    `rejected` marks rows the backend's out-of-scope detector turned down."""
    import numpy as np

    order = np.argsort(-probabilities, axis=1)[:, :top]
    predictions = []
    for row, best in enumerate(order):
        ranking = tuple((str(classes[i]), float(probabilities[row, i])) for i in best)
        predictions.append(
            Prediction(
                intent=ranking[0][0],
                confidence=ranking[0][1],
                ranking=ranking,
                out_of_scope=bool(rejected[row]),
            )
        )
    return predictions


#: name -> factory; built-ins register here, the CLI and the brief pick by name.
BACKENDS: dict[str, Callable[[], IntentClassifier]] = {}
