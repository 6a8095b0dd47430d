"""Argument checks of the task modules' own kinds (seeds or generators, arrays of any size);
integers, reals and choices are checked by ``bptt._validate``.

Each check raises one ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind,
wrong value) whose message starts with the argument's name and says what was expected.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a ``np.random.Generator``, or a new one seeded with an int.

    The global NumPy random state is never used.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name}: expected a non-negative integer seed, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name}: expected a numpy.random.Generator or an integer seed, got {type(rng).__name__}"
    )


def float_array(value: object, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 array, optionally of exactly ``ndim`` dimensions."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name}: expected a rectangular numeric array ({exc})") from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")
    return array


def int_array(value: object, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as an int64 array, optionally of exactly ``ndim`` dimensions."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: expected a rectangular integer array ({exc})") from None
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        if not (array.size == 0 and array.dtype == np.float64):  # [] -> float64 in NumPy
            raise TypeError(f"{name}: expected an integer array, got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {array.shape}")
    return array.astype(np.int64, copy=False)
