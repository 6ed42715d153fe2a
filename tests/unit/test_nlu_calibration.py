"""Temperature scaling and expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from relaydesk.nlu.calibration import Temperature, expected_calibration_error


def calibrated_logits(
    n: int = 3000, classes: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is the true class distribution the targets are drawn from."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(n, classes))
    probabilities = softmax(logits, axis=1)
    targets = np.array([rng.choice(classes, p=p) for p in probabilities])
    return logits, targets


def ece_of(probabilities: np.ndarray, targets: np.ndarray) -> float:
    return expected_calibration_error(
        probabilities.max(axis=1), probabilities.argmax(axis=1) == targets
    )


@pytest.mark.parametrize(
    ("scale", "expected_t"),
    [
        (3.0, 3.0),  # over-confident scores: the fitted temperature cools them down
        (1 / 3, 1 / 3),  # under-confident scores: the temperature sharpens them
    ],
)
def test_temperature_undoes_miscalibration_and_reduces_ece(scale: float, expected_t: float) -> None:
    logits, targets = calibrated_logits()
    raw_ece = ece_of(softmax(logits * scale, axis=1), targets)
    temperature = Temperature().fit(logits * scale, targets)
    fitted_ece = ece_of(temperature.probabilities(logits * scale), targets)
    assert temperature.t == pytest.approx(expected_t, rel=0.15)
    assert fitted_ece < raw_ece / 2
    assert fitted_ece < 0.04


def test_ece_is_the_gap_between_confidence_and_accuracy() -> None:
    assert expected_calibration_error([0.9] * 10, [True] * 10) == pytest.approx(0.1)
    assert expected_calibration_error([0.6] * 10, [True] * 6 + [False] * 4) == pytest.approx(0.0)
    assert expected_calibration_error([], []) == 0.0


def test_ece_puts_a_confidence_of_one_in_the_top_bin() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == pytest.approx(0.0)


def test_temperature_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="scores and n targets"):
        Temperature().fit(np.zeros((3, 2)), np.zeros(2))
