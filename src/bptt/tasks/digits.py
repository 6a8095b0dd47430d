"""Write a number out in binary, given it once (one-to-many).

A number ``v`` in [0, 2**n_bits) is shown at the first step only; the network then emits its
``n_bits`` binary digits, most-significant first, one per step (``T = n_bits``, the first digit
already at step 0). The input has two features, both zero after step 0:

* ``x[0, b, 0] = (v + 0.5) / 2**n_bits``: the number scaled into (0, 1), at the centre of its
  bin, so that neighbouring numbers are 2**-n_bits apart and no number sits on a decision
  boundary (v/2**n_bits would put 0 at the same place as "no input");
* ``x[0, b, 1] = 1``: a start flag that marks the step where the number arrives.

Most-significant first is the order a small tanh RNN can learn: each digit is a threshold on
what is left of the number, and the hidden state only has to carry the remainder (reading the
least-significant digit first would need the finest resolution at the very first step).
The whole task has only 2**n_bits examples, so train and evaluate on all of them:
``encode(range(2**n_bits), n_bits)``. Measured with ``torch.nn.RNN`` (same Elman equations)
as a stand-in model: n_bits=6, H=32, tanh, sigmoid + BCE, Adam lr 1e-2 on the full batch of
64, clip 5: each of 3 seeds reached 100% exact match within 3,000 steps.

Example: 5 = 101b with ``n_bits=3``

>>> x, y = encode([5], n_bits=3)
>>> x[:, 0]
array([[0.6875, 1.    ],
       [0.    , 0.    ],
       [0.    , 0.    ]])
>>> y[:, 0]
array([[1.],
       [0.],
       [1.]])
"""

from __future__ import annotations

import numpy as np

from ..sequences import one_to_many
from .. import _validate as v
from ._checks import as_rng, int_array
from ._metrics import predicted_bits
from ._metrics import sequence_accuracy as exact_accuracy

__all__ = ["MAX_BITS", "batch", "decode", "encode", "exact_accuracy"]

MAX_BITS = 52  # (v + 0.5) / 2**n_bits is exact in float64 up to here


def encode(values: object, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode the ints ``values`` (B,), each in [0, 2**n_bits).

    Returns ``x`` float (n_bits, B, 2), zero except ``x[0]``, and ``y`` float (n_bits, B, 1),
    the digits most-significant first.
    """
    n_bits = v.positive_int("n_bits", n_bits, 1, MAX_BITS)
    vals = int_array(values, "values", ndim=1)
    if vals.size == 0:
        raise ValueError("values: expected at least one number")
    if np.any((vals < 0) | (vals >= 2**n_bits)):
        raise ValueError(f"values: expected ints in [0, 2**{n_bits}), got min {vals.min()}, max {vals.max()}")
    x = one_to_many(np.stack([(vals + 0.5) / 2.0**n_bits, np.ones(vals.size)], axis=1), n_bits)
    shifts = np.arange(n_bits - 1, -1, -1)[:, None]
    y = ((vals[None, :] >> shifts) & 1)[:, :, None].astype(np.float64)
    return x, y


def decode(y_prob: object) -> np.ndarray:
    """The numbers written by outputs ``y_prob`` (T, B, 1), each digit ``p > 0.5``: int64 (B,)."""
    bits = predicted_bits(y_prob, ndim=3)
    if bits.shape[2] != 1 or bits.shape[0] > MAX_BITS:
        raise ValueError(f"y_prob: expected shape (T, B, 1) with T <= {MAX_BITS}, got {bits.shape}")
    weights = 2 ** np.arange(bits.shape[0] - 1, -1, -1, dtype=np.int64)
    return weights @ bits[:, :, 0].astype(np.int64)


def batch(rng: np.random.Generator | int, batch_size: int, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``encode`` of ``batch_size`` numbers drawn uniformly from [0, 2**n_bits)."""
    rng = as_rng(rng)
    batch_size = v.positive_int("batch_size", batch_size)
    n_bits = v.positive_int("n_bits", n_bits, 1, MAX_BITS)
    return encode(rng.integers(0, 2**n_bits, size=batch_size), n_bits)
