"""Argument checks shared by the task modules.

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


def check_int(value: object, name: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as a Python int after checking ``low <= value <= high``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {value}")
    return value


def check_fraction(value: object, name: str) -> float:
    """Return ``value`` as a float after checking ``0 < value < 1``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}: expected a float in (0, 1), got {type(value).__name__}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: expected a float in (0, 1), got {value}")
    return value


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` after checking it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


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
