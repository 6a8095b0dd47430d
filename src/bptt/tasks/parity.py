"""Running parity of a bit stream (many-to-many).

At step ``t`` the network reads one bit and emits the parity (XOR) of all bits read so far:
1 if it has seen an odd number of ones. Inputs ``x`` are float (T, B, 1), targets ``y`` are
float (T, B, 1) for sigmoid + binary cross-entropy at every step.

Example: the stream 1, 0, 1, 1

>>> x, y = encode([[1, 0, 1, 1]])
>>> x[:, 0, 0]
array([1., 0., 1., 1.])
>>> y[:, 0, 0]
array([1., 1., 0., 1.])
"""

from __future__ import annotations

import numpy as np

from .. import _validate as v
from ._checks import as_rng, float_array
from ._metrics import binary_accuracy as step_accuracy
from ._metrics import sequence_accuracy

__all__ = ["batch", "encode", "sequence_accuracy", "step_accuracy"]


def encode(bits: object) -> tuple[np.ndarray, np.ndarray]:
    """Encode B bit streams of equal length T, given batch-major as (B, T) 0/1 values.

    Returns ``x`` float (T, B, 1) (the bits, time-major) and ``y`` float (T, B, 1) (the running
    parity).
    """
    streams = float_array(bits, "bits", ndim=2)
    if 0 in streams.shape:
        raise ValueError(f"bits: expected shape (B, T) with B, T >= 1, got {streams.shape}")
    if np.any((streams != 0.0) & (streams != 1.0)):
        raise ValueError("bits: expected only 0 and 1")
    x = streams.T[:, :, None].copy()
    y = np.cumsum(x, axis=0) % 2
    return x, y


def batch(rng: np.random.Generator | int, batch_size: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch of uniformly random bit streams: ``x``, ``y`` float (length, batch_size, 1)."""
    rng = as_rng(rng)
    batch_size = v.positive_int("batch_size", batch_size)
    length = v.positive_int("length", length)
    return encode(rng.integers(0, 2, size=(batch_size, length)))
