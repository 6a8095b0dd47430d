"""Accuracy of thresholded binary outputs, shared by the bit tasks and sentiment, and the
exact match of whole sequences (dates, bptt.seq2seq).

A probability ``p`` is read as the bit ``1`` when ``p > 0.5`` and ``0`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._checks import float_array


def predicted_bits(y_prob: object, ndim: int | None = None) -> np.ndarray:
    """The bool array ``y_prob > 0.5`` after checking ``y_prob`` holds probabilities."""
    p = float_array(y_prob, "y_prob", ndim)
    if p.size == 0:
        raise ValueError(f"y_prob: expected a non-empty array, got shape {p.shape}")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("y_prob: expected probabilities in [0, 1] (apply the sigmoid to logits first)")
    return p > 0.5


def _predicted_and_target(y_prob: object, y: object, ndim: int | None) -> tuple[np.ndarray, np.ndarray]:
    predicted = predicted_bits(y_prob, ndim)
    t = float_array(y, "y", ndim)
    if predicted.shape != t.shape:
        raise ValueError(f"y_prob: expected the shape of y {t.shape}, got {predicted.shape}")
    if np.any((t != 0.0) & (t != 1.0)):
        raise ValueError("y: expected binary targets (0 or 1)")
    return predicted, t == 1.0


def binary_accuracy(y_prob: object, y: object) -> float:
    """Fraction of entries whose thresholded probability equals the 0/1 target.

    ``y_prob`` and ``y`` have the same shape, e.g. (T, B, K) for every output of every step,
    or (B, 1) for one label per sequence.
    """
    predicted, target = _predicted_and_target(y_prob, y, None)
    return float(np.mean(predicted == target))


def sequence_accuracy(y_prob: object, y: object) -> float:
    """Fraction of sequences whose every output at every step is right.

    ``y_prob`` and ``y`` are (T, B, K); the result is the mean over the B sequences of
    "all T·K thresholded outputs equal the targets".
    """
    predicted, target = _predicted_and_target(y_prob, y, 3)
    return float(np.mean(np.all(predicted == target, axis=(0, 2))))


def exact_match(predicted: Iterable, reference: Iterable) -> float:
    """Fraction of the B predicted sequences (strings or id lists) equal to their references,
    each compared whole; ``predicted`` holds one sequence per reference, B >= 1."""
    predicted, reference = list(predicted), list(reference)
    if len(predicted) != len(reference) or not reference:
        raise ValueError(f"predicted: expected {len(reference)} sequences (one per reference, at least one), "
                         f"got {len(predicted)}")
    return sum(list(p) == list(r) for p, r in zip(predicted, reference)) / len(reference)
