"""Binary addition of two numbers of any size, one bit of each per step (many-to-many).

At step ``t`` the network reads bit ``t`` of each operand, least-significant bit first, and
emits bit ``t`` of the sum; it only has to carry one bit of state (the carry), so a model
that learned the rule on short numbers works for numbers of any size. With ``n_bits``-bit
operands a sequence has ``T = n_bits + 1`` steps: the last step reads ``(0, 0)`` and emits the
final carry. Inputs ``x`` are float (T, B, 2), targets ``y`` are float (T, B, 1) for
sigmoid + binary cross-entropy at every step.

Example: 3 + 1 with ``n_bits=2`` (3 = 11b, 1 = 01b, 4 = 100b, all least-significant first)

>>> x, y = encode([3], [1], n_bits=2)
>>> x[:, 0]
array([[1., 1.],
       [1., 0.],
       [0., 0.]])
>>> y[:, 0]
array([[0.],
       [0.],
       [1.]])
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import _validate as v
from ._checks import as_rng, float_array
from ._metrics import predicted_bits
from ._metrics import sequence_accuracy as exact_accuracy

__all__ = ["batch", "bits_to_int", "decode", "encode", "exact_accuracy", "int_to_bits"]


def int_to_bits(value: int, n_bits: int) -> np.ndarray:
    """The ``n_bits`` lowest bits of the non-negative int ``value``, least-significant first.

    Works for ints of any size (e.g. 1000 bits). Returns float64 (n_bits,) of 0.0/1.0.
    Raises ``ValueError`` if ``value`` needs more than ``n_bits`` bits.
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"value: expected an int, got {type(value).__name__}")
    n_bits = v.positive_int("n_bits", n_bits)
    value = int(value)
    if value < 0 or value.bit_length() > n_bits:
        got = value if value.bit_length() <= 64 else f"a {value.bit_length()}-bit int"
        raise ValueError(f"value: expected an int in [0, 2**{n_bits}), got {got}")
    raw = np.frombuffer(value.to_bytes((n_bits + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n_bits].astype(np.float64)


def bits_to_int(bits: object) -> int:
    """The Python int whose bits, least-significant first, are ``bits`` (shape (n,), 0 or 1)."""
    array = float_array(bits, "bits", ndim=1)
    if np.any((array != 0.0) & (array != 1.0)):
        raise ValueError("bits: expected only 0 and 1")
    packed = np.packbits(array.astype(np.uint8), bitorder="little")
    return int.from_bytes(packed.tobytes(), "little")


def _operands(values: object, name: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name}: expected a sequence of ints, got {type(values).__name__}")
    for i, value in enumerate(values):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name}[{i}]: expected a non-negative int, got {value!r}")
    return [int(value) for value in values]


def encode(a: Sequence[int], b: Sequence[int], n_bits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Encode the sums ``a[i] + b[i]`` of non-negative ints of any size as one batch
    (``a``, ``b``: lists, or 1-D integer arrays, of B ints).

    ``n_bits`` defaults to the bit length of the largest operand (at least 1).
    Returns ``x`` float (n_bits + 1, B, 2) and ``y`` float (n_bits + 1, B, 1), B = len(a).
    """
    a, b = _operands(a, "a"), _operands(b, "b")
    if len(a) != len(b) or not a:
        raise ValueError(f"a, b: expected two non-empty sequences of equal length, got {len(a)} and {len(b)}")
    n_bits = v.positive_int("n_bits", max(1, *(x.bit_length() for x in a + b)) if n_bits is None else n_bits)
    for name, values in (("a", a), ("b", b)):
        for i, value in enumerate(values):
            if value.bit_length() > n_bits:
                raise ValueError(f"{name}[{i}]: expected an int in [0, 2**{n_bits}) for n_bits={n_bits}")
    x = np.zeros((n_bits + 1, len(a), 2))
    y = np.zeros((n_bits + 1, len(a), 1))
    for i, (p, q) in enumerate(zip(a, b)):
        x[:n_bits, i, 0] = int_to_bits(p, n_bits)
        x[:n_bits, i, 1] = int_to_bits(q, n_bits)
        y[:, i, 0] = int_to_bits(p + q, n_bits + 1)
    return x, y


def decode(y_prob: object) -> list[int]:
    """Read the B sums from outputs ``y_prob`` (T, B, 1): each bit is ``p > 0.5``."""
    bits = predicted_bits(y_prob, ndim=3)
    if bits.shape[2] != 1:
        raise ValueError(f"y_prob: expected shape (T, B, 1), got {bits.shape}")
    return [bits_to_int(column.astype(np.uint8)) for column in bits[:, :, 0].T]


def batch(rng: np.random.Generator | int, batch_size: int, n_bits: int,
          bit_lengths: str = "full") -> tuple[np.ndarray, np.ndarray]:
    """A random batch of additions of operands with at most ``n_bits`` bits.

    ``bit_lengths="full"``: every operand is uniform in [0, 2**n_bits).
    ``bit_lengths="uniform"``: each operand of each example first draws its own bit length
    ``k`` uniformly in [1, n_bits], then is uniform in [0, 2**k). Recommended for training:
    with "full" the (0, 0) inputs that flush the carry almost only occur at the last step,
    so a model may tie that behaviour to T; with "uniform" the operands have different
    lengths, runs of (0, 0) of every length occur and the last carry comes out at every
    position, which is the behaviour needed to add longer numbers at test time.

    Returns ``x`` float (n_bits + 1, batch_size, 2) and ``y`` float (n_bits + 1, batch_size, 1).
    """
    rng = as_rng(rng)
    batch_size = v.positive_int("batch_size", batch_size)
    n_bits = v.positive_int("n_bits", n_bits)
    v.choice("bit_lengths", bit_lengths, ("full", "uniform"))
    bits = rng.integers(0, 2, size=(n_bits, batch_size, 2))
    if bit_lengths == "uniform":
        lengths = rng.integers(1, n_bits + 1, size=(batch_size, 2))
        bits[np.arange(n_bits)[:, None, None] >= lengths] = 0
    x = np.zeros((n_bits + 1, batch_size, 2))
    x[:n_bits] = bits
    y = np.zeros((n_bits + 1, batch_size, 1))
    carry = np.zeros(batch_size)
    for t in range(n_bits + 1):
        total = x[t, :, 0] + x[t, :, 1] + carry
        y[t, :, 0] = total % 2
        carry = np.floor(total / 2)
    return x, y
